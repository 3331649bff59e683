"""Normalised stream events: what every protocol's stream is reduced to.

The turn service only ever sees these, whichever provider and protocol produced them.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .threads import AgentThread


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolStep:
    """A tool call; `output` is None until the tool has answered.

    `type` is "function" (a chat.tools function the site runs), "file_search" or
    "code_interpreter" (tools the provider runs), or "context": no tool, the note that
    older messages were left out of what was sent (details {"omitted", "budget"}).
    `details` holds what the transcript shows of a provider tool: file_search {"queries",
    "results": [{file_id, filename, score, text}]}; code_interpreter {"code", "logs",
    "status"}.
    """

    id: str
    name: str
    arguments: str
    output: str | None = None
    type: str = "function"
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "arguments": self.arguments,
            "output": self.output,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of the reply; the text refers to it as `[number]`.

    Emitted before the TextDelta that carries the marker, so a client never shows a
    marker it cannot resolve.
    """

    number: int
    file_id: str
    filename: str
    quote: str = ""

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "file_id": self.file_id,
            "filename": self.filename,
            "quote": self.quote,
        }


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file a provider tool produced (code interpreter); `container_id` is set for a
    Responses API container file, which is addressed within its container."""

    file_id: str
    filename: str
    container_id: str = ""


@dataclass(frozen=True, slots=True)
class Completed:
    """`usage`: {"input_tokens", "output_tokens"} of the whole reply, where the provider
    reported them (chat.agents.usage); `model`: the model that answered, as it said."""

    message_id: str = ""
    usage: dict = field(default_factory=dict)
    model: str = ""


@dataclass(frozen=True, slots=True)
class Cancelled:
    pass


@dataclass(frozen=True, slots=True)
class Incomplete:
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    code: str = "provider_error"


StreamEvent = (
    RunStarted
    | TextDelta
    | ToolStep
    | Citation
    | OutputFile
    | Completed
    | Cancelled
    | Incomplete
    | Failed
)


@dataclass(frozen=True, slots=True)
class AgentResponseItem:
    """One streamed event and the thread it happened on (a new thread when none was given)."""

    event: StreamEvent
    thread: "AgentThread"
