"""What the deterministic model does with the code interpreter. Pure, like model.py.

The model runs the FIRST fenced code block of the user's message (```python, ```py or a
bare ```) when the code interpreter is offered (function `call` lines come first), then
replies with a summary of the run: its output in a fenced block, and a markdown link
`[name](sandbox:/mnt/data/name)` per produced file. The `sandbox:/mnt/data/name` part of each
link is one streamed token, which carries the file's annotation (`file_path` in the
Assistants API, `container_file_citation` in the Responses API).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from localai.engine.model import parse_directives, tokenize

CODE_CLOSING_SENTENCE = (
    "This reply comes from the built-in local model, which is not an LLM: it ran the code "
    "in your message in a local sandbox so that the code interpreter works offline."
)
SANDBOX_PREFIX = "sandbox:/mnt/data/"
CODE_LANGUAGES = ("", "python", "py")

_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,})[ \t]*(?P<info>[^`\n]*)\n(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def offers_code_interpreter(tools: Iterable[dict]) -> bool:
    return any(isinstance(tool, dict) and tool.get("type") == "code_interpreter" for tool in tools)


def code_block(text: str) -> str | None:
    """The code of the first fenced Python (or bare) block of a message, directives removed."""
    clean, _ = parse_directives(text)
    for match in _FENCE.finditer(clean):
        language = match["info"].strip().split(" ")[0].lower()
        if language in CODE_LANGUAGES:
            return match["body"].rstrip("\n")
    return None


def code_to_run(*, tool_choice: object, tools: list[dict], input_text: str) -> str | None:
    """The code a run or a response runs: its message's block, when the code interpreter is
    offered and `tool_choice` allows tools."""
    if tool_choice == "none" or not offers_code_interpreter(tools):
        return None
    return code_block(input_text)


@dataclass(frozen=True)
class ProducedFile:
    name: str
    is_image: bool


@dataclass(frozen=True)
class LinkToken:
    """The token of a reply that is a file's `sandbox:/mnt/data/name` link target."""

    token_index: int
    start_index: int
    end_index: int
    name: str


@dataclass(frozen=True)
class CodeReply:
    tokens: list[str]
    links: list[LinkToken]

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def links_by_token(self) -> dict[int, LinkToken]:
        return {link.token_index: link for link in self.links}


def _fenced(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def code_reply(
    *, logs: str, failed: bool, files: Sequence[ProducedFile], sandbox_error: str = ""
) -> CodeReply:
    """The reply after a run: `logs` as the sandbox returned them (limit lines included),
    `failed` when the code did not end well, `sandbox_error` when it could not run at all."""
    if sandbox_error:
        head = f"The sandbox could not run your code: {sandbox_error}"
    elif failed:
        head = "I ran your code in the sandbox; it did not finish cleanly."
    else:
        head = "I ran your code in the sandbox."
    parts: list[tuple[str, str | None]] = [(head, None)]
    if not sandbox_error:
        output = logs.rstrip("\n")
        if output:
            parts.append((f"\n\n**Output:**\n\n{_fenced(output)}", None))
        else:
            parts.append(("\n\nIt printed nothing.", None))
    if files:
        parts.append(("\n\n**Files:**\n", None))
        for file in files:
            parts.append((f"\n- [{file.name}](", None))
            parts.append((f"{SANDBOX_PREFIX}{file.name}", file.name))
            parts.append((")", None))
    parts.append((f"\n\n{CODE_CLOSING_SENTENCE}", None))

    tokens: list[str] = []
    links: list[LinkToken] = []
    offset = 0
    for text, link in parts:
        pieces = [text] if link is not None else tokenize(text)
        for piece in pieces:
            if link is not None:
                links.append(LinkToken(len(tokens), offset, offset + len(piece), link))
            tokens.append(piece)
            offset += len(piece)
    return CodeReply(tokens=tokens, links=links)


def code_pieces(code: str) -> list[str]:
    """The code as streamed, in pieces that join back into it."""
    return tokenize(code) or [code]
