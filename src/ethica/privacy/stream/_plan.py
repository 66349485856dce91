"""Plan a stream: the budget for "±25 at 95% every day for 365 days", per mechanism.

For each mechanism the noise parameter (discrete Laplace scale, or discrete Gaussian sigma)
is the largest on a ``1/1024`` grid whose interval half-width is at most the target on
*every* released point (running totals, bucket values, or both) over the horizon; the budget
is then the exact cost of that noise on the mechanism's sensitivity under the window unit
(:func:`._strategies.strategy_sensitivity`): ``PureDP(Δ1 / scale)`` or ``ZCDP(Δ2² / (2
sigma²))``. The planner recommends the mechanism with the smallest budget, so it picks
``naive`` wherever per-bucket noise is better (short horizons, pure DP, or bucket values).
Half-widths grow with the noise parameter and, for sums of i.i.d. symmetric unimodal draws,
with the number of draws, so the worst day is the one with the most draws (exact intervals)
or the largest ``||W[t]||²`` (normal intervals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from ethica._exceptions import InvalidParameterError
from ethica._results import Result, ResultPart
from ethica.privacy.budget._budgets import ZCDP, Budget, PureDP
from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise, Noise
from ethica.privacy.release._plan import largest_parameter
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.stream._budget import check_law, spend
from ethica.privacy.stream._intervals import point_half_widths, sum_half_width
from ethica.privacy.stream._strategies import MECHANISMS, Strategy, build_strategy
from ethica.privacy.stream._strategies import strategy_sensitivity as _sensitivity
from ethica.privacy.stream._unit import UserWindow

__all__ = ["MechanismPlan", "StreamPlan", "plan_stream", "stream_noise"]

Target = Literal["running", "daily", "both"]


def stream_noise(
    strategy: Strategy,
    unit: UserWindow,
    budget: Budget,
    *,
    per_row: Fraction | int = 1,
    keys: int = 1,
    noise: str | None = None,
) -> tuple[Noise, Sensitivity]:
    """The noise that spends ``budget`` on ``strategy`` under ``unit`` (and its sensitivity).

    ``budget`` is ``PureDP`` (discrete Laplace), ``ZCDP`` (discrete Gaussian) or ``ApproxDP``
    (``noise="gaussian"``: the Gaussian at the tightest ``rho`` meeting ``(epsilon, delta)``;
    ``noise="laplace"``: Laplace at ``epsilon``, ``delta`` unused): :mod:`._budget`.
    """
    check_law(budget, noise)
    sens = _sensitivity(
        strategy,
        window=unit.window,
        per_cell=unit.max_rows * Fraction(per_row),
        max_keys=min(unit.max_keys, keys),
    )
    return spend(sens, budget, noise), sens


@dataclass(frozen=True)
class MechanismPlan(ResultPart):
    """One mechanism's budget for the target, and its errors at that budget."""

    mechanism: str
    budget: Budget
    noise: Noise
    sensitivity: Sensitivity
    interval: str
    running_half_width_max: float
    running_half_width_last: float
    daily_half_width_max: float
    running_rmse_last: float

    def _document(self) -> Mapping[str, Any]:
        """Every field; the noise as its kind and exact parameter."""
        return {
            "mechanism": self.mechanism,
            "budget": self.budget,
            "noise": {
                "kind": self.noise.kind,
                self.noise.parameter_name: str(self.noise.parameter),
            },
            "sensitivity": self.sensitivity,
            "interval": self.interval,
            "running_half_width_max": self.running_half_width_max,
            "running_half_width_last": self.running_half_width_last,
            "daily_half_width_max": self.daily_half_width_max,
            "running_rmse_last": self.running_rmse_last,
        }


@dataclass(frozen=True)
class StreamPlan(Result):
    """The plan for every mechanism and the recommended one (smallest budget)."""

    target: float
    confidence: float
    horizon: int
    what: str
    unit: dict[str, Any]
    mechanisms: tuple[MechanismPlan, ...] = field(default=())

    @property
    def recommended(self) -> MechanismPlan:
        """The mechanism with the smallest budget (ties: the simpler one, in list order)."""
        return min(self.mechanisms, key=_size)

    def _document(self) -> Mapping[str, Any]:
        return {
            "target": self.target,
            "confidence": self.confidence,
            "horizon": self.horizon,
            "what": self.what,
            "privacy_unit": self.unit,
            "recommended": self.recommended.mechanism,
            "mechanisms": self.mechanisms,
        }


