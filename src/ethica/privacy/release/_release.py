"""The result of a DP release: noisy values, a CI per value, mechanism, scale and budget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._sensitivity import PrivacyUnit

__all__ = ["SCHEMA_VERSION", "Release", "ReleasedTable", "Statistic"]

Statistic = Literal["count", "sum", "mean", "variance", "histogram", "quantile", "bounds"]
"""What a :class:`ReleasedTable` holds, per cell."""

SCHEMA_VERSION = 1


def plain_value(value: object) -> object:
    """A key value as a plain Python object: numpy scalars unwrapped, NA and NaN as ``None``."""
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


@dataclass(frozen=True)
class ReleasedTable:
    """One released statistic, per cell.

    Attributes
    ----------
    name
        Label of the table (e.g. ``"count by sex"``).
    statistic
        ``count``, ``sum``, ``mean``, ``variance``, ``histogram``, ``quantile`` or ``bounds``
        (:data:`Statistic`).
    by, keys
        Key columns and one key tuple per released cell (empty tuple for a scalar).
    values, ci_low, ci_high
        The released values and their confidence intervals (NaN where no interval applies).
    variances
        Variance of each value's noise (for weighting in post-processing).
    mechanism
        The mechanism(s) used, e.g. ``"discrete Laplace"``.
    noise
        Noise parameters as exact ``"p/q"`` strings (e.g. ``{"scale": "20"}``).
    sensitivity
        Sensitivities, exact strings.
    budget
        What this table cost.
    notes
        Anything else a reader needs (partition-selection threshold, rank error, ...).
    """

    name: str
    statistic: Statistic
    by: tuple[str, ...]
    keys: tuple[tuple[object, ...], ...]
    values: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    variances: tuple[float, ...]
    mechanism: str
    noise: dict[str, str]
    sensitivity: dict[str, str]
    budget: Budget
    notes: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: key columns, ``value``, ``ci_low``, ``ci_high``."""
        frame = (
            pd.DataFrame([list(k) for k in self.keys], columns=list(self.by), dtype=object)
            if self.by
            else pd.DataFrame(index=range(len(self.values)))
        )
        frame["value"] = np.asarray(self.values, dtype=float)
        frame["ci_low"] = np.asarray(self.ci_low, dtype=float)
        frame["ci_high"] = np.asarray(self.ci_high, dtype=float)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (NaN becomes ``None``)."""

        def floats(values: tuple[float, ...]) -> list[float | None]:
            return [None if v != v else float(v) for v in values]

        return {
            "name": self.name,
            "statistic": self.statistic,
            "by": list(self.by),
            "keys": [[plain_value(v) for v in k] for k in self.keys],
            "values": floats(self.values),
            "ci_low": floats(self.ci_low),
            "ci_high": floats(self.ci_high),
            "variances": floats(self.variances),
            "mechanism": self.mechanism,
            "noise": self.noise,
            "sensitivity": self.sensitivity,
            "budget": self.budget.to_dict(),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Release:
    """What :meth:`ethica.privacy.Session.evaluate` returns; the budget is already charged.

    Attributes
    ----------
    tables
        One :class:`ReleasedTable` per query (one for a single query, several for a batch).
    budget
        The total cost of the release.
    confidence
        Level of every confidence interval.
    privacy_unit
        The privacy unit (:class:`Rows` or :class:`UserLevel`); ``to_dict`` writes its
        ``to_dict()``.
    source
        A description of the data source.
    post_processing
        Post-processing applied (``()`` for raw noisy values).
    """

    tables: tuple[ReleasedTable, ...]
    budget: Budget
    confidence: float
    privacy_unit: PrivacyUnit
    source: str
    post_processing: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        """The released number of a single-value release."""
        if len(self.tables) != 1 or len(self.tables[0].values) != 1:
            raise InvalidParameterError(
                "this release holds several values; use release.to_frame() or release.table(i)."
            )
        return self.tables[0].values[0]

    def table(self, which: int | str = 0) -> ReleasedTable:
        """A released table by position or name."""
        if isinstance(which, int):
            return self.tables[which]
        for t in self.tables:
            if t.name == which:
                return t
        raise InvalidParameterError(
            f"no table named {which!r}; tables: {[t.name for t in self.tables]}."
        )

    def with_tables(self, tables: tuple[ReleasedTable, ...], step: str) -> Release:
        """A copy with new tables after a post-processing ``step`` (no privacy cost)."""
        return replace(self, tables=tables, post_processing=(*self.post_processing, step))

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked: a ``table`` column, the key columns, value and CI."""
        frames = [t.to_frame().assign(table=t.name) for t in self.tables]
        frame = pd.concat(frames, ignore_index=True)
        first = ["table"] + [
            c for c in frame.columns if c not in ("table", "value", "ci_low", "ci_high")
        ]
        return frame[[*first, "value", "ci_low", "ci_high"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata and values (stable, versioned schema)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "privacy_unit": self.privacy_unit.to_dict(),
            "budget": self.budget.to_dict(),
            "confidence": self.confidence,
            "post_processing": list(self.post_processing),
            "tables": [t.to_dict() for t in self.tables],
        }

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>DP release</b> of {self.source}: {self.budget}, "
            f"{100 * self.confidence:g}% intervals</p>"
        )
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return head + str(table)
