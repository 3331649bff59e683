"""What the deterministic model answers in the Responses protocol.

The model is the same as for runs (model.py): it answers the last user message, or quotes
the outputs of the function calls it made. Here those come from items: the conversation's
(or the previous responses'), then the new input. Only the function call outputs of the new
input that come after its last user message count: a stateless client sends the earlier
rounds again (their messages, calls and outputs) before its new message, and those are
history. The user messages before the one answered are what `[[history]]` shows.
"""

from dataclasses import dataclass

from localai.engine.model import count_tokens
from localai.http.errors import APIError
from localai.responses_api.params import item_text


@dataclass(frozen=True)
class ModelInput:
    # The last user message, directives included.
    text: str
    # (function name, output) pairs when the input carries function call outputs, else None.
    tool_outputs: list[tuple[str, str]] | None
    prompt_tokens: int
    # The user messages before the one answered, oldest first.
    history: list[str]


def _is_user_message(body: dict) -> bool:
    return body.get("type") == "message" and body.get("role") == "user"


def _after_last_user_message(bodies: list[dict]) -> list[dict]:
    for index in range(len(bodies) - 1, -1, -1):
        if _is_user_message(bodies[index]):
            return bodies[index + 1 :]
    return bodies


def model_input(context: list[dict], inputs: list[dict], instructions: str | None) -> ModelInput:
    """`context` holds the item bodies already in the conversation (or the previous
    responses' items), `inputs` the new input items."""
    every = [*context, *inputs]
    calls = {body["call_id"]: body for body in every if body.get("type") == "function_call"}
    answered = []
    for body in inputs:
        if body.get("type") != "function_call_output":
            continue
        call = calls.get(body["call_id"])
        if call is None:
            raise APIError(
                400,
                f"No tool call found for function call output with call_id {body['call_id']}.",
                param="input",
            )
        answered.append((body, call["name"]))
    recent = [id(body) for body in _after_last_user_message(inputs)]
    outputs = [(name, item_text(body)) for body, name in answered if id(body) in recent]
    users = [item_text(body) for body in every if _is_user_message(body)]
    prompt_tokens = count_tokens(instructions or "") + sum(
        count_tokens(item_text(body)) for body in every
    )
    return ModelInput(
        text=users[-1] if users else "",
        tool_outputs=outputs or None,
        prompt_tokens=prompt_tokens,
        history=users[:-1],
    )
