"""Releases answered at fixed times: the timing channel closed at the service's edge.

How long a release takes depends on the private data, and no noise covers that time: the
engine's pass reads and groups the rows that pass the filter, and the exponential mechanism
(quantiles) samples by rejection, its number of rounds following the utilities (measured: a
median of 1.8 ms with all candidates' utilities equal against 3.0 ms with one far ahead, over
100 candidates). An analyst who times the answers can learn from the time what the noise hides
(Haeberlen, Pierce & Narayan 2011, "Differential privacy under fire", USENIX Security, whose
Fuzz answers every query at a fixed time).

With a floor ``T`` (``release_seconds: T`` in the service's config) every response
to ``POST /api/v1/query`` leaves ``T`` seconds after the request arrived, whatever happened
inside: a release, a refusal, a failure after the charge. A request that takes longer than
``T`` leaves at the first of ``2T, 4T, 8T, ...`` that has not passed, so its time says only
which power of two it fell in — about ``log2(time / T)`` bits, and only for the slow ones
(choose ``T`` above the releases' 99th percentile: the service logs each overrun). Fuzz
instead aborts a slow query and answers a default value; ethica never answers a value that
was not released, so it rounds the time up instead.

What the floor does not hide: anything measured on the server itself (CPU load seen by
another tenant) and the time of the requests that are not releases (they read no private
data: plans, metadata, history).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

__all__ = ["RELEASE_PATH", "ReleaseTimingMiddleware", "release_deadline"]

RELEASE_PATH = "/api/v1/query"
"""The one endpoint whose work reads private data."""

_log = logging.getLogger("ethica.service.timing")


def release_deadline(elapsed: float, floor: float) -> float:
    """When a response that was ready after ``elapsed`` seconds leaves: ``floor * 2**k`` for
    the smallest ``k >= 0`` with ``floor * 2**k >= elapsed``.

    >>> release_deadline(0.1, 0.5), release_deadline(0.7, 0.5), release_deadline(1.01, 0.5)
    (0.5, 1.0, 2.0)
    """
    if not floor > 0 or not math.isfinite(floor):
        raise ValueError(f"floor must be a positive number of seconds, got {floor!r}")
    if elapsed <= floor:
        return floor
    return floor * 2.0 ** math.ceil(math.log2(elapsed / floor))


class ReleaseTimingMiddleware(BaseHTTPMiddleware):
    """Hold every answer of the route :data:`RELEASE_PATH` until :func:`release_deadline`.

    The route is recognised by the path it was declared with (``scope["route"]``, set by the
    router), so the floor holds under a mount or a proxy's root path too; an error that no
    handler answered is held as well before it becomes the server's 500. When the answer has
    left, ``request.state.on_leave()`` runs if the route set it (the service stops hiding the
    release's record: :mod:`ethica.service._held`).
    """

    def __init__(self, app: ASGIApp, floor: float) -> None:
        release_deadline(0.0, floor)  # refuses a bad floor when the app is built
        super().__init__(app)
        self.floor = floor

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.monotonic()
        try:
            try:
                response = await call_next(request)
            except Exception:
                if _is_release(request):
                    await self._hold(start)
                raise
            if _is_release(request):
                await self._hold(start)
            return response
        finally:  # the answer has left (or the client is gone): the route's hook, if any
            on_leave = getattr(request.state, "on_leave", None)
            if on_leave is not None:
                on_leave()

    async def _hold(self, start: float) -> None:
        elapsed = time.monotonic() - start
        deadline = release_deadline(elapsed, self.floor)
        if deadline > self.floor:
            _log.warning(
                "a release took %.3f s, over the timing floor of %.3f s: answered at %.3f s "
                "(raise release_seconds in the service config above the slowest releases)",
                elapsed,
                self.floor,
                deadline,
            )
        await asyncio.sleep(deadline - (time.monotonic() - start))


def _is_release(request: Request) -> bool:
    """Whether the router matched the release route (whatever prefix it is mounted under)."""
    return getattr(request.scope.get("route"), "path", None) == RELEASE_PATH
