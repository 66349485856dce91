"""Shared pieces of the auditor tests: small data sets, the query matrix, and the negative
controls (the same release with its sensitivity one unit too small)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ethica.privacy import (
    ZCDP,
    ApproxDP,
    Count,
    Histogram,
    Mean,
    PureDP,
    Quantiles,
    Sum,
    Variance,
)
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._evaluate import Aggregates
from ethica.privacy.release._sensitivity import PrivacyUnit
from ethica.privacy.testing import AuditResult, QueryMechanism, audit
from ethica.privacy.testing._audit import data_digest

RUNS = 20_000
MATRIX_RUNS = 10_000
CONFIDENCE = 0.99

BUDGETS: dict[str, Budget] = {
    "pure": PureDP(1),
    "zcdp": ZCDP(Fraction(1, 2)),
    "approx": ApproxDP(1, Fraction(1, 10**6)),
}

QUERIES: dict[str, Any] = {
    "count": Count(),
    "sum": Sum("x", 0, 10, step=1),
    "mean": Mean("x", 0, 10, step=1),
    "variance": Variance("x", 0, 10, step=1),
    "histogram": Histogram("x", (2, 5, 8)),
    "quantiles": Quantiles("x", (0.5,), 0, 10, candidates=11),
    "grouped count (public keys)": Count(by="g", keys={"g": ["a", "b", "c"]}),
    "grouped sum (public keys)": Sum("x", 0, 10, step=1, by="g", keys={"g": ["a", "b", "c"]}),
    "grouped sum (private keys)": Sum("x", 0, 10, step=1, by="g"),
}
"""Every query type. Values lie in {0, 5, 10}: on the grid of every sum, and ``(x - 5)² / 5``
is an integer, so the engine's randomised rounding leaves the base data exact."""


def frame(rows: int = 40, users: int = 15, seed: int = 0) -> pd.DataFrame:
    """A small table: user id, value in {0, 5, 10}, key in {a, b, c}."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "uid": rng.integers(0, users, rows),
            "x": rng.choice([0.0, 5.0, 10.0], rows),
            "g": rng.choice(["a", "b", "c"], rows),
        }
    )


def budgets_for(name: str) -> dict[str, Budget]:
    """Private keys need a delta (partition selection): ApproxDP only."""
    return {"approx": BUDGETS["approx"]} if "private" in name else BUDGETS


def data_for(name: str) -> pd.DataFrame:
    """Private keys: counts near the selection threshold, so that selection is exercised."""
    return frame(rows=110, users=80) if "private" in name else frame()


def audit_matrix(name: str, unit: PrivacyUnit) -> list[AuditResult]:
    """Audit ``QUERIES[name]`` under ``unit`` at every budget kind (engine aggregates shared),
    asserting what every correct release shows: its lower bound does not exceed its claim and
    every pair keeps the stated sensitivity. Returns the audits for the caller's own checks."""
    store: dict[str, list[Aggregates]] = {}
    results = []
    for kind, budget in budgets_for(name).items():
        mechanism = SharedAggregates(QUERIES[name], unit, budget, store=store)
        result = audit(mechanism, data_for(name), runs=MATRIX_RUNS, confidence=CONFIDENCE)
        assert result.epsilon_lower_bound <= result.claimed_epsilon, (kind, result.to_frame())
        assert all(p.sensitivity_holds for p in result.pairs), (kind, result.to_dict())
        assert any(p.sensitivity for p in result.pairs), "no pair was checked exactly"
        results.append(result)
    return results


@dataclass(frozen=True)
class SharedAggregates(QueryMechanism):
    """The release itself, with its engine aggregates shared between audits of the same query
    under several budgets (an aggregate does not depend on the budget): the ``i``-th
    aggregation of a data set is run once and reused by every budget's ``i``-th."""

    store: dict[str, list[Aggregates]] = field(default_factory=dict, compare=False)
    calls: dict[str, int] = field(default_factory=dict, compare=False)

    def aggregate(self, data: pd.DataFrame) -> Aggregates:
        key = data_digest(data)
        i = self.calls.get(key, 0)
        self.calls[key] = i + 1
        done = self.store.setdefault(key, [])
        if i >= len(done):
            done.append(super().aggregate(data))
        return done[i]


@dataclass(frozen=True)
class TooLittleNoise(QueryMechanism):
    """Negative control: the release with every component's per-row bound ``B`` one unit too
    small (``B - 1``; a count's ``1`` halved), so its noise is calibrated to a sensitivity
    below the true one; everything else (engine, noise, partition selection) is the release's."""

    def aggregate(self, data: pd.DataFrame) -> Aggregates:
        exact = super().aggregate(data)

        def smaller(b: Fraction) -> Fraction:
            return b - 1 if b > 1 else b / 2

        return Aggregates(
            tuple(
                dataclasses.replace(
                    part,
                    components=tuple(
                        dataclasses.replace(c, per_row=smaller(c.per_row)) for c in part.components
                    ),
                )
                for part in exact.parts
            )
        )
