"""Running the function calls a model asked for, shared by every protocol."""

import asyncio
from dataclasses import dataclass

from chat.tools import registry

from .definition import AssistantDefinition
from .events import ToolStep

# Rounds of tool calls one reply may make before it is stopped: a model that keeps calling
# tools would otherwise never answer.
MAX_TOOL_ROUNDS = 5
TOOL_LIMIT_REASON = (
    f"The assistant called tools more than {MAX_TOOL_ROUNDS} times in one reply, "
    "so the reply was stopped."
)
# The output each call of the last allowed round gets instead of running: the API needs
# one per call, and the model is then asked to answer without tools.
TOOL_LIMIT_OUTPUT = (
    "Error: this reply reached its limit of tool calls; answer without calling tools."
)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    def step(self, output: str | None = None) -> ToolStep:
        return ToolStep(self.id, self.name, self.arguments, output)


async def run_tool_calls(calls: list[ToolCall], definition: AssistantDefinition) -> list[str]:
    """The outputs of the calls, in order; only the assistant's own tools run."""
    return await asyncio.gather(
        *(
            registry.call(call.name, call.arguments, allowed=definition.function_tools)
            for call in calls
        )
    )
