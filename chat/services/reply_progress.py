"""Progress saves of streaming replies, batched per process.

A streaming reply is written to the database every CHAT_REPLY_SAVE_INTERVAL, so that a
process that dies loses little of it. One UPDATE per reply per interval, each a trip to the
one thread that all sync database work shares, was the largest cost the app added to a
stream (docs/performance.md); here every reply streaming in this event loop is written in
one transaction per interval instead.
"""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from chat.models import Message

logger = logging.getLogger(__name__)


@database_sync_to_async
def _write(contents: dict[int, str]) -> None:
    # One prepared UPDATE run for every reply: the ORM's bulk_update builds a CASE expression
    # per row and compiled a few hundred rows slower than the single updates it replaced.
    using = router.db_for_write(Message)
    connection = connections[using]
    quote, meta = connection.ops.quote_name, Message._meta
    columns = [quote(meta.get_field(name).column) for name in ("content", "updated_at")]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {columns[0]} = %s, {columns[1]} = %s "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(sql, [(content, now, pk) for pk, content in contents.items()])


class ReplyProgress:
    """The latest text of each streaming reply, written together every interval."""

    def __init__(self):
        self.pending: dict[int, str] = {}
        self.writing: asyncio.Task | None = None
        self.written: set[int] = set()  # the replies in the write under way
        self.loop_task: asyncio.Task | None = None
        self.saved_at: dict[int, float] = {}  # event-loop time of each reply's last save

    def note(self, reply_id: int, content: str) -> None:
        """Records the reply's text so far; cheap enough to call on every delta."""
        self.pending[reply_id] = content
        if self.loop_task is None or self.loop_task.done():
            self.loop_task = asyncio.create_task(self._flush_periodically())

    async def forget(self, reply_id: int) -> None:
        """Stops saving the reply, and waits for a write of it under way: the final save that
        follows must not be overwritten by an older text."""
        self.pending.pop(reply_id, None)
        self.saved_at.pop(reply_id, None)
        if self.writing is not None and reply_id in self.written:
            await asyncio.wait([self.writing])

    def saved_within(self, reply_id: int, seconds: float) -> bool:
        """Whether the reply's text was written in the last `seconds` (it is alive)."""
        saved = self.saved_at.get(reply_id)
        return saved is not None and asyncio.get_running_loop().time() - saved < seconds

    async def _flush_periodically(self) -> None:
        while self.pending:
            await asyncio.sleep(settings.CHAT_REPLY_SAVE_INTERVAL)
            contents, self.pending = self.pending, {}
            if not contents:
                continue
            self.written = set(contents)
            self.writing = asyncio.create_task(_write(contents))
            try:
                await self.writing
                now = asyncio.get_running_loop().time()
                self.saved_at.update(dict.fromkeys(self.written, now))
            except Exception:
                # The final save of each reply still writes everything; streaming goes on.
                logger.exception("Could not save the progress of %d replies", len(contents))
            finally:
                self.writing, self.written = None, set()


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReplyProgress]" = (
    weakref.WeakKeyDictionary()
)


def reply_progress() -> ReplyProgress:
    """The progress saver of the running event loop (Daphne has one)."""
    loop = asyncio.get_running_loop()
    progress = _by_loop.get(loop)
    if progress is None:
        progress = _by_loop[loop] = ReplyProgress()
    return progress
