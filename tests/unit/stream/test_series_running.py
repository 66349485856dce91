"""Running totals of a batch series: the stream's mechanisms over the whole grid, the same
sensitivity and noise as a stream of that horizon, intervals that cover, and the refusals."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ZCDP, Ledger, PureDP
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.stream import (
    MECHANISMS,
    SeriesRelease,
    UserWindow,
    build_strategy,
    release_series,
    stream_noise,
)
from ethica.privacy.stream._series_running import plan_running
from tests.unit.stream.test_series import START, _truth, _visits

UNIT = UserWindow("user", window=7)
KEYS = ["a", "b", "c"]


def _release(budget: Budget, running: str) -> SeriesRelease:
    return release_series(
        _visits(periods=20), time="t", start=START, periods=20, unit=UNIT, budget=budget,
        by="shop", keys=KEYS, running=running,
    )  # fmt: skip


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_running_totals_are_the_truth_at_a_huge_budget(mechanism: str) -> None:
    release = _release(ZCDP(10**12), mechanism)
    truth = _truth(_visits(periods=20), 20).to_numpy().reshape(20, 3)
    frame = release.to_frame()
    np.testing.assert_allclose(frame["value"].to_numpy().reshape(20, 3), truth, atol=0.5)
    running = frame["running"].to_numpy().reshape(20, 3)
    np.testing.assert_allclose(running, truth.cumsum(axis=0), atol=0.5)
    assert {"running_lower", "running_upper"} <= set(frame.columns)
    assert release.interval == ("exact" if mechanism in ("naive", "tree") else "normal")


@pytest.mark.parametrize("mechanism", ["tree", "ls-tree", "factorization"])
def test_noise_and_sensitivity_are_the_streams(mechanism: str) -> None:
    """The same release as a stream of 20 buckets with 3 keys would make, paid once."""
    release = _release(PureDP(1), mechanism)
    noise, sens = stream_noise(build_strategy(mechanism, 20), UNIT, PureDP(1), keys=3)
    assert release.sensitivity == {"l1": str(sens.l1), "l2_squared": str(sens.l2_squared)}
    assert release.noise == {"kind": "laplace", "scale": str(noise.parameter)}


def test_naive_running_totals_are_sums_of_the_released_cells() -> None:
    """Post-processing of the cells, so block bounding (max_buckets) is allowed."""
    unit = UserWindow("user", window=7, max_buckets=2)
    release = release_series(
        _visits(periods=20), time="t", start=START, periods=20, unit=unit, budget=PureDP(1),
        by="shop", keys=KEYS, running="naive",
    )  # fmt: skip
    values = np.asarray(release.value).reshape(20, 3)
    np.testing.assert_array_equal(np.asarray(release.running).reshape(20, 3), values.cumsum(0))
    widths = np.asarray(release.running_half_width).reshape(20, 3)
    assert (np.diff(widths[:, 0]) >= 0).all() and widths[-1, 0] > widths[0, 0]


def test_other_mechanisms_with_block_bounding_are_refused_before_the_charge(
    tmp_path: Path,
) -> None:
    unit = UserWindow("user", window=7, max_buckets=2)
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.create_dataset("v", PureDP(2), privacy_unit=unit.to_dict())
    with pytest.raises(InvalidParameterError, match=r"max_buckets=2.*running='naive'"):
        release_series(
            _visits(periods=20), time="t", start=START, periods=20, unit=unit,
            budget=PureDP(1), running="tree", ledger=ledger, dataset="v",
        )  # fmt: skip
    with pytest.raises(InvalidParameterError, match="exceeds the largest supported"):
        release_series(
            _visits(periods=20), time="t", start=START, periods=3000, unit=UNIT,
            budget=PureDP(1), running="ls-tree",
        )  # fmt: skip
    assert ledger.status("v").charges == 0


@pytest.mark.parametrize("mechanism", ["tree", "factorization"])
def test_running_intervals_cover_the_truth(mechanism: str) -> None:
    """2,000 draws of the plan's release on a fixed grid (the engine's part is tested above):
    the running totals' intervals cover at their level and the estimates are unbiased.

    The 30 running totals of one draw share noise, so their hits are correlated: the
    standard error of the coverage is taken from the per-draw coverages (independent),
    not from 30 x 2,000 as if every hit were independent (which understates it ~1.9x)."""
    plan = plan_running(
        mechanism, unit=UNIT, budget=ZCDP(Fraction(1, 2)), law="gaussian", periods=30,
        keys=1, per_row=Fraction(1), cells=(None, None), confidence=0.9,  # type: ignore[arg-type]
    )  # fmt: skip
    x = np.random.default_rng(0).integers(0, 50, (30, 1))
    truth = x.cumsum(axis=0)[:, 0]
    draws = 2000
    errors = np.array([plan.release(x)[1][:, 0] - truth for _ in range(draws)])
    per_draw = (np.abs(errors) <= plan.running_half_width).mean(axis=1)
    standard_error = per_draw.std(ddof=1) / np.sqrt(draws)
    assert per_draw.mean() >= 0.9 - 4 * standard_error  # 4 SE ~ 0.009: a 5% narrower interval fails
    sd = np.sqrt(plan.noise.variance() * plan.strategy.running_norms())
    assert np.abs(errors.mean(axis=0)).max() <= 4.5 * sd.max() / np.sqrt(draws)


def test_running_is_read_from_the_spec(tmp_path: Path) -> None:
    from ethica.privacy.stream._series import read_series_spec

    spec = tmp_path / "s.yaml"
    spec.write_text(
        "dataset: v\ntime: t\nstart: 2026-01-01\nperiods: 20\nbudget: {epsilon: 1}\n"
        "privacy_unit: {user: user, window: 7}\nrunning: tree\nbounding_share: 0.1\n"
    )
    arguments = read_series_spec(spec)
    assert arguments["running"] == "tree"
    assert arguments["bounding_share"] == Fraction(1, 10)  # the decimal, exactly
