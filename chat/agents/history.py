"""The transcript a site-held thread sends: the newest messages that fit the budget.

Chat Completions and stateless Responses keep no history on the provider, so every turn
sends the conversation again (Semantic Kernel's `ChatHistoryAgentThread`). The context
budget bounds it, in tokens estimated as characters / 4 (rounded up) plus a few tokens per
message for its role and framing: no tokenizer is shared by every server, and the estimate
errs on the generous side for English. The instructions and the new messages are always
sent; older messages go, oldest first, once the next one would not fit.
"""

from dataclasses import dataclass

from .events import ToolStep

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
CONTEXT_STEP_ID = "context"


@dataclass(frozen=True)
class HistoryMessage:
    role: str  # "user" or "assistant"
    content: str


def estimated_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE


def history_within(
    history: list[HistoryMessage], *, instructions: str, new_texts: list[str], budget: int
) -> tuple[list[HistoryMessage], int]:
    """The newest messages of `history` that fit, in order, and how many were left out."""
    spent = (estimated_tokens(instructions) if instructions else 0) + sum(
        estimated_tokens(text) for text in new_texts
    )
    kept = 0
    for message in reversed(history):
        spent += estimated_tokens(message.content)
        if spent > budget:
            break
        kept += 1
    start = len(history) - kept
    return history[start:], start


def context_step(omitted: int, budget: int) -> ToolStep:
    """The reply's note that older messages were not sent."""
    noun = "message was" if omitted == 1 else "messages were"
    return ToolStep(
        CONTEXT_STEP_ID,
        "context",
        "",
        f"{omitted} older {noun} left out to fit the assistant's context budget of "
        f"{budget:,} tokens.",
        type="context",
        details={"omitted": omitted, "budget": budget},
    )
