"""The registry of function tools, and how one call is run.

A call never raises: an unknown tool, arguments that are not a JSON object or do not fit
the function, an exception or a timeout become the output text the model reads, so a bad
call costs one tool step, not the turn.
"""

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# What the model reads back is bounded too: a runaway tool must not flood the conversation.
MAX_OUTPUT_CHARS = 16_000


@dataclass(frozen=True)
class FunctionTool:
    name: str
    description: str
    parameters: dict
    function: Callable
    timeout: float = DEFAULT_TIMEOUT

    def assistants_schema(self) -> dict:
        """The tool as the Assistants API declares it (the function nested)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def responses_schema(self) -> dict:
        """The tool as the Responses API declares it (flat)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": False,
        }


class ToolRegistry:
    def __init__(self):
        self._tools: dict[str, FunctionTool] = {}

    def register(self, tool: FunctionTool) -> FunctionTool:
        if tool.name in self._tools:
            raise ValueError(f"A function tool named {tool.name!r} is already registered.")
        self._tools[tool.name] = tool
        return tool

    def function_tool(
        self, *, name: str, description: str, parameters: dict, timeout: float = DEFAULT_TIMEOUT
    ):
        """Registers the decorated function; it is returned unchanged (still callable)."""

        def register(function: Callable) -> Callable:
            self.register(FunctionTool(name, description, parameters, function, timeout))
            return function

        return register

    def get(self, name: str) -> FunctionTool | None:
        return self._tools.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __iter__(self):
        return iter(sorted(self._tools.values(), key=lambda tool: tool.name))

    def choices(self) -> list[tuple[str, str]]:
        return [(tool.name, f"{tool.name}: {tool.description}") for tool in self]

    async def call(self, name: str, arguments: str, *, allowed: Iterable[str]) -> str:
        """Runs one call of the model and returns the text to send back as its output.

        Only tools in `allowed` (those the assistant offers) run: the model may name others.
        """
        tool = self._tools.get(name) if name in set(allowed) else None
        if tool is None:
            return f"Error: there is no function tool named {name!r} for this assistant."
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return f"Error: the arguments are not valid JSON ({exc.msg})."
        if not isinstance(parsed, dict):
            return "Error: the arguments must be a JSON object."
        try:
            inspect.signature(tool.function).bind(**parsed)
        except TypeError as exc:
            return f"Error: the arguments do not fit {name}: {exc}."
        try:
            # In a worker thread, so a slow tool never blocks the event loop. A tool that
            # overruns is abandoned (a thread cannot be killed); tools bound their own work.
            result = await asyncio.wait_for(
                sync_to_async(tool.function, thread_sensitive=False)(**parsed), tool.timeout
            )
        except TimeoutError:
            return f"Error: {name} did not finish within {tool.timeout:g} seconds."
        except ToolError as exc:
            return f"Error: {exc}"
        except Exception:
            logger.exception("Function tool %s failed", name)
            return f"Error: {name} failed unexpectedly."
        return _as_output(result)


class ToolError(Exception):
    """Raised by a tool for a problem the model should read (bad input, nothing found)."""


def _as_output(result) -> str:
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    if len(text) > MAX_OUTPUT_CHARS:
        return text[:MAX_OUTPUT_CHARS] + " [output truncated]"
    return text


registry = ToolRegistry()
function_tool = registry.function_tool
