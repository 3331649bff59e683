from dataclasses import dataclass, field

from chat.tools import registry


@dataclass(frozen=True)
class ToolResources:
    """What one turn's provider tools work on, beyond the assistant's own knowledge: the
    vector stores file search reads and the files the code interpreter gets."""

    vector_store_ids: tuple[str, ...] = ()
    code_file_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssistantDefinition:
    """What an assistant is, independent of where it is stored (the provider or Django).

    `function_tools` names registered function tools (chat.tools) the assistant offers and
    runs; `tools` holds any further provider tool definitions, sent as they are.
    """

    name: str
    model: str
    instructions: str = ""
    description: str = ""
    tools: list = field(default_factory=list)
    remote_id: str = ""
    function_tools: tuple[str, ...] = ()
    # Tools the provider runs itself.
    file_search: bool = False
    code_interpreter: bool = False
    # The vector store of the assistant's knowledge files ("" when it has none).
    knowledge_vector_store_id: str = ""

    def _offered(self):
        return [tool for name in self.function_tools if (tool := registry.get(name))]

    def assistants_tools(self) -> list[dict]:
        """The tool list in the Assistants API's shape: chosen functions first, then extras."""
        chosen = [tool.assistants_schema() for tool in self._offered()]
        names = {tool["function"]["name"] for tool in chosen}
        return chosen + [t for t in self.tools if _function_name(t) not in names]

    def responses_tools(self) -> list[dict]:
        """The tool list in the Responses API's shape (function tools are flat there)."""
        chosen = [tool.responses_schema() for tool in self._offered()]
        names = {tool["name"] for tool in chosen}
        extras = [_flat(t) for t in self.tools if _function_name(t) not in names]
        return chosen + extras


def _function_name(tool: dict) -> str | None:
    if tool.get("type") != "function":
        return None
    return (tool.get("function") or {}).get("name") or tool.get("name")


def _flat(tool: dict) -> dict:
    """An Assistants-style function tool ({"function": {...}}) in the Responses shape."""
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        return {
            "type": "function",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
            **tool["function"],
        }
    return tool
