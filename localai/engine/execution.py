"""What every execution of the model shares, whichever protocol it speaks.

An execution is an async generator of stream events backed by the database. Two things must
hold whatever happens to the generator: a crash leaves the run or response failed, not in
progress forever; and a client that goes away (the generator is closed or cancelled while
streaming) leaves it cancelled. Both protocols get that from `Execution.events()`.
"""

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

logger = logging.getLogger(__name__)


class Execution:
    """Subclasses implement `_events`, `_crashed` and `_abandoned`, and set `settled`
    once nothing is left to clean up (ended, or waiting for the client's tool outputs)."""

    settled = False

    def describe(self) -> str:
        return type(self).__name__

    async def _events(self) -> AsyncIterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover - makes this an async generator

    async def _crashed(self) -> Any | None:
        """Marks the work failed after a bug; returns the event that says so, if any."""
        raise NotImplementedError

    async def _abandoned(self) -> None:
        """Ends the work as cancelled: the client stopped listening."""
        raise NotImplementedError

    async def events(self) -> AsyncIterator[Any]:
        try:
            # aclosing(): closing this generator must close the inner ones at once.
            async with aclosing(self._events()) as events:
                async for event in events:
                    yield event
        except Exception:
            logger.exception("local provider: %s crashed", self.describe())
            self.settled = True
            event = await self._crashed()
            if event is not None:
                yield event
        finally:
            if not self.settled:
                # This generator is being cancelled or closed. The ending runs in a task of
                # its own that a second cancellation of this one cannot interrupt.
                await asyncio.shield(asyncio.ensure_future(self._abandoned()))


_background: set[asyncio.Task] = set()


def run_in_background(execution: Execution) -> None:
    """Executes work that nobody streams, in this process's event loop."""

    async def drain() -> None:
        async with aclosing(execution.events()) as events:
            async for _ in events:
                pass

    # A fresh context: the task outlives the request, whose thread-sensitive context (used by
    # the async ORM) is torn down when the response has been sent.
    task = asyncio.get_running_loop().create_task(drain(), context=contextvars.Context())
    _background.add(task)
    task.add_done_callback(_background.discard)
