"""What a turn's tools work on: the conversation's attachments, on the provider or here.

Called by the turn runner before each run. Attachments reach the provider only here, when a
provider tool that reads them is enabled: uploaded once (the remote id is kept on the
Upload), added to the conversation's vector store for file search, listed for the code
interpreter. Where file search runs on the site (chat.file_search), nothing is uploaded for
it: the turn gets the conversation's own search instead.
"""

import logging

from asgiref.sync import sync_to_async

from chat.agents import ToolResources, agent_class, client_for
from chat.agents.files import ProviderFiles
from chat.file_search import file_search_on_site
from chat.file_search.search import ConversationFileSearch
from chat.models import Assistant, Conversation, Upload

from .file_types import is_indexable
from .remote_cleanup import Kind, RemoteObject, aremote_objects_delete

logger = logging.getLogger(__name__)


def _read(upload: Upload) -> bytes:
    with upload.file.open("rb") as stored:
        return stored.read()


async def _upload_missing(*, files: ProviderFiles, provider: str, uploads: list[Upload]) -> list:
    """Uploads the files the provider does not have yet; returns those uploaded now."""
    uploaded = []
    for upload in uploads:
        if upload.remote_file_id and upload.remote_provider == provider:
            continue
        try:
            data = await sync_to_async(_read)(upload)
        except FileNotFoundError:
            # Bytes lost on this side (a restored backup without media): the turn goes on
            # without the file rather than failing on something the user cannot fix.
            logger.warning("Upload %s has no stored file; not sent to the provider", upload.pk)
            continue
        upload.remote_file_id = await files.upload(name=upload.name, data=data)
        upload.remote_provider = provider
        await upload.asave(update_fields=["remote_file_id", "remote_provider"])
        uploaded.append(upload)
    return uploaded


async def _ensure_vector_store(*, files: ProviderFiles, conversation: Conversation) -> bool:
    """Creates the conversation's vector store if it has none; True when created now."""
    if conversation.remote_vector_store_id:
        return False
    store_id = await files.create_vector_store(name=f"conversation-{conversation.pk}")
    # Compare-and-set, as for assistant definitions: a second store from a racing turn is
    # removed rather than orphaned.
    won = await Conversation.objects.filter(pk=conversation.pk, remote_vector_store_id="").aupdate(
        remote_vector_store_id=store_id
    )
    if won:
        conversation.remote_vector_store_id = store_id
        return True
    await aremote_objects_delete(
        provider=conversation.assistant.connection.name,
        objects=[RemoteObject(Kind.VECTOR_STORE, store_id)],
    )
    await conversation.arefresh_from_db(fields=["remote_vector_store_id"])
    return False


async def conversation_tool_resources(*, conversation: Conversation) -> ToolResources:
    """The vector store and code files of this conversation's attachments for the next run,
    uploading what is new, or the site's search of them. Raises ProviderError (e.g. a
    provider without a Files API)."""
    assistant: Assistant = conversation.assistant
    if assistant is None:
        return ToolResources()
    site = None
    provider_search = assistant.file_search
    if assistant.file_search and file_search_on_site(assistant):
        # Offered even before the first attachment: the knowledge files are searched too.
        site, provider_search = ConversationFileSearch(conversation), False
    code = assistant.code_interpreter and agent_class(assistant.protocol).provider_tools
    if not (provider_search or code):
        return ToolResources(site_file_search=site)
    uploads = [u async for u in Upload.objects.filter(conversation=conversation).order_by("id")]
    if not uploads:
        return ToolResources(site_file_search=site)
    files = ProviderFiles(client_for(assistant.connection))
    new = await _upload_missing(files=files, provider=assistant.connection.name, uploads=uploads)
    vector_store_ids: tuple[str, ...] = ()
    if provider_search and any(is_indexable(u.content_type) for u in uploads):
        created = await _ensure_vector_store(files=files, conversation=conversation)
        # A new store gets every readable file so far; an existing one only the new ones.
        to_index = uploads if created else new
        file_ids = [
            u.remote_file_id for u in to_index if u.remote_file_id and is_indexable(u.content_type)
        ]
        if file_ids:
            # A file the provider cannot index is no reason to fail the turn: the others
            # are searched, and the code interpreter still gets it.
            await files.add_to_vector_store(conversation.remote_vector_store_id, file_ids)
        vector_store_ids = (conversation.remote_vector_store_id,)
    code_file_ids = tuple(u.remote_file_id for u in uploads if u.remote_file_id) if code else ()
    return ToolResources(
        vector_store_ids=vector_store_ids, code_file_ids=code_file_ids, site_file_search=site
    )
