"""Releases: privacy units, queries, the session that evaluates them, intervals, consistency.

:class:`Session` binds a source, a privacy unit (:class:`Rows`, :class:`UserLevel`) and a
budget; :meth:`Session.evaluate` answers a query (:class:`Count`, :class:`Sum`, ...) with a
:class:`Release` whose every value carries an exact interval; :func:`make_consistent` makes
tables additive and non-negative by post-processing.
"""

from __future__ import annotations

from ethica.privacy.release._accuracy import (
    error_table,
    gaussian_half_width,
    laplace_half_width,
    plan_budget,
)
from ethica.privacy.release._consistency import make_consistent
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
