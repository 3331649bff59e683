"""Function tools: Python functions an assistant may call, like Semantic Kernel plugins.

Register one with `@function_tool(name=..., description=..., parameters={json schema})`;
staff choose an assistant's tools in the admin, and the agent layer runs the calls.
"""

from . import builtin  # noqa: F401  (registers the built-in tools)
from .registry import FunctionTool, ToolRegistry, function_tool, registry

__all__ = ["FunctionTool", "ToolRegistry", "function_tool", "registry"]
