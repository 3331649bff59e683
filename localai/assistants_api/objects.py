"""The JSON objects of the Assistants API v2, as the real service returns them.

The openai SDK's models (openai.types.beta.*) are the reference; the tests validate these
shapes against them.
"""

from localai.models import ACTIVE_RUN_STATUSES, Assistant, Message, Run, RunStep, Thread


def assistant_object(assistant: Assistant) -> dict:
    return {
        "id": assistant.public_id,
        "object": "assistant",
        "created_at": assistant.created_at,
        "name": assistant.name,
        "description": assistant.description,
        "model": assistant.model,
        "instructions": assistant.instructions,
        "tools": assistant.tools,
        "tool_resources": assistant.tool_resources,
        "metadata": assistant.metadata,
        "temperature": assistant.temperature,
        "top_p": assistant.top_p,
        "response_format": assistant.response_format,
    }


def thread_object(thread: Thread) -> dict:
    return {
        "id": thread.public_id,
        "object": "thread",
        "created_at": thread.created_at,
        "metadata": thread.metadata,
        "tool_resources": thread.tool_resources,
    }


def message_object(message: Message, thread_id: str) -> dict:
    return {
        "id": message.public_id,
        "object": "thread.message",
        "created_at": message.created_at,
        "thread_id": thread_id,
        "status": message.status,
        "incomplete_details": message.incomplete_details,
        "completed_at": message.completed_at,
        "incomplete_at": message.incomplete_at,
        "role": message.role,
        "content": message.content,
        "assistant_id": message.assistant_id,
        "run_id": message.run_id,
        "attachments": message.attachments,
        "metadata": message.metadata,
    }


def text_block(value: str, annotations: list[dict] | None = None) -> dict:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def message_delta_object(message_id: str, index: int, block: dict) -> dict:
    """A streamed piece of the message's content block at `index` (a text block's piece
    carries the annotations it completes)."""
    return {
        "id": message_id,
        "object": "thread.message.delta",
        "delta": {"content": [{"index": index, **block}]},
    }


def run_object(run: Run, thread_id: str) -> dict:
    return {
        "id": run.public_id,
        "object": "thread.run",
        "created_at": run.created_at,
        "assistant_id": run.assistant_id,
        "thread_id": thread_id,
        "status": run.status,
        "started_at": run.started_at,
        # The real API reports `expires_at` only while a run can still expire.
        "expires_at": run.expires_at if run.status in ACTIVE_RUN_STATUSES else None,
        "cancelled_at": run.cancelled_at,
        "failed_at": run.failed_at,
        "completed_at": run.completed_at,
        "required_action": run.required_action,
        "last_error": run.last_error,
        "model": run.model,
        "instructions": run.instructions,
        "tools": run.tools,
        "metadata": run.metadata,
        "usage": run.usage,
        "temperature": run.temperature,
        "top_p": run.top_p,
        "max_prompt_tokens": run.max_prompt_tokens,
        "max_completion_tokens": run.max_completion_tokens,
        "truncation_strategy": run.truncation_strategy,
        "incomplete_details": None,
        "response_format": run.response_format,
        "tool_choice": run.tool_choice,
        "parallel_tool_calls": run.parallel_tool_calls,
    }


def run_step_object(step: RunStep, run: Run, thread_id: str) -> dict:
    return {
        "id": step.public_id,
        "object": "thread.run.step",
        "created_at": step.created_at,
        "run_id": run.public_id,
        "assistant_id": run.assistant_id,
        "thread_id": thread_id,
        "type": step.type,
        "status": step.status,
        "cancelled_at": step.cancelled_at,
        "completed_at": step.completed_at,
        "expired_at": step.expired_at,
        "failed_at": step.failed_at,
        "last_error": step.last_error,
        "step_details": step.step_details,
        "usage": step.usage,
        "metadata": step.metadata,
    }


def run_step_tool_calls_delta_object(step: RunStep, tool_calls: list[dict] | None = None) -> dict:
    """A streamed piece of a step's tool calls, each at its index: by default all of them,
    as a step announces its calls; or the pieces given (code interpreter input, outputs)."""
    if tool_calls is None:
        tool_calls = step.step_details.get("tool_calls", [])
    indexed = [{"index": index, **call} for index, call in enumerate(tool_calls)]
    return {
        "id": step.public_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": indexed}},
    }


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict:
    """The token usage of a run or a run step."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
