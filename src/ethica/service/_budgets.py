"""Two caps on every charge: the dataset's total and the analyst's grant on it.

The dataset's total is the ledger's own (:meth:`Ledger.record_charge` checks it under
SQLite's write lock). The analyst's cap is checked by :class:`AnalystLedger`, a ledger whose
charges carry the analyst as principal (``service:<name>``), in
:meth:`~ethica.privacy.budget._ledger.Ledger._check_charge`: inside the same write
transaction that checks the dataset's total and inserts the charge, it sums the analyst's
charges on the dataset and refuses a charge beyond the cap. SQLite's write lock
(``BEGIN IMMEDIATE``) serialises every writer of the file, in every thread (each ledger has
its own connection) and every process, so the analyst's spent total cannot change between
its check and the charge: one lock and one transaction for both caps. Both caps hold
componentwise; nothing is refunded (a failed release stays spent).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from ethica._exceptions import BudgetExceededError, LedgerError
from ethica.privacy.budget._budgets import Budget, zero_like
from ethica.privacy.budget._ledger import Ledger

__all__ = ["AnalystLedger", "principal_name"]


def principal_name(analyst: str) -> str:
    """The ledger principal of an analyst's charges."""
    return f"service:{analyst}"


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

    def _check_charge(
        self,
        conn: sqlite3.Connection,
        dataset: str,
        cost: Budget,
        description: str,
        principal: str,
        total: Budget,
    ) -> None:
        """Refuse a charge beyond the analyst's cap on ``dataset`` (under the write lock)."""
        cap = self.caps.get(dataset)
        if cap is None:
            raise LedgerError(f"analyst {self.analyst!r} holds no budget on {dataset!r}.")
        if principal != self.principal:
            raise LedgerError(
                f"analyst {self.analyst!r}'s ledger records charges as {self.principal!r}, not "
                f"{principal!r}: a charge under another name would escape the grant."
            )
        spent = self._spent_in(conn, dataset, total, self.principal)
        if not spent + cost <= cap:
            left = cap - spent if spent <= cap else zero_like(cap)
            raise BudgetExceededError(
                f"{description!r} asks for {cost} but analyst {self.analyst!r} has only "
                f"{left} left on {dataset!r} (grant {cap}); nothing was read, released "
                "or charged.",
                requested=cost,
                remaining=left,
            )
