"""The JSON objects of the Responses API and the Conversations API, as the real service
returns them.

The openai SDK's models (openai.types.responses.*, openai.types.conversations.*) are the
reference; tests/localai/test_contract.py validates these shapes against them.
"""

from localai.models import Conversation, Item, Response

DEFAULT_TEXT_CONFIG = {"format": {"type": "text"}, "verbosity": "medium"}


def conversation_object(conversation: Conversation) -> dict:
    return {
        "id": conversation.public_id,
        "object": "conversation",
        "created_at": conversation.created_at,
        "metadata": conversation.metadata,
    }


def response_deleted_object(response_id: str) -> dict:
    # What the real API answers (the SDK discards the body).
    return {"id": response_id, "object": "response", "deleted": True}


def item_object(item: Item) -> dict:
    return {"id": item.public_id, **item.body}


def output_text_part(text: str, annotations: list[dict] | None = None) -> dict:
    return {"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}


def message_item_body(role: str, content: list[dict], status: str = "completed") -> dict:
    return {"type": "message", "status": status, "role": role, "content": content}


def function_call_body(call_id: str, name: str, arguments: str, status: str) -> dict:
    return {
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def usage_object(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def response_object(response: Response, output: list[Item]) -> dict:
    conversation = response.conversation_public_id
    return {
        "id": response.public_id,
        "object": "response",
        "created_at": response.created_at,
        "status": response.status,
        "background": response.background,
        "completed_at": response.completed_at,
        "conversation": {"id": conversation} if conversation else None,
        "error": response.error,
        "incomplete_details": response.incomplete_details,
        "instructions": response.instructions,
        "max_output_tokens": response.max_output_tokens,
        "max_tool_calls": None,
        "metadata": response.metadata,
        "model": response.model,
        "output": [item_object(item) for item in output],
        "parallel_tool_calls": response.parallel_tool_calls,
        "previous_response_id": response.previous_response_id,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": response.store,
        "temperature": response.temperature,
        "text": response.text or DEFAULT_TEXT_CONFIG,
        "tool_choice": response.tool_choice,
        "tools": response.tools,
        "top_logprobs": 0,
        "top_p": response.top_p,
        "truncation": "disabled",
        "usage": response.usage,
        "user": None,
    }
