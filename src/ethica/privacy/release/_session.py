"""A release session: one data source, one privacy unit, one budget, optionally a ledger.

:meth:`Session.evaluate` (1) checks the request against the budget that remains in the
session and in the ledger, (2) runs the bounded aggregation in the engine, (3) adds exact
discrete noise in Python, (4) charges the ledger atomically (:meth:`Ledger.record_charge`),
and only then (5) returns the :class:`Release`. A refused charge raises
:class:`BudgetExceededError`: nothing is released and the ledger is unchanged. The total
cost is the sum of the parts' budgets (sequential composition, Dwork et al. 2006).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from ethica._exceptions import BudgetExceededError, InvalidParameterError
from ethica.data import resolve_table
from ethica.privacy.budget._budgets import Budget, zero_like
from ethica.privacy.budget._ledger import Ledger
from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._cells import share
from ethica.privacy.release._evaluate import Part, evaluate_parts
from ethica.privacy.release._queries import Batch, Query
from ethica.privacy.release._release import Release
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = ["Session"]


def _parts(query: Query, budget: Budget) -> list[Part]:
    if not isinstance(query, Batch):
        return [Part(query.describe(), query, budget)]
    weights = [Fraction(w) for w in (query.weights or [1] * len(query.queries))]
    total = sum(weights, Fraction(0))
    names = list(query.names or _unique([q.describe() for q in query.queries]))
    return [
        Part(name, q, share(budget, w / total))
        for name, q, w in zip(names, query.queries, weights, strict=True)
    ]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


class Session:
    """Release differentially private statistics of one source under one total budget.

    Parameters
    ----------
    source
        Anything :func:`ethica.data.resolve_table` accepts (path, frame, ``ibis.Table``...).
    privacy_unit
        ``Rows()`` (or ``"rows"``) or ``UserLevel(column, max_groups_per_user,
        max_rows_per_group, nulls=...)``.
    budget
        The session's total budget (``PureDP``, ``ZCDP`` or ``ApproxDP``); every evaluation
        spends from it, in the same kind.
    ledger
        A :class:`~ethica.privacy.Ledger`; charges are recorded against ``dataset`` (created
        with total ``budget`` if new) before anything is returned.
    dataset
        Name of the data set in the ledger (default: the source path).
    confidence
        Level of the confidence interval on every released value.
    table
        Table name inside a ``.duckdb`` file or behind a URL.
    """

    def __init__(
        self,
        source: object,
        *,
        privacy_unit: PrivacyUnit | str,
        budget: Budget,
        ledger: Ledger | None = None,
        dataset: str | None = None,
        confidence: float = 0.95,
        table: str | None = None,
    ) -> None:
        self.unit = _unit(privacy_unit)
        if not isinstance(budget, Budget):
            raise InvalidParameterError(
                f"budget must be PureDP, ZCDP or ApproxDP, got {budget!r}; e.g. PureDP(1)."
            )
        self.budget = budget
        self.confidence = check_confidence(confidence)
        self.source_description = (
            str(source) if isinstance(source, str | Path) else (type(source).__name__)
        )
        self._table = resolve_table(source, table=table)
        self.ledger = ledger
        self.dataset = dataset if dataset is not None else self._default_dataset(source)
        self._spent: Budget = zero_like(budget)
        if ledger is not None and not ledger.has_dataset(self.dataset):
            ledger.create_dataset(self.dataset, budget)

    def _default_dataset(self, source: object) -> str:
        if isinstance(source, str | Path):
            return str(Path(source).expanduser().resolve())
        if self.ledger is not None:
            raise InvalidParameterError(
                f"a ledger needs the data set's name for a {type(source).__name__} source; "
                "pass dataset='name'."
            )
        return self.source_description

    @property
    def spent(self) -> Budget:
        """Budget spent in this session."""
        return self._spent

    @property
    def remaining(self) -> Budget:
        """Budget left in this session (the ledger may hold less)."""
        return self.budget - self._spent

    def evaluate(self, query: Query, budget: Budget) -> Release:
        """Release ``query`` spending ``budget``; the ledger is charged before returning.

        Raises
        ------
        BudgetExceededError
            ``budget`` exceeds what remains (session or ledger); nothing is released and
            the ledger is unchanged.
        InvalidParameterError
            A query needing delta (private keys) under a budget without one, or a budget of
            another kind than the session's.
        SchemaError
            A column is missing, or the user-id column has NULLs without ``nulls='drop'``.
        """
        if type(budget) is not type(self.budget):
            raise InvalidParameterError(
                f"this session spends {type(self.budget).__name__} budgets, got {budget!r}; "
                f"pass a {type(self.budget).__name__}."
            )
        self._check_remaining(budget, query.describe())
        parts = _parts(query, budget)
        tables = evaluate_parts(self._table, parts, self.unit, self.confidence)
        release = Release(
            tables=tuple(tables),
            budget=budget,
            confidence=self.confidence,
            privacy_unit=self.unit.to_dict(),
            source=self.source_description,
        )
        if self.ledger is not None:
            record = self.ledger.record_charge(self.dataset, budget, query.describe())
            self.ledger.complete(record.id, release.to_dict())
        self._spent = self._spent + budget
        return release

    def _check_remaining(self, budget: Budget, what: str) -> None:
        remaining = self.remaining
        if self.ledger is not None:
            in_ledger = self.ledger.status(self.dataset).remaining
            if not in_ledger >= remaining:
                remaining = in_ledger
        if not budget <= remaining:
            raise BudgetExceededError(
                f"{what!r} asks for {budget} but only {remaining} remains; nothing was "
                "released and nothing was charged. Spend less (more noise) or release less.",
                requested=budget,
                remaining=remaining,
            )

    def describe(self) -> dict[str, Any]:
        """The session's unit, budget and spending, JSON-ready."""
        return {
            "privacy_unit": self.unit.to_dict(),
            "budget": self.budget.to_dict(),
            "spent": self._spent.to_dict(),
        }


def _unit(value: object) -> PrivacyUnit:
    if value == "rows":
        return Rows()
    if isinstance(value, Rows | UserLevel):
        return value
    raise InvalidParameterError(
        f"privacy_unit must be 'rows', Rows() or UserLevel(column, ...), got {value!r}."
    )
