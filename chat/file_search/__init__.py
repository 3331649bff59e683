"""File search run by the site, where the assistant's server has no vector stores (every
Chat Completions server, stateless Responses): an index of each attachment and knowledge
file built once (`index`), searched per question over one conversation's files (`search`).
The agent layer offers it to the model as the `file_search` function
(chat.agents.tool_calls). Elsewhere the provider searches its own vector stores.
"""

from chat.agents import agent_class
from chat.models import Assistant


def file_search_on_site(assistant: Assistant) -> bool:
    """Whether this assistant's file search runs here rather than on its provider."""
    return agent_class(assistant.protocol).file_search_on_site(assistant.thread_mode)
