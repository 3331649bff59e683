"""The agent layer: one interface, one class per protocol, one client per provider."""

from .assistants import OpenAIAssistantAgent
from .base import Agent
from .chat_completions import ChatCompletionAgent
from .clients import client_for
from .definition import AssistantDefinition, ToolResources
from .errors import ProviderError
from .responses import OpenAIResponsesAgent

PROTOCOLS: dict[str, type[Agent]] = {
    "assistants": OpenAIAssistantAgent,
    "responses": OpenAIResponsesAgent,
    "chat_completions": ChatCompletionAgent,
}


def agent_class(protocol: str) -> type[Agent]:
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        raise ProviderError(
            f"The {protocol!r} protocol is not available on this site.", code="config"
        ) from None


__all__ = [
    "Agent",
    "AssistantDefinition",
    "ProviderError",
    "ToolResources",
    "agent_class",
    "client_for",
]
