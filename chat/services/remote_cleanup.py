"""Deleting provider objects (files, vector stores, containers, threads) so none is orphaned.

A deletion that fails is recorded as a RemoteCleanup row instead of blocking the local
deletion that caused it; `manage.py retry_remote_cleanup` retries the rows until they clear.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync, sync_to_async
from django.db.models import F

from chat.agents import ProviderError, agent_class, client_for
from chat.agents.files import ProviderFiles
from chat.models import Connection, RemoteCleanup

Kind = RemoteCleanup.Kind


@dataclass(frozen=True)
class RemoteObject:
    kind: str  # a RemoteCleanup.Kind
    remote_id: str


@dataclass
class CleanupReport:
    deleted: list[RemoteCleanup] = field(default_factory=list)
    failed: list[RemoteCleanup] = field(default_factory=list)


async def _delete_remote(*, connection: Connection, protocol: str, item: RemoteObject) -> None:
    client = client_for(connection)
    files = ProviderFiles(client)
    if item.kind == Kind.FILE:
        await files.delete_file(item.remote_id)
    elif item.kind == Kind.VECTOR_STORE:
        await files.delete_vector_store(item.remote_id)
    elif item.kind == Kind.CONTAINER:
        await files.delete_container(item.remote_id)
    elif item.kind == Kind.THREAD:
        await agent_class(protocol).thread_class(client, item.remote_id).delete()
    else:
        raise ProviderError(f"Unknown kind of remote object {item.kind!r}.", code="config")


async def _delete_all(
    *, connection: Connection | None, protocol: str, items: list[RemoteObject]
) -> list[tuple[RemoteObject, str]]:
    failures = []
    for item in items:
        try:
            if connection is None:
                raise ProviderError("Its connection no longer exists.", code="config")
            await _delete_remote(connection=connection, protocol=protocol, item=item)
        except ProviderError as exc:
            failures.append((item, str(exc)))
    return failures


def stored_files_remote_objects(files: Iterable) -> dict[str, list[RemoteObject]]:
    """The provider copies of stored files (uploads, knowledge, code outputs), by the name of
    the connection holding them.
    A Responses API output lives in a container: the container is deleted, once."""
    by_provider: dict[str, list[RemoteObject]] = {}
    for stored in files:
        if not (stored.remote_file_id and stored.remote_provider):
            continue
        container_id = getattr(stored, "remote_container_id", "")
        item = (
            RemoteObject(Kind.CONTAINER, container_id)
            if container_id
            else RemoteObject(Kind.FILE, stored.remote_file_id)
        )
        items = by_provider.setdefault(stored.remote_provider, [])
        if item not in items:
            items.append(item)
    return by_provider


def _connection_named(name: str) -> Connection | None:
    return Connection.objects.filter(name=name).first()


def _record_failure(*, provider: str, protocol: str, item: RemoteObject, error: str):
    cleanup, _ = RemoteCleanup.objects.get_or_create(
        provider=provider,
        kind=item.kind,
        remote_id=item.remote_id,
        defaults={"protocol": protocol},
    )
    RemoteCleanup.objects.filter(pk=cleanup.pk).update(attempts=F("attempts") + 1, last_error=error)
    cleanup.refresh_from_db()
    return cleanup


def remote_objects_delete(
    *, provider: str, protocol: str = "", objects: Iterable[RemoteObject]
) -> list[RemoteCleanup]:
    """Deletes the objects on the provider (`provider`: the connection's name), in the given
    order (vector stores before the files in them); each one that fails is recorded for a
    retry and returned. Never raises for a provider failure: the caller's local deletion
    goes on."""
    items = [item for item in objects if item.remote_id]
    if not provider or not items:
        return []
    failures = async_to_sync(_delete_all)(
        connection=_connection_named(provider), protocol=protocol, items=items
    )
    return [
        _record_failure(provider=provider, protocol=protocol, item=item, error=error)
        for item, error in failures
    ]


async def aremote_objects_delete(
    *, provider: str, protocol: str = "", objects: Iterable[RemoteObject]
) -> list[RemoteCleanup]:
    """`remote_objects_delete` for async code (the turn runner): the provider calls run on
    this loop. Going through `sync_to_async(remote_objects_delete)` instead would park the
    one thread that all sync database work shares in `async_to_sync` until the provider
    answers, and if the loop ended meanwhile (a process draining, a test's loop closed after
    the reply), that thread would wait forever and every database call after it with it."""
    items = [item for item in objects if item.remote_id]
    if not provider or not items:
        return []
    connection = await sync_to_async(_connection_named)(provider)
    failures = await _delete_all(connection=connection, protocol=protocol, items=items)
    return [
        await sync_to_async(_record_failure)(
            provider=provider, protocol=protocol, item=item, error=error
        )
        for item, error in failures
    ]


def remote_cleanup_retry() -> CleanupReport:
    """Retries every recorded deletion; the ones that succeed (or find the object gone)
    are removed from the record."""
    report = CleanupReport()
    for cleanup in RemoteCleanup.objects.order_by("id"):
        item = RemoteObject(cleanup.kind, cleanup.remote_id)
        failures = async_to_sync(_delete_all)(
            connection=_connection_named(cleanup.provider),
            protocol=cleanup.protocol,
            items=[item],
        )
        if failures:
            _, error = failures[0]
            report.failed.append(
                _record_failure(
                    provider=cleanup.provider, protocol=cleanup.protocol, item=item, error=error
                )
            )
        else:
            cleanup.delete()
            report.deleted.append(cleanup)
    return report
