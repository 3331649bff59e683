"""The JSON objects of the Chat Completions API, as the real service returns them.

The openai SDK's models (openai.types.chat.ChatCompletion, ChatCompletionChunk,
openai.types.CompletionUsage) are the reference; tests/localai/chat_completions_api/
test_contract.py validates these shapes against them.
"""

from dataclasses import dataclass

# The real API names the backend configuration that answered; the local model has one.
SYSTEM_FINGERPRINT = "fp_local_echo"


@dataclass(frozen=True)
class Completion:
    """What every chunk of one completion repeats."""

    id: str
    created: int
    model: str


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def tool_call_object(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion_object(
    completion: Completion,
    *,
    content: str | None,
    tool_calls: list[dict],
    finish_reason: str,
    usage: dict,
) -> dict:
    message: dict = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def chunk_object(
    completion: Completion,
    delta: dict | None,
    *,
    finish_reason: str | None = None,
    with_usage: bool = False,
    usage: dict | None = None,
) -> dict:
    """One `chat.completion.chunk`: one choice with `delta`, or (`delta` None) the usage
    chunk, with no choice. With `with_usage` (the request's `stream_options.include_usage`)
    every chunk carries `usage`, null until the last one, as in the real API."""
    chunk = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if with_usage:
        chunk["usage"] = usage
    return chunk


def stream_error_object(message: str) -> dict:
    """What the real API sends in a stream that fails part-way; the SDK raises `APIError`."""
    return {
        "error": {"message": message, "type": "server_error", "param": None, "code": "server_error"}
    }
