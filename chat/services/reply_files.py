"""What the provider tools add to a reply: its citations as sockets get them, and the files
the code interpreter made, copied to the site while the reply streams (the provider's copy
may expire, and a Responses API container is deleted once the reply ends)."""

import mimetypes
import posixpath

from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile

from chat.agents.events import Citation
from chat.agents.events import OutputFile as ProducedFile
from chat.agents.files import ProviderFiles
from chat.models import Conversation, Message, OutputFile
from chat.presenters import citation_keys, citation_payload, cited_uploads


async def reply_citation_payload(*, conversation: Conversation, citation: Citation) -> dict:
    """The citation as sockets get it: linked when it cites one of the user's attachments
    in this conversation (message_payload shows it the same way afterwards)."""
    uploads = {
        key: upload
        async for upload in cited_uploads(
            conversation_id=conversation.pk, file_ids=[citation.file_id]
        )
        for key in citation_keys(upload)
    }
    return citation_payload(citation.as_dict(), uploads)


def _file_name(produced: ProducedFile) -> str:
    # A name from the provider, never a path: it becomes a download's file name.
    name = posixpath.basename((produced.filename or "").replace("\\", "/")).strip()
    return (name or produced.file_id)[:255]


def _save(
    *, conversation: Conversation, reply: Message, produced: ProducedFile, provider, data
) -> OutputFile:
    name = _file_name(produced)
    output = OutputFile(
        conversation=conversation,
        message=reply,
        name=name,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        size=len(data),
        remote_file_id=produced.file_id,
        remote_provider=provider,
        remote_container_id=produced.container_id,
    )
    output.file.save(name, ContentFile(data), save=True)
    return output


async def output_file_copy(
    *, client, provider: str, conversation: Conversation, reply: Message, produced: ProducedFile
) -> OutputFile:
    """Downloads a file the code interpreter made and keeps it with the reply.

    Raises ProviderError when the provider does not hand it over.
    """
    data = await ProviderFiles(client).download(
        file_id=produced.file_id, container_id=produced.container_id
    )
    return await sync_to_async(_save)(
        conversation=conversation, reply=reply, produced=produced, provider=provider, data=data
    )
