"""Two caps on every charge: the dataset's total and the analyst's grant on it.

The dataset's total is the ledger's own (:meth:`Ledger.record_charge` checks it under
SQLite's write lock). The analyst's cap is checked by :class:`AnalystLedger`, a ledger whose
charges carry the analyst as principal (``service:<name>``): under one guard (a lock shared
by every analyst ledger on the same file in this process, and an exclusive ``flock`` on
``<ledger>.service.lock`` across processes) it sums the analyst's charges on the dataset,
refuses a charge beyond the cap, and only then lets the ledger check the dataset's total and
record the charge. Every service charge passes the guard, so the analyst's spent total cannot
change between its check and its charge; the dataset's total holds against any writer.
Both caps hold componentwise; nothing is refunded (a failed release stays spent).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ethica._exceptions import BudgetExceededError, LedgerError
from ethica.privacy.budget._budgets import Budget, zero_like
from ethica.privacy.budget._ledger import ChargeRecord, Ledger

__all__ = ["AnalystLedger", "principal_name"]

_GUARDS: dict[Path, threading.Lock] = {}
_GUARDS_LOCK = threading.Lock()


def principal_name(analyst: str) -> str:
    """The ledger principal of an analyst's charges."""
    return f"service:{analyst}"


def _thread_guard(path: Path) -> threading.Lock:
    with _GUARDS_LOCK:
        return _GUARDS.setdefault(path.resolve(), threading.Lock())


class AnalystLedger(Ledger):
    """A ledger whose charges are an analyst's, within per-dataset caps (module docstring).

    Parameters
    ----------
    path
        The ledger file.
    analyst
        The analyst's name; charges are recorded with principal ``service:<analyst>``.
    caps
        The analyst's budget on each granted dataset.
    """

    def __init__(self, path: str | Path, *, analyst: str, caps: Mapping[str, Budget]) -> None:
        super().__init__(path, principal=principal_name(analyst))
        self.analyst = analyst
        self.caps = dict(caps)
        self._guard_path = Path(f"{self.path}.service.lock")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with _thread_guard(self.path), open(self._guard_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def spent_by_analyst(self, dataset: str) -> Budget:
        """Exact sum of this analyst's charges on ``dataset`` (any status)."""
        return self.spent(dataset, principal=self.principal)

    def remaining_for_analyst(self, dataset: str) -> Budget:
        """What this analyst may still spend on ``dataset``: the smaller of the cap's
        remainder and the dataset's remainder, componentwise."""
        cap, spent = self.caps[dataset], self.spent_by_analyst(dataset)
        cap_left = cap - spent if spent <= cap else zero_like(cap)
        left = self.status(dataset).remaining
        return cap_left.minimum(left)

    def record_charge(
        self,
        dataset: str,
        cost: Budget,
        description: str,
        *,
        principal: str | None = None,
        request_id: str | None = None,
        fingerprint: str | None = None,
    ) -> ChargeRecord:
        """Check the analyst's cap, then charge the dataset (its total checked atomically)."""
        cap = self.caps.get(dataset)
        if cap is None:
            raise LedgerError(f"analyst {self.analyst!r} holds no budget on {dataset!r}.")
        with self._guard():
            if request_id is None or self.find_request(dataset, request_id) is None:
                spent = self.spent_by_analyst(dataset)
                if not spent + cost <= cap:
                    left = cap - spent if spent <= cap else zero_like(cap)
                    raise BudgetExceededError(
                        f"{description!r} asks for {cost} but analyst {self.analyst!r} has only "
                        f"{left} left on {dataset!r} (grant {cap}); nothing was read, released "
                        "or charged.",
                        requested=cost,
                        remaining=left,
                    )
            return super().record_charge(
                dataset,
                cost,
                description,
                principal=self.principal,
                request_id=request_id,
                fingerprint=fingerprint,
            )
