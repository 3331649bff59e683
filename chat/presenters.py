"""The JSON shapes of conversations and messages, shared by the WebSocket, views and pages.

docs/websocket-protocol.md documents them; keep the two in step.
"""

from .models import Conversation, Message


def conversation_payload(conversation: Conversation) -> dict:
    assistant = conversation.assistant
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "assistant": {"id": assistant.pk, "name": assistant.name} if assistant else None,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
        "pinned_at": conversation.pinned_at.isoformat() if conversation.pinned_at else None,
    }


def message_payload(message: Message) -> dict:
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "error": message.error,
        "tool_steps": message.tool_steps,
        "created_at": message.created_at.isoformat(),
    }
