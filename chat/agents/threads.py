"""Agent threads: where a conversation's state lives on the provider."""

from abc import ABC, abstractmethod

import openai

from .errors import provider_errors


class AgentThread(ABC):
    """A remote conversation state, known by id; `None` id until created."""

    # Whether the site holds the thread (its `history`) rather than the provider.
    site_held = False

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


class ResponseChainThread(AgentThread):
    """A chain of stored responses (Semantic Kernel's `ResponsesAgentThread`): the id is the
    chain's head, the last response; the next one is created with `previous_response_id`.

    The chain is created by its first response, so `create` has nothing to do. Deleting it
    deletes its responses, newest first, following `previous_response_id`.
    """

    MAX_DELETED = 1000  # a bound, should a server ever answer a chain that loops

    async def create(self) -> str | None:
        return self.id

    async def _delete_remote(self) -> None:
        response_id = self.id
        for _ in range(self.MAX_DELETED):
            try:
                response = await self.client.responses.retrieve(response_id)
            except openai.NotFoundError:
                return
            await self.client.responses.delete(response_id)
            response_id = response.previous_response_id
            if not response_id:
                return


class ChatHistoryAgentThread(AgentThread):
    """A thread held by this site (Semantic Kernel's `ChatHistoryAgentThread`): the earlier
    messages, sent with each turn; nothing lives on the provider, so the id stays None."""

    site_held = True

    def __init__(self, client: openai.AsyncOpenAI, thread_id: str | None = None, *, history=()):
        super().__init__(client, None)
        self.history = list(history)

    async def create(self) -> None:
        return None

    async def _delete_remote(self) -> None:
        pass
