"""Containers, where the Responses API's code interpreter runs: their files, kept in this
database at /mnt/data/<name>."""

from collections.abc import Iterable

from localai.files_api.files import content_type_for, file_contents_of
from localai.http.errors import APIError
from localai.models import Container, ContainerFile, unix_now


async def container_get(public_id: str, param: str | None = None) -> Container:
    try:
        return await Container.objects.aget(public_id=public_id)
    except Container.DoesNotExist:
        raise APIError(404, f"Container with id '{public_id}' not found.", param=param) from None


def container_path(name: str) -> str:
    return f"/mnt/data/{name}"


async def container_create(
    *, name: str, file_ids: Iterable[str] = (), memory_limit: str = "1g"
) -> Container:
    container = await Container.objects.acreate(name=name, memory_limit=memory_limit)
    for filename, content in await file_contents_of(file_ids):
        await container_file_put(
            container=container, name=filename, content=content, source="user", mime=None
        )
    return container


async def container_file_put(
    *, container: Container, name: str, content: bytes, source: str, mime: str | None
) -> ContainerFile:
    """Creates the file at /mnt/data/<name>, or replaces the bytes of the one there."""

    path = container_path(name)
    fields = {
        "content": content,
        "size": len(content),
        "content_type": mime or content_type_for(name),
        "source": source,
    }
    existing = await ContainerFile.objects.filter(container=container, path=path).afirst()
    if existing is not None:
        await ContainerFile.objects.filter(pk=existing.pk).aupdate(**fields)
        await existing.arefresh_from_db()
        return existing
    return await ContainerFile.objects.acreate(container=container, path=path, **fields)


async def container_delete(*, container: Container) -> None:
    # Its files go with it.
    await container.adelete()


async def container_file_delete(*, file: ContainerFile) -> None:
    await file.adelete()


async def container_files_for_sandbox(container: Container) -> list[tuple[str, bytes]]:
    rows = ContainerFile.objects.filter(container=container).order_by("pk")
    return [(row.filename, bytes(row.content)) async for row in rows]


async def container_touch(*, container: Container) -> None:
    await Container.objects.filter(pk=container.pk).aupdate(last_active_at=unix_now())
