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
    """A tool call; `output` is None until the tool has answered."""

    id: str
    name: str
    arguments: str
    output: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "output": self.output,
        }


@dataclass(frozen=True, slots=True)
class Completed:
    message_id: str = ""
    usage: dict = field(default_factory=dict)


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


StreamEvent = RunStarted | TextDelta | ToolStep | Completed | Cancelled | Incomplete | Failed
TERMINAL_EVENTS = (Completed, Cancelled, Incomplete, Failed)


@dataclass(frozen=True, slots=True)
class AgentResponseItem:
    """One streamed event and the thread it happened on (a new thread when none was given)."""

    event: StreamEvent
    thread: "AgentThread"
