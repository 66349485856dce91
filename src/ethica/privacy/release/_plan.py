"""What a planned query costs: its sensitivity, derived by the same code a release uses.

``ethica plan`` (and :func:`plan_sensitivity` in Python) asks how much budget a count or a
clamped sum needs for an error target. The answer depends on the query's sensitivity, which
must be the one the engine's release would have: the per-row bound ``B`` of a sum comes from
:meth:`ethica.data._bounding.ClampedSum.per_row` (the integer range the engine clamps each
row's grid units to), and the unit's ``k``/``m`` factors from
:func:`~ethica.privacy.release._sensitivity.cell_sensitivity` (Dwork & Roth 2014, Def. 3.1;
Wilson et al. 2020, Sec. 3). Nothing is re-derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ethica._exceptions import InvalidParameterError
from ethica.data._bounding import ClampedSum
from ethica.privacy.release._queries import Count, Sum
from ethica.privacy.release._sensitivity import PrivacyUnit, Sensitivity, cell_sensitivity

__all__ = ["PlannedSensitivity", "plan_sensitivity"]


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
    grouped = bool(query.group_by)
    if isinstance(query, Count):
        return PlannedSensitivity(cell_sensitivity(unit, 1, grouped=grouped), Fraction(1))
    if isinstance(query, Sum):
        lower, upper = query.bounds
        per_row = ClampedSum("plan", query.column, lower, upper, query.grid).per_row()
        return PlannedSensitivity(
            cell_sensitivity(unit, per_row, grouped=grouped), Fraction(query.grid)
        )
    raise InvalidParameterError(
        f"plan_sensitivity plans a Count or a Sum, got {query!r}; means and variances combine "
        "several noisy parts (plan their sum and count)."
    )
