"""Intervals on every point (exact law, normal law) and the planner's choices at T = 365."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import discrete_gaussian, discrete_laplace
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise, Noise
from ethica.privacy.stream import (
    MECHANISMS,
    UserWindow,
    build_strategy,
    plan_stream,
    point_half_widths,
    sum_half_width,
)

LAWS: dict[str, type[Noise]] = {"laplace": LaplaceNoise, "gaussian": GaussianNoise}


@pytest.mark.parametrize("kind", ["laplace", "gaussian"])
@pytest.mark.parametrize("count", [2, 5, 9])
def test_exact_sum_interval_is_the_smallest_covering_one(kind: str, count: int) -> None:
    scale = Fraction(5, 2)
    k = sum_half_width(LAWS[kind](scale), count, 0.9)
    reps = 100_000
    draw = discrete_laplace if kind == "laplace" else discrete_gaussian
    sums = draw(scale, reps * count).reshape(reps, count).sum(axis=1)
    se = (0.9 * 0.1 / reps) ** 0.5
    assert np.mean(np.abs(sums) <= k) >= 0.9 - 4 * se
    assert np.mean(np.abs(sums) <= k - 1) < 0.9 + 4 * se  # one less would not cover


@pytest.mark.parametrize("name", MECHANISMS)
@pytest.mark.parametrize("kind", ["laplace", "gaussian"])
def test_interval_coverage_over_repeated_streams(name: str, kind: str) -> None:
    """Over 2000 simulated streams, each day's running total and value are covered >= 95%."""
    horizon, reps = 64, 2000
    strategy = build_strategy(name, horizon)
    noise = LAWS[kind](Fraction(2))
    running_hw, daily_hw = point_half_widths(strategy, noise, 0.95)
    z = noise.draw(reps * strategy.matrix.shape[0]).reshape(reps, -1).astype(float)
    tol = 4 * (0.95 * 0.05 / reps) ** 0.5 + 1e-9
    for weights, hw in ((strategy.running, running_hw), (strategy.daily, daily_hw)):
        covered = (np.abs(z @ weights.T) <= hw).mean(axis=0)
        assert covered.min() >= 0.95 - tol
        # pooled over days, coverage is near the level (not vacuously wide)
        assert covered.mean() < 0.995


def test_binary_tree_trap_and_the_planner_at_365_days() -> None:
    """Pure DP, event-level: the plain tree is worse than naive at day 365 (the trap); the
    least-squares tree beats the plain tree at every day and naive from some day on; at
    day 1 naive is best, so for bucket values the planner picks naive."""
    unit = UserWindow("u", window=1)
    horizon = 365
    variances = {}
    for name in MECHANISMS:
        s = build_strategy(name, horizon)
        from ethica.privacy import PureDP
        from ethica.privacy.stream import stream_noise

        noise, _ = stream_noise(s, unit, PureDP(1))
        variances[name] = noise.variance() * s.running_norms()
    assert variances["tree"][-1] > variances["naive"][-1]
    assert (variances["ls-tree"] < variances["tree"] + 1e-9).all()
    assert variances["ls-tree"][-1] < variances["naive"][-1]
    assert variances["naive"][0] < min(v[0] for k, v in variances.items() if k != "naive")
    daily = plan_stream(25, horizon=horizon, unit=unit, what="daily")
    assert daily.recommended.mechanism == "naive"


def test_planner_meets_the_target_on_every_point_and_picks_the_cheapest() -> None:
    unit = UserWindow("u", window=28)
    plan = plan_stream(25, horizon=365, unit=unit, kind="zcdp", what="running")
    sizes = {m.mechanism: m.budget.rho for m in plan.mechanisms}  # type: ignore[union-attr]
    assert plan.recommended.mechanism == min(sizes, key=sizes.__getitem__)
    for m in plan.mechanisms:
        assert m.running_half_width_max <= 25
    # a little less budget would miss the target: the plan is tight (to the 1/1024 grid)
    naive = next(m for m in plan.mechanisms if m.mechanism == "naive")
    assert naive.running_half_width_max > 24
    with pytest.raises(InvalidParameterError, match="target"):
        plan_stream(0.5, horizon=10, unit=unit)
