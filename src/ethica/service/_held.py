"""Which analysts have answers held by the timing floor, so nothing shows them early.

With ``release_seconds`` set, a release's answer is held until its deadline
(:mod:`ethica.service._timing`), but the ledger records the outcome the moment the engine is
done. An analyst who polled their own history, or replayed the request id, would see the
status turn ``released`` (and the output) before the held answer left: the release's time
again. While an analyst has a held release, every charge of theirs recorded since the
earliest one's arrival is shown as still ``charged``, without its output, and a replay of it
answers "in progress" (review C, finding 2.1).
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

__all__ = ["HeldReleases"]


class HeldReleases:
    """Arrival times of the releases whose answers have not left yet, per analyst."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, dict[int, datetime]] = {}
        self._tokens = itertools.count()

    def begin(self, analyst: str) -> int:
        """Record that a release of ``analyst`` arrived now; returns its token."""
        token = next(self._tokens)
        with self._lock:
            self._open.setdefault(analyst, {})[token] = datetime.now(UTC)
        return token

    def end(self, analyst: str, token: int) -> None:
        """The answer of ``token`` has left (or the request ended): stop holding it."""
        with self._lock:
            held = self._open.get(analyst, {})
            held.pop(token, None)
            if not held:
                self._open.pop(analyst, None)

    def holds(self, analyst: str) -> bool:
        """Whether ``analyst`` has an answer held right now."""
        with self._lock:
            return analyst in self._open

    def hides(self, analyst: str, created_at: str) -> bool:
        """Whether a charge of ``analyst`` recorded at ``created_at`` (the ledger's ISO time)
        may still belong to a held answer."""
        with self._lock:
            held = self._open.get(analyst)
            earliest = min(held.values()) if held else None
        return earliest is not None and datetime.fromisoformat(created_at) >= earliest
