from dataclasses import dataclass, field


@dataclass(frozen=True)
class AssistantDefinition:
    """What an assistant is, independent of where it is stored (the provider or Django)."""

    name: str
    model: str
    instructions: str = ""
    description: str = ""
    tools: list = field(default_factory=list)
    remote_id: str = ""
