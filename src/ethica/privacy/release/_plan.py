"""What a planned query costs: its sensitivity, and the budget that meets an error target.

``ethica plan`` (and :func:`plan_sensitivity` in Python) asks how much budget a count or a
clamped sum needs for an error target. The answer depends on the query's sensitivity, which
must be the one the engine's release would have: the per-row bound ``B`` of a sum comes from
:meth:`ethica.data._bounding.ClampedSum.per_row` (the integer range the engine clamps each
row's grid units to), and the unit's ``k``/``m`` factors from
:func:`~ethica.privacy.release._sensitivity.cell_sensitivity` (Dwork & Roth 2014, Def. 3.1;
Wilson et al. 2020, Sec. 3). Nothing is re-derived here.

:func:`plan_budget` inverts a noise law's exact half-width (:mod:`._accuracy`): the smallest
budget of the given type whose interval at ``confidence`` is at most ``± target``;
:func:`error_table` is the error-vs-budget curve. Both use the law a release of that budget
type draws (:data:`._noise.NOISE_LAWS`): discrete Laplace for ``PureDP``, the discrete
Gaussian for ``ZCDP``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import overload

from ethica._exceptions import InvalidParameterError
from ethica.data._bounding import ClampedSum
from ethica.privacy.budget._budgets import ZCDP, PureDP
from ethica.privacy.release._noise import NOISE_LAWS, Noise
from ethica.privacy.release._queries import Count, Sum
from ethica.privacy.release._sensitivity import PrivacyUnit, Sensitivity, cell_sensitivity

__all__ = [
    "PlannedBudget",
    "PlannedSensitivity",
    "error_table",
    "largest_parameter",
    "plan_budget",
    "plan_sensitivity",
]

PlannedBudget = type[PureDP] | type[ZCDP]
"""The budget types a plan can be made for: ``PureDP`` (discrete Laplace) or ``ZCDP``
(discrete Gaussian)."""


@dataclass(frozen=True)
class PlannedSensitivity:
    """A query's sensitivity in the integer units the noise is added to, and one unit's value.

    Attributes
    ----------
    sensitivity
        Exact L1 and squared L2 sensitivity, in grid units.
    grid
        The value of one grid unit (``1`` for a count, the sum's ``step``): an error of ``e``
        units is ``e * grid`` in the column's units.
    """

    sensitivity: Sensitivity
    grid: Fraction


def plan_sensitivity(query: Count | Sum, unit: PrivacyUnit) -> PlannedSensitivity:
    """The sensitivity a release of ``query`` under ``unit`` would have (module docstring).

    Parameters
    ----------
    query
        A :class:`Count` or :class:`Sum` (with its bounds and step). Group keys matter only
        as present or absent: with ``by`` columns a user may reach ``max_groups_per_user``
        cells.
    unit
        ``Rows()`` or ``UserLevel(column, max_groups_per_user, max_rows_per_group)``.
    """
    grouped = bool(query.by)
    if isinstance(query, Count):
        return PlannedSensitivity(cell_sensitivity(unit, 1, grouped=grouped), Fraction(1))
    if isinstance(query, Sum):
        lower, upper = query.bounds
        per_row = ClampedSum("plan", query.column, lower, upper, query.step).per_row()
        return PlannedSensitivity(
            cell_sensitivity(unit, per_row, grouped=grouped), Fraction(query.step)
        )
    raise InvalidParameterError(
        f"plan_sensitivity plans a Count or a Sum, got {query!r}; means and variances combine "
        "several noisy parts (plan their sum and count)."
    )


def largest_parameter(
    width: Callable[[Fraction], float], target: float, *, rounds: int = 30
) -> Fraction | None:
    """The largest noise parameter on the ``1/1024`` grid whose half-width is at most ``target``.

    ``width`` must grow with the parameter (every law's half-width does). The parameter is
    doubled from 1 until too wide, then bisected for at most ``rounds`` steps and rounded
    down to the grid, so the result always meets the target. ``None`` when even ``1/1024``
    is too wide.
    """
    lo = Fraction(1, 1024)
    if width(lo) > target:
        return None
    hi = Fraction(1)
    while width(hi) <= target:
        lo, hi = hi, hi * 2
    for _ in range(rounds):
        mid = Fraction(math.floor((lo + hi) / 2 * 1024), 1024)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if width(mid) <= target else (lo, mid)
    return lo


def _law(budget_type: object) -> type[Noise]:
    if budget_type is not PureDP and budget_type is not ZCDP:
        raise InvalidParameterError(
            f"budget_type must be the budget class PureDP or ZCDP, got {budget_type!r}; "
            "e.g. plan_budget(1, 1, 25, 0.95, budget_type=ZCDP)."
        )
    return NOISE_LAWS[budget_type]


@overload
def plan_budget(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    target: float,
    confidence: float,
    budget_type: type[PureDP] = ...,
) -> PureDP: ...


@overload
def plan_budget(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    target: float,
    confidence: float,
    budget_type: type[ZCDP],
) -> ZCDP: ...


def plan_budget(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    target: float,
    confidence: float,
    budget_type: PlannedBudget = PureDP,
) -> PureDP | ZCDP:
    """The smallest budget whose CI half-width is at most ``target`` at ``confidence``.

    Parameters
    ----------
    sensitivity_l1, sensitivity_l2_squared
        ``Δ1`` and ``Δ2²`` of the released vector, in its integer units.
    target
        The largest acceptable half-width ``k`` of the interval ``noisy ± k``.
    confidence
        The interval's level, in ``(0, 1)``.
    budget_type
        ``PureDP`` plans discrete Laplace (``PureDP(Δ1 / scale)``), ``ZCDP`` the discrete
        Gaussian (``ZCDP(Δ2² / (2 sigma²))``).

    Notes
    -----
    The noise parameter is bisected (half-widths grow with it) and rounded down to a multiple
    of ``1/1024``, so the target is met.
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not target > 0:
        raise InvalidParameterError(f"target must be a positive error, e.g. 25; got {target!r}.")
    law = _law(budget_type)

    def width(parameter: Fraction) -> int:
        return law(parameter).half_width(confidence)

    lo = largest_parameter(width, target)
    if lo is None:
        raise InvalidParameterError(
            f"a half-width of {target} is below the noise's smallest atom; ask for at least 1."
        )
    budget = law.cost(Sensitivity(Fraction(sensitivity_l1), Fraction(sensitivity_l2_squared)), lo)
    assert isinstance(budget, PureDP | ZCDP)
    return budget


def error_table(
    sensitivity_l1: Fraction | int,
    sensitivity_l2_squared: Fraction | int,
    budgets: Sequence[Fraction],
    confidence: float,
    budget_type: PlannedBudget = PureDP,
) -> list[dict[str, float]]:
    """CI half-width at each budget: the error vs privacy curve a custodian reads first.

    Each row is ``{"epsilon": value, "half_width": k}`` (``"rho"`` for ``ZCDP``), ``k`` the
    half-width of the noise a release spending ``budget_type(value)`` draws.
    """
    law = _law(budget_type)
    axis = budget_type._fields[0]
    sensitivity = Sensitivity(Fraction(sensitivity_l1), Fraction(sensitivity_l2_squared))
    return [
        {
            axis: float(value),
            "half_width": law.calibrated(sensitivity, budget_type(value)).half_width(confidence),
        }
        for value in budgets
    ]
