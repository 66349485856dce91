"""Running totals of a batch series, with the continual-release mechanisms.

``release_series(..., running=M)`` releases, for every key, the running total up to each
bucket and each bucket's value with mechanism ``M`` of :data:`~ethica.privacy.stream.MECHANISMS`,
exactly as a stream of the same horizon would (:mod:`._strategies`): it measures
``m = R x + z`` once over the whole grid and releases ``W m`` (running totals) and ``D m``
(bucket values), with the stream's intervals (:func:`~ethica.privacy.stream.point_half_widths`:
exact for ``naive`` and ``tree``, normal approximations for ``ls-tree`` and
``factorization``). Nothing is online here, but the same estimates keep a batch series and a
stream comparable, and the error of the running total at day 365 drops from
``naive``'s ``sqrt(365)`` draws to a few (``docs/streams.md``).

Sensitivity. ``naive`` measures the cells themselves (``R = I``), so its noise is the
series' own (:func:`~ethica.privacy.stream.series_sensitivity`, block bounding included) and
its running totals are sums of released cells: post-processing. The other mechanisms need
the sensitivity of ``R x`` under the unit, which is exact for per-bucket bounding
(:func:`~ethica.privacy.stream.strategy_sensitivity`: every change lies inside the window);
with block bounding (``max_buckets``) a window also displaces cells outside itself, and ethica
has no exact bound for ``R x`` there, so they are refused (free) for such units.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._noise import Noise
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.stream._budget import NoiseLaw
from ethica.privacy.stream._intervals import point_half_widths
from ethica.privacy.stream._plan import stream_noise
from ethica.privacy.stream._strategies import Strategy, build_strategy, combine, measure
from ethica.privacy.stream._unit import UserWindow

__all__ = ["RunningPlan", "plan_running"]


@dataclass(frozen=True)
class RunningPlan:
    """A mechanism over the series' horizon, its noise, and every point's half-width.

    Attributes
    ----------
    strategy
        ``R``, ``W``, ``D`` (:class:`~ethica.privacy.stream.Strategy`).
    noise, sensitivity
        The noise of ``m = R x + z`` and the sensitivity it is calibrated to.
    running_half_width, value_half_width
        Per bucket (the same for every key), at the release's confidence.
    """

    strategy: Strategy
    noise: Noise
    sensitivity: Sensitivity
    running_half_width: NDArray[np.float64]
    value_half_width: NDArray[np.float64]

    @property
    def interval(self) -> str:
        """``"exact"`` (sums of draws) or ``"normal"`` (real weights)."""
        return "exact" if self.strategy.integer_weights else "normal"

    def release(self, exact: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(D m, W m)`` for ``m = R x + z``, ``x = exact`` of shape ``(periods, keys)``."""
        strategy = self.strategy
        draws = self.noise.draw(strategy.matrix.shape[0] * exact.shape[1])
        m = measure(strategy.matrix, exact, draws)  # exact integers, never wrapped
        integer = strategy.integer_weights  # sums of integers: exact, no rounding residue
        return combine(strategy.daily, m, integer), combine(strategy.running, m, integer)


def plan_running(
    mechanism: str,
    *,
    unit: UserWindow,
    budget: Budget,
    law: NoiseLaw,
    periods: int,
    keys: int,
    per_row: Fraction,
    cells: tuple[Noise, Sensitivity],
    confidence: float,
) -> RunningPlan:
    """The plan for ``mechanism`` (free checks only; ``cells`` is the series' own noise and
    sensitivity, which ``naive`` keeps)."""
    if mechanism != "naive" and unit.max_buckets is not None:
        raise InvalidParameterError(
            f"running={mechanism!r} needs each bucket bounded on its own: with "
            f"max_buckets={unit.max_buckets} a window also displaces cells outside itself and "
            f"the sensitivity of {mechanism!r}'s measurements has no exact bound. Drop "
            "max_buckets, or use running='naive' (running sums of the released cells)."
        )
    strategy = build_strategy(mechanism, periods)
    if mechanism == "naive":
        noise, sensitivity = cells
    else:
        noise, sensitivity = stream_noise(
            strategy, unit, budget, per_row=per_row, keys=keys, noise=law
        )
    running_hw, value_hw = point_half_widths(strategy, noise, confidence)
    return RunningPlan(strategy, noise, sensitivity, running_hw, value_hw)
