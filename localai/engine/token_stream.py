"""The token streaming loop that both protocols share: pacing, stamps, faults and cancels.

A run streams its tokens as `thread.message.delta` events, a response as
`response.output_text.delta` events; what a token is, when it is sent, and why the stream
stops early are the same for both, so they live here once; so does pairing each token
with the annotation it carries (a citation, a file link).
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

from django.conf import settings

from localai.engine.faults import stream_fault
from localai.engine.model import Directives, stamped

# The annotation a token carries, given its index in the reply and where it starts and ends
# in the text streamed; None for most tokens. Each protocol anchors its annotations
# differently (an Assistants citation spans its marker, a Responses one points after the
# passage), so the callable gets both ends.
Annotate = Callable[[int, int, int], dict | None]
Entry = TypeVar("Entry")

# A cancel is noticed within this many seconds; checking per token would hammer the database.
CANCEL_CHECK_INTERVAL = 0.1


class TokenStream:
    """Yields the model's tokens one by one, at the model's pace.

    Iterate it once. Afterwards `outcome` says why it stopped: "completed", "cancelled"
    (`cancel_requested` answered true), or the stream fault's outcome ("cut", "failed",
    "expired"); `streamed` holds what was sent, stamps included.
    """

    def __init__(
        self,
        tokens: list[str],
        directives: Directives,
        *,
        cancel_requested: Callable[[], Awaitable[bool]],
    ):
        self.tokens = tokens
        self.directives = directives
        self.cancel_requested = cancel_requested
        self.fault = stream_fault(directives, len(tokens))
        delay = directives.delay
        self.delay = settings.LOCAL_PROVIDER_TOKEN_DELAY if delay is None else delay
        self.streamed: list[str] = []
        self.outcome = ""

    @property
    def text(self) -> str:
        return "".join(self.streamed)

    @property
    def error(self) -> str:
        return self.fault.error if self.fault else ""

    async def __aiter__(self) -> AsyncIterator[str]:
        fault = self.fault
        last_check = time.monotonic()
        for token in self.tokens:
            if fault and len(self.streamed) >= fault.after_tokens:
                break
            if time.monotonic() - last_check >= CANCEL_CHECK_INTERVAL:
                last_check = time.monotonic()
                if await self.cancel_requested():
                    self.outcome = "cancelled"
                    return
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.directives.stamp:
                token = stamped(token, time.time())
            self.streamed.append(token)
            yield token
        self.outcome = fault.outcome if fault else "completed"


def annotate_tokens(
    entries: Mapping[int, Entry], annotation: Callable[[Entry, int, int], dict]
) -> Annotate:
    """Annotates the tokens `entries` names by index (a cited passage, a file link) with
    `annotation(entry, start, end)`."""

    def annotate(index: int, start: int, end: int) -> dict | None:
        entry = entries.get(index)
        return None if entry is None else annotation(entry, start, end)

    return annotate


async def annotated(
    stream: TokenStream, annotate: Annotate | None
) -> AsyncIterator[tuple[str, dict | None]]:
    """The stream's tokens, each with its annotation (None without `annotate`)."""
    end = 0
    async for token in stream:
        start, end = end, end + len(token)
        yield token, annotate(len(stream.streamed) - 1, start, end) if annotate else None
