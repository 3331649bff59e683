"""Per-user frame rate limit, in the cache (Redis when configured: shared by all processes).

The limit fails open: while the cache is unreachable (Redis restarting) frames are not
counted, rather than every frame failing. After a failure the cache is left alone for
CACHE_RETRY_AFTER seconds, so a Redis that is down costs no frame a connection attempt.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CACHE_RETRY_AFTER = 1.0
_cache_failed_at = float("-inf")


async def frame_rate_retry_after(*, user_id: int) -> float | None:
    """Counts one frame; returns seconds to wait when the user is over the limit, else None."""
    global _cache_failed_at
    if time.monotonic() - _cache_failed_at < CACHE_RETRY_AFTER:
        return None
    try:
        count, retry_after = await _count(user_id)
    except Exception as error:
        if time.monotonic() - _cache_failed_at > 60:
            logger.warning("Rate limit not counted, the cache is unreachable: %s", error)
        _cache_failed_at = time.monotonic()
        return None
    if count > settings.CHAT_RATE_LIMIT_FRAMES:
        return retry_after
    return None


async def _count(user_id: int) -> tuple[int, float]:
    window = settings.CHAT_RATE_LIMIT_WINDOW
    now = time.time()
    bucket = int(now // window)
    key = f"chat-frames:{user_id}:{bucket}"
    if await cache.aadd(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = await cache.aincr(key)
        except ValueError:  # expired between the two calls: a new window has begun
            await cache.aset(key, 1, timeout=window + 1)
            count = 1
    return count, round((bucket + 1) * window - now, 2)
