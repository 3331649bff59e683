"""Per-user frame rate limit, in the cache (Redis when configured: shared by all processes).

The limit fails open: while the cache is unreachable (Redis restarting) frames are not
counted, rather than every frame failing. After a failure the cache is left alone for
CACHE_RETRY_AFTER seconds, so a Redis that is down costs no frame a connection attempt.

Django's async cache methods run its sync ones in the one thread where the database's calls
queue too: a frame waited there behind every turn's writes, twice (add, then incr). The
in-process cache (a dict under a lock) is counted on the event loop instead; Redis in one
trip to a thread of the default executor, away from the database's.
"""

import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

CACHE_RETRY_AFTER = 1.0
_cache_failed_at = float("-inf")


async def frame_rate_retry_after(*, user_id: int) -> float | None:
    """Counts one frame; returns seconds to wait when the user is over the limit, else None."""
    global _cache_failed_at
    if time.monotonic() - _cache_failed_at < CACHE_RETRY_AFTER:
        return None
    try:
        if isinstance(caches["default"], LocMemCache):
            count, retry_after = _count(user_id)
        else:
            count, retry_after = await _count_in_thread(user_id)
    except Exception as error:
        if time.monotonic() - _cache_failed_at > 60:
            logger.warning("Rate limit not counted, the cache is unreachable: %s", error)
        _cache_failed_at = time.monotonic()
        return None
    if count > settings.CHAT_RATE_LIMIT_FRAMES:
        return retry_after
    return None


def _count(user_id: int) -> tuple[int, float]:
    window = settings.CHAT_RATE_LIMIT_WINDOW
    now = time.time()
    bucket = int(now // window)
    key = f"chat-frames:{user_id}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls: a new window has begun
            cache.set(key, 1, timeout=window + 1)
            count = 1
    return count, round((bucket + 1) * window - now, 2)


_count_in_thread = sync_to_async(_count, thread_sensitive=False)
