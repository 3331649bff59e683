"""What the deterministic model answers in the Responses protocol.

The model is the same as for runs (model.py): it answers the last user message, or quotes
the outputs of the function calls it made. Here those come from items: the conversation's
(or the previous responses'), then the new input.
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


def _last_user_text(bodies: list[dict]) -> str | None:
    for body in reversed(bodies):
        if body.get("type") == "message" and body.get("role") == "user":
            return item_text(body)
    return None


def model_input(context: list[dict], inputs: list[dict], instructions: str | None) -> ModelInput:
    """`context` holds the item bodies already in the conversation (or the previous
    responses' items), `inputs` the new input items."""
    every = [*context, *inputs]
    calls = {body["call_id"]: body for body in every if body.get("type") == "function_call"}
    outputs = []
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
        outputs.append((call["name"], item_text(body)))
    text = _last_user_text(inputs)
    if text is None:
        text = _last_user_text(context) or ""
    prompt_tokens = count_tokens(instructions or "") + sum(
        count_tokens(item_text(body)) for body in every
    )
    return ModelInput(text=text, tool_outputs=outputs or None, prompt_tokens=prompt_tokens)
