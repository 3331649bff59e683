from dataclasses import dataclass, field
from typing import Protocol

from chat.tools import registry


@dataclass(frozen=True)
class FoundPassage:
    file_id: str
    filename: str
    score: float  # in [0, 1), higher is better
    text: str  # the chunk, as the model reads it
    quote: str  # the part a citation shows


@dataclass(frozen=True)
class FileSearchResult:
    passages: list[FoundPassage]
    files: int = 0  # how many readable files were searched
    unreadable: list[str] = field(default_factory=list)  # "name: reason", for the model


class SiteFileSearch(Protocol):
    async def search(self, query: str) -> FileSearchResult: ...


class SiteTools(Protocol):
    """Function tools the site runs beyond chat.tools, chosen per assistant in the database
    (an organisation's MCP tools, toolservers.toolbox): offered with the assistant's own on
    every protocol, and run here when the model calls one. `run` never raises for what the
    tool does (an error is the output the model reads) and may wait, for the user's approval;
    `step` is the call as the transcript shows it."""

    def schemas(self) -> list[dict]: ...  # in the Assistants (nested) shape

    def handles(self, name: str) -> bool: ...

    def step(self, call, output: str | None = None): ...

    async def run(self, call) -> str: ...


@dataclass(frozen=True)
class ToolResources:
    """What one turn's tools work on, beyond the assistant's own knowledge: the vector
    stores the provider's file search reads and the files the code interpreter gets; or,
    where file search runs on the site, the search to offer as the `file_search` function;
    and the further function tools the site runs (`site_tools`)."""

    vector_store_ids: tuple[str, ...] = ()
    code_file_ids: tuple[str, ...] = ()
    site_file_search: SiteFileSearch | None = None
    site_tools: SiteTools | None = None


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
    # Where the site holds the thread: the most tokens of instructions and transcript sent.
    context_budget: int = 8000

    def _offered(self):
        return [tool for name in self.function_tools if (tool := registry.get(name))]

    def _extras(self, chosen_names: set[str]) -> list[dict]:
        # The booleans own the provider tools: a copy in `tools` would offer one twice.
        return [
            t
            for t in self.tools
            if _function_name(t) not in chosen_names and t.get("type") not in PROVIDER_TOOLS
        ]

    def assistants_tools(self) -> list[dict]:
        """The tool list in the Assistants API's shape: chosen functions first, then extras,
        then the provider's own tools (their files go in `assistants_tool_resources`)."""
        chosen = [tool.assistants_schema() for tool in self._offered()]
        names = {tool["function"]["name"] for tool in chosen}
        provider = [{"type": name} for name in PROVIDER_TOOLS if getattr(self, name)]
        return chosen + self._extras(names) + provider

    def chat_completions_tools(self) -> list[dict]:
        """The function tools in the Chat Completions shape (the Assistants one, nested);
        the provider tools have no place there."""
        chosen = [tool.assistants_schema() for tool in self._offered()]
        names = {tool["function"]["name"] for tool in chosen}
        extras = [_nested(t) for t in self._extras(names) if t.get("type") == "function"]
        return chosen + extras

    def assistants_tool_resources(self) -> dict | None:
        """The assistant's own tool resources: its knowledge store for file search.

        An empty list (file search on, no knowledge) clears a store set before; None leaves
        the field out, for an assistant without file search.
        """
        if not self.file_search:
            return None
        stores = [self.knowledge_vector_store_id] if self.knowledge_vector_store_id else []
        return {"file_search": {"vector_store_ids": stores}}

    def vector_store_ids(self, resources: ToolResources | None = None) -> list[str]:
        """Every store file search reads in one turn: the knowledge, then the conversation's."""
        stores = [self.knowledge_vector_store_id] if self.knowledge_vector_store_id else []
        for store in resources.vector_store_ids if resources else ():
            if store and store not in stores:
                stores.append(store)
        return stores

    def responses_tools(self, resources: ToolResources | None = None) -> list[dict]:
        """The tool list in the Responses API's shape (function tools are flat there).

        The definition travels with each response, so the provider tools carry the turn's
        files: file search its vector stores (left out while there are none: the API
        refuses an empty list; and where the site runs file search, as a function tool
        the agent adds), the code interpreter a fresh container with the files.
        """
        chosen = [tool.responses_schema() for tool in self._offered()]
        names = {tool["name"] for tool in chosen}
        extras = [_flat(t) for t in self._extras(names)]
        provider = []
        stores = self.vector_store_ids(resources)
        site_search = resources is not None and resources.site_file_search is not None
        if self.file_search and stores and not site_search:
            provider.append({"type": "file_search", "vector_store_ids": stores})
        if self.code_interpreter:
            file_ids = list(resources.code_file_ids) if resources else []
            provider.append(
                {"type": "code_interpreter", "container": {"type": "auto", "file_ids": file_ids}}
            )
        return chosen + extras + provider


# Tools the provider runs itself, named as both APIs name them; each is a boolean field.
PROVIDER_TOOLS = ("file_search", "code_interpreter")


def _function_name(tool: dict) -> str | None:
    if tool.get("type") != "function":
        return None
    return (tool.get("function") or {}).get("name") or tool.get("name")


def flat_function(tool: dict) -> dict:
    """A function tool in the Responses API's (flat) shape, whichever shape it came in."""
    return _flat(tool)


def _nested(tool: dict) -> dict:
    """A Responses-style function tool (flat) in the Chat Completions shape."""
    if isinstance(tool.get("function"), dict):
        return tool
    fields = {k: v for k, v in tool.items() if k in ("name", "description", "parameters")}
    return {"type": "function", "function": fields}


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