def _size(plan: MechanismPlan) -> Fraction:
    budget = plan.budget
    if isinstance(budget, PureDP):
        return budget.epsilon
    assert isinstance(budget, ZCDP)
    return budget.rho


def plan_stream(
    target: float,
    *,
    horizon: int,
    unit: UserWindow,
    confidence: float = 0.95,
    kind: Literal["pure", "zcdp"] = "pure",
    what: Target = "running",
    per_row: Fraction | int = 1,
    keys: int = 1,
    mechanisms: tuple[str, ...] = MECHANISMS,
) -> StreamPlan:
    """The budget each mechanism needs so every released point is within ``± target``.

    Parameters
    ----------
    target
        Half-width every released point's interval must meet (in the statistic's units).
    horizon
        Number of buckets released.
    unit
        The window unit (window, bounds).
    confidence
        Level of the intervals.
    kind
        ``"pure"`` (discrete Laplace, ``PureDP``) or ``"zcdp"`` (discrete Gaussian, ``ZCDP``).
    what
        ``"running"`` totals, ``"daily"`` bucket values, or ``"both"``.
    per_row, keys
        A row's largest units (1 for a count) and the number of public keys.
    """
    if isinstance(target, bool) or not isinstance(target, int | float) or not target >= 1:
        raise InvalidParameterError(f"target must be a half-width >= 1, e.g. 25; got {target!r}.")
    if kind not in ("pure", "zcdp"):
        raise InvalidParameterError(f"kind must be 'pure' or 'zcdp', got {kind!r}.")
    if what not in ("running", "daily", "both"):
        raise InvalidParameterError(f"what must be running, daily or both; got {what!r}.")
    confidence = check_confidence(confidence)
    plans = []
    for name in mechanisms:
        strategy = build_strategy(name, horizon)
        noise_kind = "laplace" if kind == "pure" else "gaussian"
        parameter = _largest_parameter(strategy, noise_kind, target, confidence, what)
        probe = PureDP(1) if kind == "pure" else ZCDP(1)
        _, sens = stream_noise(strategy, unit, probe, per_row=per_row, keys=keys)
        budget: Budget = (
            PureDP(sens.l1 / parameter)
            if kind == "pure"
            else ZCDP(sens.l2_squared / (2 * parameter * parameter))
        )
        noise, _ = stream_noise(strategy, unit, budget, per_row=per_row, keys=keys)
        running, daily = point_half_widths(strategy, noise, confidence)
        plans.append(
            MechanismPlan(
                mechanism=name,
                budget=budget,
                noise=noise,
                sensitivity=sens,
                interval="exact" if strategy.integer_weights else "normal",
                running_half_width_max=float(running.max()),
                running_half_width_last=float(running[-1]),
                daily_half_width_max=float(daily.max()),
                running_rmse_last=math.sqrt(noise.variance() * strategy.running_norms()[-1]),
            )
        )
    return StreamPlan(target, confidence, horizon, what, unit.to_dict(), tuple(plans))


def _largest_parameter(
    strategy: Strategy, kind: str, target: float, confidence: float, what: Target
) -> Fraction:
    """Largest noise parameter on the 1/1024 grid with every point's half-width <= target."""

    def width(parameter: Fraction) -> float:
        noise = (LaplaceNoise if kind == "laplace" else GaussianNoise)(parameter)
        if strategy.integer_weights:  # the worst day is the one with the most draws
            widths = [
                float(sum_half_width(noise, int((w != 0).sum(axis=1).max()), confidence))
                for w, wanted in ((strategy.running, "running"), (strategy.daily, "daily"))
                if what in (wanted, "both")
            ]
            return max(widths)
        running, daily = point_half_widths(strategy, noise, confidence)
        chosen = {"running": [running], "daily": [daily], "both": [running, daily]}[what]
        return max(float(c.max()) for c in chosen)

    largest = largest_parameter(width, target, rounds=40)
    if largest is None:
        raise InvalidParameterError(
            f"±{target} is below what any noise allows for {strategy.name!r} over "
            f"{strategy.horizon} buckets; ask for a wider interval."
        )
    return largest
