"""Checking an assistant's connection: one cheap call, and a readable verdict.

Used by `manage.py check_provider` and the admin's "Check provider connection" action on
assistants (`manage.py provider_check` probes every API: chat.services.connections).
"""

from dataclasses import dataclass

from asgiref.sync import async_to_sync

from chat.agents import ProviderError
from chat.agents.checks import connection_check
from chat.agents.clients import provider_config
from chat.models import Assistant, Connection


@dataclass(frozen=True)
class ProviderCheck:
    ok: bool
    message: str
    code: str = ""


HINTS = {
    "auth": "Check the API key (OPENAI_API_KEY, AZURE_OPENAI_API_KEY) or, with Entra ID, that "
    "the identity has the 'Cognitive Services OpenAI User' role.",
    "unreachable": "Check the endpoint (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT) and the network.",
    "timeout": "The endpoint did not answer in time; check it and the network.",
}


def _where(connection: Connection) -> str:
    try:
        return provider_config(connection).base_url
    except ProviderError:
        return connection.name


def provider_check(
    *, connection: Connection, protocol: str, model: str = "", remote_id: str = ""
) -> ProviderCheck:
    """Makes one cheap call to the provider; never raises for a provider problem."""
    provider = connection.name
    try:
        detail = async_to_sync(connection_check)(
            connection=connection, protocol=protocol, model=model, remote_id=remote_id
        )
    except ProviderError as error:
        message = str(error)
        if error.code == "not_found" and protocol == "responses":
            message = (
                f"{message} The model or Azure deployment {model or '(default)'!r} is probably "
                "unknown there."
            )
        elif error.code in HINTS:
            message = f"{message} {HINTS[error.code]}"
        return ProviderCheck(
            False, f"{provider} ({protocol}) at {_where(connection)}: {message}", error.code
        )
    return ProviderCheck(True, f"{provider} ({protocol}) at {_where(connection)}: OK, {detail}.")


def provider_check_assistant(*, assistant: Assistant) -> ProviderCheck:
    return provider_check(
        connection=assistant.connection,
        protocol=assistant.protocol,
        model=assistant.model,
        remote_id=assistant.remote_id,
    )
