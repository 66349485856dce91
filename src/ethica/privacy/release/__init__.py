"""Releases: privacy units, queries, the session that evaluates them, intervals, consistency.

:class:`Session` binds a source, a privacy unit (:class:`Rows`, :class:`UserLevel`) and a
budget; :meth:`Session.evaluate` answers a query (:class:`Count`, :class:`Sum`, ...) with a
:class:`Release` whose every value carries an exact interval; :func:`make_consistent` makes
tables additive and non-negative by post-processing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ethica._lazy import lazy_attributes

if TYPE_CHECKING:
    from ethica.privacy.release._accuracy import gaussian_half_width, laplace_half_width
    from ethica.privacy.release._consistency import make_consistent
    from ethica.privacy.release._plan import error_table, plan_budget
    from ethica.privacy.release._queries import (
        Batch,
        BoundsEstimate,
        Count,
        Histogram,
        Mean,
        Quantiles,
        Sum,
        Variance,
    )
    from ethica.privacy.release._release import Release, ReleasedTable
    from ethica.privacy.release._sensitivity import Rows, UserLevel
    from ethica.privacy.release._session import Session

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "Batch": "ethica.privacy.release._queries",
    "BoundsEstimate": "ethica.privacy.release._queries",
    "Count": "ethica.privacy.release._queries",
    "Histogram": "ethica.privacy.release._queries",
    "Mean": "ethica.privacy.release._queries",
    "Quantiles": "ethica.privacy.release._queries",
    "Release": "ethica.privacy.release._release",
    "ReleasedTable": "ethica.privacy.release._release",
    "Rows": "ethica.privacy.release._sensitivity",
    "Session": "ethica.privacy.release._session",
    "Sum": "ethica.privacy.release._queries",
    "UserLevel": "ethica.privacy.release._sensitivity",
    "Variance": "ethica.privacy.release._queries",
    "error_table": "ethica.privacy.release._plan",
    "gaussian_half_width": "ethica.privacy.release._accuracy",
    "laplace_half_width": "ethica.privacy.release._accuracy",
    "make_consistent": "ethica.privacy.release._consistency",
    "plan_budget": "ethica.privacy.release._plan",
}

__getattr__, __dir__ = lazy_attributes("ethica.privacy.release", globals(), _LAZY)

__all__ = [
    "Batch",
    "BoundsEstimate",
    "Count",
    "Histogram",
    "Mean",
    "Quantiles",
    "Release",
    "ReleasedTable",
    "Rows",
    "Session",
    "Sum",
    "UserLevel",
    "Variance",
    "error_table",
    "gaussian_half_width",
    "laplace_half_width",
    "make_consistent",
    "plan_budget",
]
