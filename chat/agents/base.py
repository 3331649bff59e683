"""The agent interface every protocol implements, after Semantic Kernel's agents.

An agent wraps one assistant definition and a provider client. It can be created remotely,
retrieved by id, updated, deleted, and invoked on a thread; `invoke_stream` creates the
thread when none is given, and every item it yields carries the thread.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import openai

from .definition import AssistantDefinition, ToolResources
from .errors import ProviderError
from .events import AgentResponseItem
from .threads import AgentThread


class Agent(ABC):
    thread_class: type[AgentThread]
    # Whether the provider keeps the definition (and gives it an id), or the site does.
    stores_definition: bool = True
    # Whether the protocol has the provider's own tools (file_search, code_interpreter).
    provider_tools: bool = True

    # Where the thread can live, by thread mode ("" is the protocol's one way); see
    # `thread_classes`, which only `responses` has more than one of.
    thread_classes: dict[str, type[AgentThread]] = {}

    def __init__(
        self, *, client: openai.AsyncOpenAI, definition: AssistantDefinition, thread_mode: str = ""
    ):
        self.client = client
        self.definition = definition
        self.thread_mode = thread_mode or next(iter(self.thread_classes), "")
        if self.thread_classes:
            try:
                self.thread_class = self.thread_classes[self.thread_mode]
            except KeyError:
                raise ProviderError(
                    f"The {thread_mode!r} thread is not available for this protocol.",
                    code="config",
                ) from None

    @classmethod
    def file_search_on_site(cls, thread_mode: str = "") -> bool:
        """Whether file search runs on this site (chat.agents.tool_calls) rather than on
        the provider: where the protocol, in this thread mode, has no vector stores."""
        return not cls.provider_tools

    @classmethod
    def check_definition(cls, definition: AssistantDefinition) -> None:
        """Raises ProviderError (code "invalid") for a definition this protocol cannot
        serve, before anything is saved; every protocol serves every definition by default."""
        return None

    @property
    def id(self) -> str:
        return self.definition.remote_id

    @classmethod
    @abstractmethod
    async def create(
        cls, *, client: openai.AsyncOpenAI, definition: AssistantDefinition
    ) -> "Agent":
        """Stores the definition on the provider (where the protocol keeps it there)."""

    @classmethod
    @abstractmethod
    async def retrieve(cls, *, client: openai.AsyncOpenAI, remote_id: str) -> "Agent": ...

    @abstractmethod
    async def update(self, definition: AssistantDefinition) -> None: ...

    @abstractmethod
    async def delete(self) -> None: ...

    def thread(self, thread_id: str | None = None, *, history=()) -> AgentThread:
        """The thread of that id; a site-held thread takes its earlier messages instead."""
        if self.thread_class.site_held:
            return self.thread_class(self.client, history=history)
        return self.thread_class(self.client, thread_id)

    @abstractmethod
    def invoke_stream(
        self,
        messages: str | list[str],
        thread: AgentThread | None = None,
        *,
        resources: ToolResources | None = None,
    ) -> AsyncIterator[AgentResponseItem]:
        """Adds the user messages to the thread and streams the reply as normalised events.

        `resources` are the turn's files for the provider tools (the conversation's vector
        stores, the code interpreter's input files), beyond the assistant's knowledge.

        Ends with exactly one terminal event (Completed, Cancelled, Incomplete or Failed);
        a failure before the reply starts raises ProviderError instead.
        """

    @abstractmethod
    async def cancel(self, *, thread: AgentThread, run_id: str) -> None: ...


class SiteDefinedAgent(Agent):
    """An agent whose definition lives on this site and is sent with every request
    (`responses`, `chat_completions`): nothing remote to create, retrieve, update or delete."""

    stores_definition = False
    protocol: str  # its name, for the refusal of a retrieve

    @classmethod
    async def create(cls, *, client, definition):
        cls.check_definition(definition)
        return cls(client=client, definition=definition)

    @classmethod
    async def retrieve(cls, *, client, remote_id):
        raise ProviderError(
            f"The {cls.protocol!r} protocol keeps an assistant's definition on this site, so "
            "there is no remote assistant to retrieve by id. Create the assistant here instead.",
            code="unsupported",
        )

    async def update(self, definition):
        self.check_definition(definition)
        self.definition = definition

    async def delete(self):
        pass  # Nothing is stored remotely.
