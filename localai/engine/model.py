"""The local provider's deterministic model. It is not an LLM.

The reply is a pure function of the last user message (and, after a tool call, of the tool
outputs), so a test can compute exactly what a run will stream. In-message directives such
as ``[[delay:0.2]]`` or ``[[fail:429]]`` are test hooks; they are stripped from the echo.
``[[history]]`` makes the reply also quote the earlier user messages of the conversation,
so that a test can see that the model was given the history (every protocol passes it).
See docs/local-provider.md.

``[[stamp]]`` is the benchmark's hook (bench/): every streamed token is followed by a marker
``⟨t=<unix time of emission, seconds>⟩`` so a client can measure emission -> receipt latency
per token, through any relay. The stored reply keeps the markers (it is what was streamed);
`strip_stamps` gives back the model's text. Without the directive nothing changes.
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CLOSING_SENTENCE = (
    "This reply comes from the built-in local model, which is not an LLM: "
    "it echoes your message so that the chat works offline."
)
# How many tokens `[[run_fail]]` and `[[expire]]` stream before the run ends.
FAULT_AFTER_TOKENS = 3
MAX_TOKENS = 10_000
MAX_DELAY = 10.0

_DIRECTIVE = re.compile(
    r"[ \t]*\[\[\s*(?P<name>delay|tokens|fail|hang|cut|run_fail|expire|stamp|history)"
    r"\s*(?::\s*(?P<value>[^\]\s]*))?\s*\]\]",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\s*\S+|\s+$")
STAMP = re.compile(r"⟨t=(?P<time>[0-9]+(?:\.[0-9]+)?)⟩")
_TOOL_CALL_LINE = re.compile(
    r"^[ \t]*call[ \t]+(?P<name>[A-Za-z0-9_-]{1,64})[ \t]*(?P<args>\{.*\})?[ \t]*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Directives:
    delay: float | None = None
    tokens: int | None = None
    fail: int | None = None
    hang: bool = False
    cut: int | None = None
    run_fail: bool = False
    expire: bool = False
    stamp: bool = False
    history: bool = False


@dataclass(frozen=True)
class ToolCallRequest:
    name: str
    arguments: str


def _directive_value(name: str, value: str | None) -> tuple[str, object] | None:
    """The parsed value of one directive, or None when its argument is not understood."""
    try:
        if name == "delay" and value:
            delay = float(value)
            return ("delay", min(delay, MAX_DELAY)) if delay >= 0 else None
        if name in ("tokens", "cut") and value:
            count = int(value)
            return (name, min(count, MAX_TOKENS)) if count >= 0 else None
        if name == "fail" and value:
            status = int(value)
            return ("fail", status) if 400 <= status <= 599 else None
    except ValueError:
        return None
    if name in ("hang", "run_fail", "expire", "stamp", "history") and not value:
        return (name, True)
    return None


def parse_directives(text: str) -> tuple[str, Directives]:
    """Splits a message into the text to echo and its directives.

    A directive whose argument is not understood stays in the text, so that the echo shows
    the user that it was ignored.
    """
    found: dict[str, object] = {}

    def strip(match: re.Match) -> str:
        parsed = _directive_value(match["name"].lower(), match["value"])
        if parsed is None:
            return match[0]
        found[parsed[0]] = parsed[1]
        return ""

    clean = _DIRECTIVE.sub(strip, text)
    return clean.strip(), Directives(**found)


def stamped(token: str, emitted_at: float) -> str:
    """A token followed by its emission time (the `[[stamp]]` directive)."""
    return f"{token}⟨t={emitted_at:.6f}⟩"


def strip_stamps(text: str) -> str:
    return STAMP.sub("", text)


def tokenize(text: str) -> list[str]:
    """Word pieces that join back into the text: "Hello world" -> ["Hello", " world"]."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))


def _fit(tokens: list[str], count: int | None) -> list[str]:
    if count is None:
        return tokens
    if count <= len(tokens):
        return tokens[:count]
    return tokens + [f" w{number}" for number in range(1, count - len(tokens) + 1)]


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


HISTORY_INTRO = "**Earlier in this conversation you said:**"
NO_HISTORY = "This is the first message of the conversation."


def history_text(history: Sequence[str]) -> str:
    """What `[[history]]` adds: each earlier user message (directives removed) quoted, oldest
    first, or a sentence saying there was none."""
    earlier = [parse_directives(text)[0] for text in history]
    if not earlier:
        return NO_HISTORY
    quotes = "\n\n".join(_quote(text) if text else "> (an empty message)" for text in earlier)
    return f"{HISTORY_INTRO}\n\n{quotes}"


