"""Conversation titles: a short one from the first exchange, never over one the user chose.

A conversation starts with a title derived from its first message (turn_create), so the
sidebar has something to show at once. When the first reply completes, the assistant's
provider is asked for a better one; when it cannot give one (or is the built-in local model,
which is no LLM and would only echo), the locally derived title stays.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from chat.agents.chat_completions import completion_text
from chat.agents.responses import response_text
from chat.models import Assistant, Connection, Conversation, Message
from chat.prepared_statements import PreparedQuery, PreparedUpdate

from .assistants import assistant_agent
from .conversations import TITLE_MAX_CHARS, conversation_title_from

logger = logging.getLogger(__name__)

TITLE_TIMEOUT = 10.0
TITLE_INPUT_CHARS = 2000
TITLE_INSTRUCTIONS = (
    "Write a title of at most six words for the conversation below, in its language. "
    "Answer with the title only: no quotes, no final full stop."
)

# At the end of every reply (chat.prepared_statements: built once).
_SIDEBAR_FIELDS = PreparedQuery(
    lambda pk: Conversation.objects.filter(pk=pk).values_list(
        "title", "title_is_custom", "pinned_at"
    ),
    pk=(1, 2),
)
_TITLE_UNLESS_CUSTOM = PreparedUpdate(Conversation, where=("pk", "title_is_custom"))


async def title_generate(*, assistant: Assistant, question: str, answer: str) -> str:
    """A title written by the assistant's provider, or "" when it cannot give one."""
    if assistant.connection.kind == Connection.Kind.LOCAL:
        return ""
    try:
        async with asyncio.timeout(TITLE_TIMEOUT):
            # The agent's model is the turns' one: a blank model means the provider's default.
            agent = assistant_agent(assistant)
            one_text = (
                completion_text
                if assistant.protocol == Assistant.Protocol.CHAT_COMPLETIONS
                else response_text
            )
            text = await one_text(
                client=agent.client,
                model=agent.definition.model,
                instructions=TITLE_INSTRUCTIONS,
                input=(
                    f"User: {question[:TITLE_INPUT_CHARS]}\n\n"
                    f"Assistant: {answer[:TITLE_INPUT_CHARS]}"
                ),
                max_output_tokens=30,
            )
    except Exception as exc:  # any failure means "use the local title", never a failed turn
        logger.info("No generated title from %s: %s", assistant.connection.name, exc)
        return ""
    title = conversation_title_from(text).strip("\"'“”«» ")
    return title[:TITLE_MAX_CHARS]


def conversation_sidebar_refresh(conversation: Conversation) -> bool:
    """Reads the sidebar fields of `conversation` again (the user may have renamed or pinned
    it while a reply streamed); False when it is gone."""
    fresh = _SIDEBAR_FIELDS.rows(pk=conversation.pk)
    if not fresh:
        return False
    ((conversation.title, conversation.title_is_custom, conversation.pinned_at),) = fresh
    return True


async def conversation_title_generate(
    *,
    conversation: Conversation,
    reply: Message,
    first_reply: bool | None = None,
    question: str = "",
    refreshed: bool = False,
) -> None:
    """After a reply ends: refreshes the sidebar fields of `conversation` (unless the caller
    just did, `refreshed`), and gives a conversation whose first reply just completed a title
    from that exchange, unless the user chose one. `first_reply`: whether it is that reply,
    when the caller knows (None: read it here), and `question` the message it answers."""
    if not refreshed and not await database_sync_to_async(conversation_sidebar_refresh)(
        conversation
    ):
        return
    if (
        conversation.title_is_custom
        or reply.status != Message.Status.COMPLETE
        or first_reply is False
    ):
        return
    if first_reply and question:
        return await _title_from(conversation, question=question, answer=reply.content)
    first_exchange = [
        m async for m in Message.objects.filter(conversation_id=conversation.pk).order_by("id")[:2]
    ]
    if [m.role for m in first_exchange] != ["user", "assistant"] or (
        first_exchange[1].pk != reply.pk
    ):
        return  # not the first reply
    await _title_from(conversation, question=first_exchange[0].content, answer=reply.content)


async def _title_from(conversation: Conversation, *, question: str, answer: str) -> None:
    title = ""
    if conversation.assistant is not None:
        title = await title_generate(
            assistant=conversation.assistant, question=question, answer=answer
        )
    title = title or conversation_title_from(question) or conversation.title
    if title == conversation.title:
        return
    # Conditional: a rename that lands in the meantime wins.
    updated = await database_sync_to_async(_TITLE_UNLESS_CUSTOM.run)(
        conversation.pk, False, title=title
    )
    if updated:
        conversation.title = title
