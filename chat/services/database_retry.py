"""Database writes that must outlive a short PostgreSQL outage (a restart, a failover).

A streaming reply's saves run in a task that outlives any request: when the database drops
its connections, the write is tried again on a fresh connection (the pool checks the ones
it hands out) until CHAT_DATABASE_RETRY_SECONDS have passed, instead of leaving the reply
"streaming" for nobody.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
T = TypeVar("T")


async def adatabase_retrying(call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Awaits `call()`, again after each database error, for CHAT_DATABASE_RETRY_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CHAT_DATABASE_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            return await call()
        except DATABASE_ERRORS as error:
            if loop.time() + pause > deadline:
                raise
            logger.warning("Could not %s (%s); trying again", what, error)
        # The async ORM's thread keeps its broken connection until told to drop it.
        await sync_to_async(close_old_connections)()
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
