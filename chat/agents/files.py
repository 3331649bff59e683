"""Files, vector stores and containers on a provider: the calls the tools need around a turn.

Every failure becomes a ProviderError with a sentence staff or a user can act on. Deleting
something that is already gone counts as deleted, so cleanup can be retried safely.
"""

from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import openai

from .errors import ProviderError, provider_errors

UNSUPPORTED = (
    "This provider does not support files and vector stores (file search, code interpreter): "
    "{detail}"
)


@dataclass(frozen=True)
class VectorStoreFailure:
    """A file the provider could not index (e.g. unreadable text, an image)."""

    file_id: str
    reason: str


@asynccontextmanager
async def _provider_call(*, missing_means_unsupported: bool = False, missing_ok: bool = False):
    """Translates SDK errors. A 404 on a create call means the endpoint itself is missing;
    a 404 on a delete means the object is gone already, which is what was asked."""
    try:
        async with provider_errors(ignore=(openai.NotFoundError,) if missing_ok else ()):
            yield
    except ProviderError as error:
        # errors.py names the missing API when the URL shows it; otherwise say it here.
        if missing_means_unsupported and error.status == 404 and error.code != "unsupported_tool":
            raise ProviderError(
                UNSUPPORTED.format(detail=error), code="unsupported_tool", status=404
            ) from error
        raise


class ProviderFiles:
    """The Files, Vector stores and Containers APIs of one provider client."""

    def __init__(self, client: openai.AsyncOpenAI):
        self.client = client

    # --- Files ---------------------------------------------------------------------------

    async def upload(self, *, name: str, data: bytes, purpose: str = "assistants") -> str:
        async with _provider_call(missing_means_unsupported=True):
            uploaded = await self.client.files.create(file=(name, data), purpose=purpose)
        return uploaded.id

    async def delete_file(self, file_id: str) -> None:
        async with _provider_call(missing_ok=True):
            await self.client.files.delete(file_id)

    async def download(self, *, file_id: str, container_id: str = "") -> bytes:
        """A file's bytes: a Files API file, or a file in a Responses API container."""
        async with _provider_call():
            if container_id:
                content = await self.client.containers.files.content.retrieve(
                    file_id, container_id=container_id
                )
            else:
                content = await self.client.files.content(file_id)
        return content.content

    # --- Vector stores -------------------------------------------------------------------

    async def create_vector_store(self, *, name: str, file_ids: Iterable[str] = ()) -> str:
        arguments = {"name": name[:256]}
        if file_ids := list(file_ids):
            arguments["file_ids"] = file_ids
        async with _provider_call(missing_means_unsupported=True):
            store = await self.client.vector_stores.create(**arguments)
        return store.id

    async def add_to_vector_store(
        self, vector_store_id: str, file_ids: Iterable[str]
    ) -> list[VectorStoreFailure]:
        """Adds files and waits until each is indexed; returns the ones the provider could not
        index, with its reason (the others are ready for file search)."""
        failures = []
        for file_id in file_ids:
            # One file at a time: each answer carries that file's own status and last_error,
            # which a batch only sums up in its counts.
            async with _provider_call():
                added = await self.client.vector_stores.files.create_and_poll(
                    file_id, vector_store_id=vector_store_id
                )
            if added.status != "completed":
                error = added.last_error
                reason = error.message if error else f"indexing ended with status {added.status}"
                failures.append(VectorStoreFailure(file_id, reason))
        return failures

    async def remove_from_vector_store(self, vector_store_id: str, file_id: str) -> None:
        async with _provider_call(missing_ok=True):
            await self.client.vector_stores.files.delete(file_id, vector_store_id=vector_store_id)

    async def delete_vector_store(self, vector_store_id: str) -> None:
        async with _provider_call(missing_ok=True):
            await self.client.vector_stores.delete(vector_store_id)

    # --- Containers (Responses API code interpreter) -------------------------------------

    async def delete_container(self, container_id: str) -> None:
        async with _provider_call(missing_ok=True):
            await self.client.containers.delete(container_id)
