"""The Files API's reads and writes: uploaded files, their bytes kept in this database."""

import mimetypes
from collections.abc import Iterable

from django.conf import settings

from localai.http.errors import APIError, not_found
from localai.models import File

PURPOSES = (
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
)


def content_type_for(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def check_size(size: int) -> None:
    limit = settings.LOCAL_PROVIDER_MAX_FILE_BYTES
    if size > limit:
        raise APIError(
            400,
            f"File is too large: {size} bytes; this server accepts files of at most "
            f"{limit} bytes (LOCAL_PROVIDER_MAX_FILE_BYTES).",
            param="file",
            code="file_too_large",
        )


async def file_create(
    *, filename: str, purpose: str, content: bytes, content_type: str | None = None
) -> File:
    """Stores an uploaded (or produced) file. `content_type` defaults to one guessed from
    the name, which is what the content endpoint answers with."""
    if purpose not in PURPOSES:
        raise APIError(
            400,
            f"Invalid value for 'purpose': '{purpose}'. Expected one of {', '.join(PURPOSES)}.",
            param="purpose",
            code="invalid_value",
        )
    check_size(len(content))
    if not content_type or content_type == "application/octet-stream":
        content_type = content_type_for(filename)
    return await File.objects.acreate(
        filename=filename,
        purpose=purpose,
        content_type=content_type,
        size=len(content),
        content=content,
    )


async def file_delete(*, file: File) -> None:
    # Its vector store entries (and their chunks) go with it, as in the real API.
    await file.adelete()


async def file_get(public_id: str, param: str | None = None) -> File:
    try:
        return await File.objects.defer("content").aget(public_id=public_id)
    except File.DoesNotExist:
        raise not_found("file", public_id, param) from None


async def file_content(file: File) -> bytes:
    content = await File.objects.filter(pk=file.pk).values_list("content", flat=True).aget()
    return bytes(content)


async def file_contents_of(file_ids: Iterable[str]) -> list[tuple[str, bytes]]:
    """(filename, bytes) of the Files that exist; unknown ids are skipped."""
    inputs = []
    for file_id in file_ids:
        file = await File.objects.defer("content").filter(public_id=file_id).afirst()
        if file is not None:
            inputs.append((file.filename, await file_content(file)))
    return inputs
