"""Per-principal rate limits: a token bucket for each analyst or custodian.

A principal allowed ``r`` requests per minute holds a bucket of ``r`` tokens, refilled at
``r / 60`` tokens a second (Turner's token bucket, as in RFC 2697's single-rate meter); each
request takes one token, and a request finding the bucket empty is refused with HTTP 429 and
``Retry-After``: the whole seconds until a token is back. The bucket is per principal, not per
key, so an analyst holding several keys shares one allowance.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token buckets keyed by principal.

    Parameters
    ----------
    limit
        Requests per minute allowed to a principal (``None``: no limit).
    clock
        Seconds on a monotonic clock (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        limit: Callable[[str], float | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)

    def acquire(self, name: str) -> float | None:
        """Take a token for ``name``: ``None`` if allowed, else the seconds to wait."""
        per_minute = self._limit(name)
        if per_minute is None:
            return None
        rate = per_minute / 60.0
        capacity = max(per_minute, 1.0)
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(name, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return None
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> int:
        """``wait`` as the whole seconds of a ``Retry-After`` header (at least 1)."""
        return max(1, math.ceil(wait))
