"""Provider connections: saved from the admin and `manage.py provider_set`, checked through
the agent layer (`chat.agents.probe`).

Secrets never leave here in plain text: a typed API key or header value is encrypted before
it is saved (chat.encryption); an environment variable is stored by name only.
"""

from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.db import transaction

from chat.agents import ProviderError
from chat.agents.probe import ConnectionProbe, connection_probe, models_list
from chat.encryption import secret_encrypt
from chat.models import Connection, KnowledgeFile, OutputFile, RemoteCleanup, Upload

from .refusals import Refused

# Fields `connection_set` copies as they are given.
PLAIN_FIELDS = (
    "kind",
    "base_url",
    "auth",
    "api_key_env",
    "default_model",
    "api_version",
    "timeout",
    "max_retries",
)


@dataclass(frozen=True)
class HeaderValue:
    """A header of a connection as the admin or a command gives it: read from the variable
    `env`, or the secret `value` (encrypted when saved), or `keep` the stored one."""

    env: str = ""
    value: str = ""
    keep: bool = False


def _stored_headers(connection: Connection, headers: dict[str, HeaderValue]) -> dict:
    stored = {}
    for name, header in headers.items():
        if header.keep and name in (connection.headers or {}):
            stored[name] = connection.headers[name]
        elif header.env:
            stored[name] = {"env": header.env}
        elif header.value:
            stored[name] = {"encrypted": secret_encrypt(header.value)}
    return stored


def connection_save(
    *,
    connection: Connection,
    api_key: str | None = None,
    clear_api_key: bool = False,
    headers: dict[str, HeaderValue] | None = None,
    previous_name: str = "",
) -> Connection:
    """Saves a connection (new or changed): `api_key` (None: unchanged) and header values are
    encrypted first. A renamed connection renames the records of what it holds remotely."""
    if clear_api_key:
        connection.api_key_encrypted = ""
    if api_key:
        connection.api_key_encrypted = secret_encrypt(api_key)
    if headers is not None:
        connection.headers = _stored_headers(connection, headers)
    with transaction.atomic():
        connection.save()
        if previous_name and previous_name != connection.name:
            # Files and pending cleanups name the connection that holds them remotely.
            for model in (Upload, KnowledgeFile, OutputFile):
                model.objects.filter(remote_provider=previous_name).update(
                    remote_provider=connection.name
                )
            RemoteCleanup.objects.filter(provider=previous_name).update(provider=connection.name)
    return connection


def connection_set(
    *,
    name: str,
    api_key: str | None = None,
    headers: dict[str, HeaderValue] | None = None,
    **fields,
) -> tuple[Connection, bool]:
    """Creates or updates the connection `name`; fields left out (or None) stay as they are.
    Returns it and whether it is new. Raises ValidationError for invalid values."""
    unknown = set(fields) - set(PLAIN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown connection fields: {', '.join(sorted(unknown))}")
    connection = Connection.objects.filter(name=name).first()
    created = connection is None
    if created:
        connection = Connection(name=name)
    for field, value in fields.items():
        if value is not None:
            setattr(connection, field, value)
    connection.full_clean(exclude=["api_key_encrypted", "headers"])
    connection_save(connection=connection, api_key=api_key, headers=headers)
    return connection, created


def connection_named(name: str) -> Connection:
    """The connection `name`, or a Refused that lists the ones there are."""
    connection = Connection.objects.filter(name=name).first()
    if connection is None:
        names = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
        raise Refused("unknown", f"There is no connection named {name!r} (there are: {names}).")
    return connection


def connection_delete(*, connection: Connection) -> None:
    """Deletes a connection no assistant uses; Refused naming the assistants otherwise."""
    users = list(connection.assistants.order_by("name").values_list("name", flat=True))
    if users:
        raise Refused("in_use", connection_in_use_message(connection, users))
    connection.delete()


def connection_in_use_message(connection: Connection, assistant_names: list[str]) -> str:
    return (
        f"The connection “{connection.name}” is used by "
        f"{len(assistant_names)} assistant(s): {', '.join(assistant_names)}. Move them to "
        "another connection or delete them first."
    )


def connection_check(*, connection: Connection, model: str = "") -> ConnectionProbe:
    """Probes which APIs answer on the connection (ProviderError if it cannot even be
    configured, e.g. a key variable that is not set)."""
    return async_to_sync(connection_probe)(connection, model=model)


def connection_models(*, connection: Connection) -> list[str] | None:
    """The models the server lists, or None where it lists none (no GET /models, or it
    fails): the admin then leaves the model as free text."""
    try:
        return async_to_sync(models_list)(connection)
    except ProviderError:
        return None
