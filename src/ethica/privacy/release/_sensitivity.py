"""Privacy units and the sensitivity of each release query under each unit.

Two privacy units (who is protected):

* :class:`Rows`: neighbouring tables differ by adding or removing one row.
* :class:`UserLevel`: neighbouring tables differ by adding or removing *all* rows of one user
  (the value of a user-id column). Contributions are bounded in the engine first
  (:mod:`ethica.data._bounding`): at most ``max_groups_per_user`` cells (``L0 = k``) and at
  most ``max_rows_per_group`` rows per cell (``L∞ = m``).

Sensitivities (Dwork & Roth 2014, Def. 3.1 and 3.8; Wilson et al. 2020, Sec. 3), for a cell
statistic whose one-row contribution lies in ``[-B, B]`` (``B = 1`` for a count, ``B =
max(|lower|, |upper|)`` for a clamped sum, in the integer units of its grid):

=====================  ================  ==================
privacy unit           L1 (``Δ1``)       L2 squared (``Δ2²``)
=====================  ================  ==================
rows                   ``B``             ``B²``
user, finest cells     ``k m B``         ``k m² B²``
user, coarser cells    ``k m B``         ``k² m² B²``
=====================  ================  ==================

"Finest cells" are the cells bounding ran on; a coarser marginal of them (a batch query over
fewer key columns) may merge a user's ``k`` cells into one, so its L∞ becomes ``k m``.
A query without group keys evaluated alone has a single cell, so ``k`` plays no part
(``k = 1``); the same query in a batch next to grouped queries is the coarsest marginal of
the batch's finest cells, where one user may hold ``k`` cells: ``k`` counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from ethica._exceptions import InvalidParameterError

__all__ = [
    "PrivacyUnit",
    "Rows",
    "Sensitivity",
    "UserLevel",
    "cell_sensitivity",
    "rank_utility_sensitivity",
]


@dataclass(frozen=True)
class Rows:
    """Row-level privacy: neighbouring tables differ by one row (add/remove)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"kind": "rows"}


@dataclass(frozen=True)
class UserLevel:
    """User-level privacy over a user-id column, with contribution bounds.

    Parameters
    ----------
    column
        The user-id column.
    max_groups_per_user
        ``L0``: the largest number of output cells one user may contribute to.
    max_rows_per_group
        ``L∞``: the largest number of rows one user may contribute to one cell.
    nulls
        What to do with rows whose user id is NULL or NaN: ``"drop"`` (default: they are
        dropped before bounding, and the release's notes say so; their number is not
        released) or ``"error"``: refuse, for free, any user column whose *type* admits
        missing values (a refusal that looked at the rows would leak).
    """

    column: str
    max_groups_per_user: int = 1
    max_rows_per_group: int = 1
    nulls: Literal["error", "drop"] = "drop"

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise InvalidParameterError(
                f"UserLevel needs the user-id column name, got {self.column!r}."
            )
        for name in ("max_groups_per_user", "max_rows_per_group"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"{name} must be an integer >= 1, got {value!r}; e.g. {name}=5."
                )
        if self.nulls not in ("error", "drop"):
            raise InvalidParameterError(f"nulls must be 'error' or 'drop', got {self.nulls!r}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "kind": "user",
            "column": self.column,
            "max_groups_per_user": self.max_groups_per_user,
            "max_rows_per_group": self.max_rows_per_group,
            "nulls": self.nulls,
        }


PrivacyUnit = Rows | UserLevel


@dataclass(frozen=True)
class Sensitivity:
    """L1 and squared L2 sensitivity of one released vector, exact."""

    l1: Fraction
    l2_squared: Fraction

    def to_dict(self) -> dict[str, str]:
        """Exact ``"p/q"`` strings."""
        return {"l1": str(self.l1), "l2_squared": str(self.l2_squared)}


def cell_sensitivity(
    unit: PrivacyUnit, per_row: Fraction | int, *, grouped: bool, finest: bool = True
) -> Sensitivity:
    """Sensitivity of a vector of per-cell statistics (see the module table).

    Parameters
    ----------
    unit
        The privacy unit.
    per_row
        ``B``: the largest absolute contribution of one row to one cell.
    grouped
        Whether the query has group keys (several cells).
    finest
        Whether the cells are those contribution bounding ran on (else a coarser marginal).
    """
    b = Fraction(per_row)
    if isinstance(unit, Rows):
        return Sensitivity(b, b * b)
    # a single cell only when bounding ran on that one cell; a total over finer cells merges a
    # user's k cells (a batch's ungrouped part)
    k = unit.max_groups_per_user if (grouped or not finest) else 1
    m = unit.max_rows_per_group
    if finest:
        return Sensitivity(k * m * b, k * m * m * b * b)
    return Sensitivity(k * m * b, (k * m * b) ** 2)


def rank_utility_sensitivity(unit: PrivacyUnit, per_row: Fraction | int, q: Fraction) -> Fraction:
    """Sensitivity of the quantile utility ``u(c) = -|#{x < c} - q n|`` (Smith 2011) under
    ``unit``, where one person adds at most ``R`` rows (``R`` the counts' L1 above: ``per_row``
    for rows, ``k m per_row`` for a bounded user).

    Adding ``r <= R`` rows moves ``#{x < c}`` by some ``a`` in ``[0, r]`` and ``n`` by ``r``, so
    ``#{x < c} - q n`` moves by ``a - q r``, which lies in ``[-q R, (1 - q) R]``: the utility
    moves by at most ``max(q, 1 - q) R`` (``R / 2`` for the median), and by exactly that for
    some neighbour. Under add/remove neighbours the usual ``R`` is twice too large for the
    median (replacing a row would need ``R``; no privacy unit here replaces).
    """
    reach = cell_sensitivity(unit, per_row, grouped=True, finest=True).l1
    return max(q, 1 - q) * reach
