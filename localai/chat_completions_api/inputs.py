"""What the deterministic model answers in the Chat Completions protocol.

The request carries the whole conversation. The model answers the last user message; when
the messages after it end with the results (`role: "tool"`) of the tool calls an assistant
message made, it quotes those instead, as a run does after `submit_tool_outputs`. Only the
results after the last user message count: an earlier round of tool calls is history.
The earlier user messages are the history `[[history]]` shows.
"""

from dataclasses import dataclass

from localai.chat_completions_api.params import message_text
from localai.engine.model import count_tokens
from localai.http.errors import APIError


@dataclass(frozen=True)
class ModelInput:
    # The last user message, directives included.
    text: str
    # (function name, output) pairs when the messages end with tool results, else None.
    tool_outputs: list[tuple[str, str]] | None
    # The earlier user messages, oldest first.
    history: list[str]
    prompt_tokens: int


def _calls_answered(messages: list[dict]) -> dict[str, str]:
    """Each tool call id -> its function's name, checking, as the real API does, that every
    tool message answers a call made before it and every call is answered."""
    names: dict[str, str] = {}
    pending: list[str] = []
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            call_id = message["tool_call_id"]
            if call_id not in names:
                raise APIError(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            if call_id in pending:
                pending.remove(call_id)
            continue
        if pending:
            raise APIError(
                400,
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(pending)}",
                param=f"messages.[{index}].role",
            )
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
                pending.append(call["id"])
    if pending:
        raise APIError(
            400,
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(pending)}",
            param="messages",
        )
    return names


def _prompt_tokens(messages: list[dict]) -> int:
    total = 0
    for message in messages:
        total += count_tokens(message_text(message))
        for call in message.get("tool_calls") or []:
            total += count_tokens(call["function"]["arguments"])
    return total


def model_input(messages: list[dict]) -> ModelInput:
    names = _calls_answered(messages)
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    last_user = users[-1] if users else -1
    after = messages[last_user + 1 :]
    outputs = None
    if after and after[-1]["role"] == "tool":
        # The tool messages that end the request, answering the last round of calls.
        tail = []
        for message in reversed(after):
            if message["role"] != "tool":
                break
            tail.append(message)
        outputs = [(names[m["tool_call_id"]], message_text(m)) for m in reversed(tail)]
    return ModelInput(
        text=message_text(messages[last_user]) if users else "",
        tool_outputs=outputs,
        history=[message_text(messages[index]) for index in users[:-1]],
        prompt_tokens=_prompt_tokens(messages),
    )
