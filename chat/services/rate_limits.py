"""Per-user frame rate limit, in the cache (Redis when configured: shared by all processes)."""

import time

from django.conf import settings
from django.core.cache import cache


async def frame_rate_retry_after(*, user_id: int) -> float | None:
    """Counts one frame; returns seconds to wait when the user is over the limit, else None."""
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
    if count > settings.CHAT_RATE_LIMIT_FRAMES:
        return round((bucket + 1) * window - now, 2)
    return None
