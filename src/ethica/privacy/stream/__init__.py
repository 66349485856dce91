"""Time series and continual release under user-level privacy over sliding windows.

* :class:`UserWindow`: the privacy unit, a user's rows in any ``window`` consecutive buckets.
* Mechanisms for running totals (:data:`MECHANISMS`): ``naive`` per-bucket noise, the binary
  ``tree`` (Dwork, Naor, Pitassi & Rothblum 2010; Chan, Shi & Song 2011), the tree with
  least-squares estimation ``ls-tree`` (Honaker 2015), and the square-root ``factorization``
  (Fichtenberger, Henzinger & Upadhyay 2023; Henzinger, Upadhyay & Upadhyay 2023), all with
  ethica's exact discrete noise (:func:`build_strategy`, :func:`strategy_sensitivity`).
* :class:`Stream` / :class:`StreamSpec`: a persistent stream, one bucket at a time, paid for
  once over its horizon in the ledger; :func:`plan_stream`: the budget for a target error.
* :func:`release_series`: a batch time series of one table (counts or clamped sums per key
  and bucket), bounded across time in the engine, with an exact interval on every point.
* Budgets: ``PureDP``, ``ZCDP`` or ``ApproxDP`` (:func:`approx_to_zcdp`: the tightest
  ``rho`` meeting ``(epsilon, delta)`` for Gaussian noise; Laplace spends ``epsilon`` alone).
"""

from __future__ import annotations

from ethica.privacy.stream._budget import approx_to_zcdp
from ethica.privacy.stream._intervals import point_half_widths, sum_half_width
from ethica.privacy.stream._plan import MechanismPlan, StreamPlan, plan_stream, stream_noise
from ethica.privacy.stream._series import (
    SeriesRelease,
    release_series,
    series_sensitivity,
    window_cells,
)
from ethica.privacy.stream._strategies import (
    MECHANISMS,
    Strategy,
    build_strategy,
    strategy_sensitivity,
)
from ethica.privacy.stream._stream import (
    DayRelease,
    Stream,
    StreamSpec,
    read_spec,
    spec_from_mapping,
)
from ethica.privacy.stream._unit import UserWindow

__all__ = [
    "MECHANISMS",
    "DayRelease",
    "MechanismPlan",
    "SeriesRelease",
    "Strategy",
    "Stream",
    "StreamPlan",
    "StreamSpec",
    "UserWindow",
    "approx_to_zcdp",
    "build_strategy",
    "plan_stream",
    "point_half_widths",
    "read_spec",
    "release_series",
    "series_sensitivity",
    "spec_from_mapping",
    "strategy_sensitivity",
    "stream_noise",
    "sum_half_width",
    "window_cells",
]
