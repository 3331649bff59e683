"""Token usage of one reply, as the provider reports it, summed over its provider calls.

A reply with tool rounds makes several calls (responses, completions); a run of the
Assistants API reports its whole usage at once. The names are the Responses API's
(`input_tokens`, `output_tokens`); Chat Completions and runs say `prompt_tokens` and
`completion_tokens`.
"""


def _count(usage, *names) -> int | None:
    for name in names:
        value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
        if isinstance(value, int):
            return value
    return None


class ReplyUsage:
    def __init__(self):
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.model = ""

    def add(self, usage, *, model: str | None = None) -> None:
        if model:
            self.model = model
        if not usage:
            return
        for field, names in (
            ("input_tokens", ("input_tokens", "prompt_tokens")),
            ("output_tokens", ("output_tokens", "completion_tokens")),
        ):
            count = _count(usage, *names)
            if count is not None:
                setattr(self, field, (getattr(self, field) or 0) + count)

    def as_dict(self) -> dict:
        """{"input_tokens", "output_tokens"} where reported; {} when nothing was."""
        return {
            name: value
            for name in ("input_tokens", "output_tokens")
            if (value := getattr(self, name)) is not None
        }