def reply_text_for(clean_text: str, history: Sequence[str] | None = None) -> str:
    """The reply to a message (directives removed); with `history` (the earlier user
    messages, given when the message asked for `[[history]]`), these quoted after it."""
    if not clean_text:
        said = "You sent an empty message."
    else:
        said = f"**You said:**\n\n{_quote(clean_text)}"
    if history is not None:
        said = f"{said}\n\n{history_text(history)}"
    return f"{said}\n\n{CLOSING_SENTENCE}"


def reply_tokens(text: str, history: Sequence[str] = ()) -> list[str]:
    """The tokens a run streams in reply to the user message `text` (directives included).

    `history` holds the conversation's earlier user messages, oldest first; the reply shows
    them only when `text` carries the `[[history]]` directive."""
    clean, directives = parse_directives(text)
    reply = reply_text_for(clean, history if directives.history else None)
    return _fit(tokenize(reply), directives.tokens)


def reply_text(text: str, history: Sequence[str] = ()) -> str:
    return "".join(reply_tokens(text, history))


def tool_reply_tokens(text: str, outputs: Sequence[tuple[str, str]]) -> list[str]:
    """The tokens a run streams once the outputs of its tool calls are submitted.

    `text` is the user message that asked for the calls; `outputs` are (tool name, output)
    pairs in the order of the calls.
    """
    _, directives = parse_directives(text)
    parts = [
        f"The tool `{name}` returned:\n\n{_quote(output or '(empty)')}" for name, output in outputs
    ]
    reply = "\n\n".join([*parts, CLOSING_SENTENCE])
    return _fit(tokenize(reply), directives.tokens)


def function_names(tools: Iterable[dict]) -> set[str]:
    """The functions offered, in either protocol's shape: the Assistants API nests them
    (`{"type": "function", "function": {"name": ...}}`), the Responses API does not
    (`{"type": "function", "name": ...}`)."""
    names = set()
    for tool in tools:
        if tool.get("type") != "function":
            continue
        function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if isinstance(function.get("name"), str):
            names.add(function["name"])
    return names


def tool_call_requests(text: str, tools: Iterable[dict]) -> list[ToolCallRequest]:
    """The function calls asked for by lines like `call get_weather {"city": "Oslo"}`.

    Only functions the run offers are called; a line whose arguments are not a JSON object
    is ordinary text.
    """
    clean, _ = parse_directives(text)
    available = function_names(tools)
    requests = []
    for match in _TOOL_CALL_LINE.finditer(clean):
        if match["name"] not in available:
            continue
        arguments = match["args"] or "{}"
        try:
            parsed = json.loads(arguments)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            requests.append(ToolCallRequest(name=match["name"], arguments=json.dumps(parsed)))
    return requests


# --- file search ---------------------------------------------------------------------------

FILE_SEARCH_INTRO = "**From your files:**"
FILE_SEARCH_NO_MATCH = "I found nothing relevant to your message in the files I can search."


@dataclass(frozen=True)
class Passage:
    """A passage a file search reply quotes: from which file, and the search result it is
    (its index in the tool call's results, which the Assistants API's marker names)."""

    file_id: str
    filename: str
    quote: str
    result_index: int


@dataclass(frozen=True)
class CitedReply:
    """The tokens of a file search reply, and the passage each citing token belongs to:
    with markers (Assistants API), the marker token `【0:i†filename】`; without (Responses
    API), the last token of the quoted passage, after which the citation's index points."""

    tokens: list[str]
    citations: dict[int, Passage]

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def citation_marker(passage: Passage) -> str:
    # As the real API writes them: 【{tool call}:{search result}†{source}】; a run makes one
    # file search call, the 0th.
    return f"【0:{passage.result_index}†{passage.filename}】"


def file_search_reply(passages: Sequence[Passage], *, markers: bool) -> CitedReply:
    """The reply to a message that file search answered: each passage quoted as a block
    quote (followed by its marker when `markers`), then the closing sentence; or, without
    passages, a sentence saying that nothing relevant was found."""
    if not passages:
        return CitedReply(tokenize(f"{FILE_SEARCH_NO_MATCH}\n\n{CLOSING_SENTENCE}"), {})
    tokens = tokenize(FILE_SEARCH_INTRO)
    citations = {}
    for passage in passages:
        tokens += tokenize(f"\n\n{_quote(passage.quote)}")
        if markers:
            tokens.append(citation_marker(passage))
        citations[len(tokens) - 1] = passage
    tokens += tokenize(f"\n\n{CLOSING_SENTENCE}")
    return CitedReply(tokens, citations)
