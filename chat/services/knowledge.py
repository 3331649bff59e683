"""An assistant's knowledge files: uploaded to its provider, indexed in its vector store.

Staff add and remove the files in the admin; `assistant_knowledge_sync` then brings the
provider in line. A provider failure never loses a file locally: it stays listed, marked
failed with the reason, and is tried again at the next save. Where file search runs on the
site (no vector stores on the assistant's server), the files are indexed here instead
(chat.file_search), and nothing goes to the provider.
"""

from collections.abc import Iterable

from asgiref.sync import async_to_sync, sync_to_async
from django.db.models import Q

from chat.agents import ProviderError, client_for
from chat.agents.files import ProviderFiles
from chat.file_search import file_search_on_site
from chat.file_search.index import assistant_knowledge_index
from chat.models import Assistant, KnowledgeFile

from .assistants import assistant_definition, assistant_push_remote
from .remote_cleanup import Kind, RemoteObject, remote_objects_delete

Status = KnowledgeFile.Status


def _read(knowledge_file: KnowledgeFile) -> bytes:
    with knowledge_file.file.open("rb") as stored:
        return stored.read()


async def _failed(knowledge_file: KnowledgeFile, reason: str) -> str:
    knowledge_file.status = Status.FAILED
    knowledge_file.error = reason
    await knowledge_file.asave(
        update_fields=["status", "error", "remote_file_id", "remote_provider"]
    )
    return f"{knowledge_file.name}: {reason}"


async def _upload(files: ProviderFiles, knowledge_file: KnowledgeFile, provider: str) -> None:
    data = await sync_to_async(_read)(knowledge_file)
    knowledge_file.remote_file_id = await files.upload(name=knowledge_file.name, data=data)
    knowledge_file.remote_provider = provider
    await knowledge_file.asave(update_fields=["remote_file_id", "remote_provider"])


async def _ensure_store(files: ProviderFiles, assistant: Assistant) -> bool:
    """Creates the assistant's vector store if it has none; True when created now."""
    if assistant.remote_vector_store_id:
        return False
    assistant.remote_vector_store_id = await files.create_vector_store(
        name=f"assistant-{assistant.pk}-knowledge"
    )
    await Assistant.objects.filter(pk=assistant.pk).aupdate(
        remote_vector_store_id=assistant.remote_vector_store_id
    )
    return True


async def _index(files: ProviderFiles, assistant: Assistant, pending: list) -> list[str]:
    errors = []
    store_id = assistant.remote_vector_store_id
    failures = {
        failure.file_id: failure.reason
        for failure in await files.add_to_vector_store(
            store_id, [f.remote_file_id for f in pending]
        )
    }
    for knowledge_file in pending:
        reason = failures.get(knowledge_file.remote_file_id)
        if reason is None:
            knowledge_file.status, knowledge_file.error = Status.READY, ""
            await knowledge_file.asave(update_fields=["status", "error"])
            continue
        # Out of the store again, so that the retry at the next save starts clean.
        await files.remove_from_vector_store(store_id, knowledge_file.remote_file_id)
        errors.append(await _failed(knowledge_file, f"The provider could not index it: {reason}"))
    return errors


async def _sync_pending(assistant: Assistant, pending: list[KnowledgeFile]) -> tuple[list, bool]:
    """Uploads and indexes `pending`; returns the errors and whether the store is new."""
    try:
        files = ProviderFiles(client_for(assistant.connection))
    except ProviderError as exc:
        return [await _failed(f, str(exc)) for f in pending], False
    errors, uploaded = [], []
    for knowledge_file in pending:
        try:
            if knowledge_file.remote_provider != assistant.connection.name:
                await _upload(files, knowledge_file, assistant.connection.name)
            uploaded.append(knowledge_file)
        except ProviderError as exc:
            errors.append(await _failed(knowledge_file, str(exc)))
    if not uploaded:
        return errors, False
    created = False
    try:
        created = await _ensure_store(files, assistant)
        errors += await _index(files, assistant, uploaded)
    except ProviderError as exc:
        errors += [await _failed(f, str(exc)) for f in uploaded]
    return errors, created


def _remove(assistant: Assistant, removed: Iterable[KnowledgeFile]) -> None:
    gone = [f for f in removed if f.remote_file_id and f.remote_provider]
    if gone and assistant.remote_vector_store_id:

        async def take_out_of_store():
            files = ProviderFiles(client_for(assistant.connection))
            for knowledge_file in gone:
                await files.remove_from_vector_store(
                    assistant.remote_vector_store_id, knowledge_file.remote_file_id
                )

        try:
            async_to_sync(take_out_of_store)()
        except ProviderError:
            pass  # deleting the file below takes it out of every store as well
    for provider in {f.remote_provider for f in gone}:
        remote_objects_delete(
            provider=provider,
            objects=[
                RemoteObject(Kind.FILE, f.remote_file_id)
                for f in gone
                if f.remote_provider == provider
            ],
        )


def assistant_knowledge_sync(
    *, assistant: Assistant, removed: Iterable[KnowledgeFile] = ()
) -> list[str]:
    """Uploads and indexes the assistant's new (or previously failed) knowledge files,
    deletes the `removed` ones (records already deleted here) on the provider, and
    pushes the definition again when its vector store is new. Returns readable errors."""
    # Loaded here: the async parts below read it and cannot query.
    assistant.connection  # noqa: B018
    _remove(assistant, removed)
    if file_search_on_site(assistant):
        return assistant_knowledge_index(assistant=assistant)
    # Ready on the site is not on the provider: a file without a remote copy goes up.
    pending = list(
        assistant.knowledge_files.filter(~Q(status=Status.READY) | Q(remote_file_id="")).order_by(
            "id"
        )
    )
    if not pending:
        return []
    errors, created = async_to_sync(_sync_pending)(assistant, pending)
    if created:
        try:
            assistant_push_remote(
                connection=assistant.connection,
                protocol=assistant.protocol,
                definition=assistant_definition(assistant),
            )
        except ProviderError as exc:
            errors.append(f"The assistant could not be pointed at its knowledge: {exc}")
    return errors
