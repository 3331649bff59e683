"""Agent threads: where a conversation's state lives on the provider."""

from abc import ABC, abstractmethod

import openai

from .errors import provider_errors


class AgentThread(ABC):
    """A remote conversation state, known by id; `None` id until created."""

    def __init__(self, client: openai.AsyncOpenAI, thread_id: str | None = None):
        self.client = client
        self.id = thread_id

    @abstractmethod
    async def create(self) -> str: ...

    @abstractmethod
    async def _delete_remote(self) -> None: ...

    async def delete(self) -> None:
        """Deletes the remote thread; one that is already gone counts as deleted."""
        if self.id is None:
            return
        async with provider_errors(ignore=(openai.NotFoundError,)):
            await self._delete_remote()
        self.id = None


class AssistantAgentThread(AgentThread):
    """An Assistants API v2 thread (like Semantic Kernel's `AssistantAgentThread`)."""

    async def create(self) -> str:
        async with provider_errors():
            thread = await self.client.beta.threads.create()
        self.id = thread.id
        return thread.id

    async def _delete_remote(self) -> None:
        await self.client.beta.threads.delete(self.id)


class ConversationThread(AgentThread):
    """A Conversations API conversation: the thread of the `responses` protocol.

    Responses created with `conversation=<id>` read its items as context and append their
    input and output to it, as runs do to an Assistants thread.
    """

    async def create(self) -> str:
        async with provider_errors():
            conversation = await self.client.conversations.create()
        self.id = conversation.id
        return conversation.id

    async def _delete_remote(self) -> None:
        await self.client.conversations.delete(self.id)
