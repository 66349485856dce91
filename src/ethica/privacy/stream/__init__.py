"""Time series and continual release under user-level privacy over sliding windows.

* :class:`UserWindow`: the privacy unit, a user's rows in any ``window`` consecutive buckets.
* Mechanisms for running totals (:data:`MECHANISMS`): ``naive`` per-bucket noise, the binary
  ``tree`` (Dwork, Naor, Pitassi & Rothblum 2010; Chan, Shi & Song 2011), the tree with
  least-squares estimation ``ls-tree`` (Honaker 2015), and the square-root ``factorization``
  (Fichtenberger, Henzinger & Upadhyay 2023; Henzinger, Upadhyay & Upadhyay 2023), all with
  ethica's exact discrete noise (:func:`build_strategy`, :func:`strategy_sensitivity`).
* :class:`Stream` / :class:`StreamSpec`: a persistent stream, one bucket at a time, paid for
  once over its horizon in the ledger; :func:`plan_stream`: the budget for a target error.
"""

from __future__ import annotations

from ethica.privacy.stream._intervals import point_half_widths, sum_half_width
from ethica.privacy.stream._plan import MechanismPlan, StreamPlan, plan_stream, stream_noise
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
    "Strategy",
    "Stream",
    "StreamPlan",
    "StreamSpec",
    "UserWindow",
    "build_strategy",
    "plan_stream",
    "point_half_widths",
    "read_spec",
    "spec_from_mapping",
    "strategy_sensitivity",
    "stream_noise",
    "sum_half_width",
]
