"""Empirical privacy audits of the stream mechanisms and of block-bounded series
(DESIGN.md, contract rule 6): on the neighbour that attains the sensitivity, the 99% lower
bound on epsilon stays within the claim (pure epsilon with discrete Laplace noise; zCDP with
the discrete Gaussian, converted at delta = 0.1), and the same release with its sensitivity
understated (a window one bucket short; the displacement ignored: ``2D`` cells instead of
``4D``) is caught (lower bound above the claim).

Neighbours differ by one user's rows in one window (3 rows per bucket, cut to ``max_rows = 1``
by the engine). The audited output is the measurement ``m = R x + z`` of which every
released point is a function (``_audit.py``). Each audit: 100 000 runs per data set, one
pair, Clopper-Pearson at 99%; a correct release passes with probability >= 0.99.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica.data._bounding import ClampedSum
from ethica.privacy import ZCDP, ApproxDP, Ledger, PureDP
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._noise import LaplaceNoise, Noise
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.stream import (
    MECHANISMS,
    Stream,
    StreamSpec,
    UserWindow,
    build_strategy,
    series_sensitivity,
    stream_noise,
)
from ethica.privacy.stream._budget import spend
from ethica.privacy.stream._series import grid_of, series_frame
from ethica.privacy.stream._strategies import window_norms
from ethica.privacy.testing import AuditResult, NeighbouringPair, audit
from tests.unit.stream._audit import (
    CONFIDENCE,
    RUNS,
    START,
    Exact,
    LinearRelease,
    add_rows,
    rows_of,
    visits,
)

HORIZON = 8
WINDOW = 2
UNIT = UserWindow("user", window=WINDOW, max_keys=1, max_rows=1)


def _grid(
    data: pd.DataFrame, unit: UserWindow, *, block: int, cap: int, salt: int | None = None
) -> np.ndarray:
    """The release's exact bounded counts (its own engine query)."""
    frame = series_frame(
        data, unit, time="t", start=START, periods=HORIZON, by=None, keys=(), clamped=None,
        block=block, max_cells=cap, salt=salt,
    )  # fmt: skip
    return grid_of(frame, by=None, keys=(), periods=HORIZON, clamped=None)


def _audit(
    exact: Exact,
    noise: Noise,
    pair: NeighbouringPair,
    claim: Budget,
    delta: float | None = None,
) -> AuditResult:
    mechanism = LinearRelease.for_pair(exact, noise, pair, pair.name)
    return audit(
        mechanism, pairs=[pair], claimed=claim, runs=RUNS, confidence=CONFIDENCE, delta=delta
    )


# ---------------------------------------------------------------- continual release
def _stream_case(name: str) -> tuple[Exact, NeighbouringPair]:
    """The stream's measurement ``R x`` (each bucket bounded on its own, as appends do) and
    the worst neighbour: a user added on the window that maximises ``||R 1_I||_1``."""
    strategy = build_strategy(name, HORIZON)

    def exact(data: pd.DataFrame) -> np.ndarray:
        x = _grid(data, UNIT, block=1, cap=UNIT.max_keys)
        return np.asarray(strategy.matrix @ x).ravel()

    l1, _ = window_norms(strategy, WINDOW)
    first = int(np.argmax(l1))
    window = range(first, first + WINDOW)
    pair = add_rows(
        f"add a user in buckets {list(window)}", visits(HORIZON), rows_of("adv", window)
    )
    return exact, pair


@pytest.mark.parametrize("name", MECHANISMS)
def test_stream_mechanism_keeps_its_claim_and_an_off_by_one_window_is_caught(name: str) -> None:
    exact, pair = _stream_case(name)
    strategy = build_strategy(name, HORIZON)
    claim = PureDP(1)
    noise, sens = stream_noise(strategy, UNIT, claim)
    # the sensitivity test: the neighbour changes R x by exactly the stated L1 (attained)
    assert LinearRelease.for_pair(exact, noise, pair, name).change_l1 == sens.l1
    result = _audit(exact, noise, pair, claim)
    assert result.epsilon_lower_bound <= 1, result.to_frame()
    # negative control: noise calibrated to a window of WINDOW - 1 buckets
    short, _ = stream_noise(strategy, dataclasses.replace(UNIT, window=WINDOW - 1), claim)
    control = _audit(exact, short, pair, claim)
    assert control.epsilon_lower_bound > 1, control.to_frame()


SUM_HORIZON = 4
SUM = ClampedSum("value", "x", 0.0, 2.0, 1.0)
"""Clamped to [0, 2] on a grid of 1: a row adds at most ``B = 2`` units."""


@pytest.mark.parametrize("name", MECHANISMS)
def test_stream_sum_keeps_its_claim_and_a_row_bound_one_unit_short_is_caught(name: str) -> None:
    """A sum over one-bucket windows: the adversary's rows hold 10 (clamped to 2, the most a
    row adds); the control calibrates the noise to ``B - 1 = 1`` unit per row. Horizon 4:
    the factorisation spreads a bucket over every later measurement, and fewer coordinates
    keep the likelihood ratio's top event frequent enough to resolve."""
    unit = dataclasses.replace(UNIT, window=1)
    strategy = build_strategy(name, SUM_HORIZON)
    first = int(np.argmax(window_norms(strategy, 1)[0]))
    base = visits(SUM_HORIZON).assign(x=np.resize([0.0, 1.0, 2.0], len(visits(SUM_HORIZON))))
    pair = add_rows(f"add a user in bucket {first}", base, rows_of("adv", [first]).assign(x=10.0))

    def exact(data: pd.DataFrame) -> np.ndarray:
        frame = series_frame(
            data, unit, time="t", start=START, periods=SUM_HORIZON, by=None, keys=(), clamped=SUM,
            block=1, max_cells=1,
        )  # fmt: skip
        x = grid_of(frame, by=None, keys=(), periods=SUM_HORIZON, clamped=SUM)
        return np.asarray(strategy.matrix @ x).ravel()

    claim = PureDP(1)
    noise, sens = stream_noise(strategy, unit, claim, per_row=SUM.per_row())
    assert SUM.per_row() == 2
    assert LinearRelease.for_pair(exact, noise, pair, name).change_l1 == sens.l1
    result = _audit(exact, noise, pair, claim)
    assert result.epsilon_lower_bound <= 1, result.to_frame()
    short, _ = stream_noise(strategy, unit, claim, per_row=SUM.per_row() - 1)
    control = _audit(exact, short, pair, claim)
    assert control.epsilon_lower_bound > 1, control.to_frame()


GAUSSIAN_DELTA = 0.1
"""zCDP claims are audited at ``(epsilon(rho, 0.1), 0.1)``: 10^5 runs cannot resolve events
of probability near ``1e-6``, but at ``delta = 0.1`` a sensitivity understated by one bucket
moves the bound past the claim."""


@pytest.mark.parametrize("name", MECHANISMS)
def test_zcdp_stream_keeps_its_claim_and_an_off_by_one_window_is_caught(name: str) -> None:
    exact, pair = _stream_case(name)
    strategy = build_strategy(name, HORIZON)
    claim = ZCDP(Fraction(1, 2))
    noise, _ = stream_noise(strategy, UNIT, claim)
    result = _audit(exact, noise, pair, claim, delta=GAUSSIAN_DELTA)
    assert result.epsilon_lower_bound <= result.claimed_epsilon, result.to_frame()
    short, _ = stream_noise(strategy, dataclasses.replace(UNIT, window=WINDOW - 1), claim)
    control = _audit(exact, short, pair, claim, delta=GAUSSIAN_DELTA)
    assert control.epsilon_lower_bound > control.claimed_epsilon, control.to_frame()


def test_approx_dp_stream_with_laplace_noise_keeps_its_claim() -> None:
    """``ApproxDP(1, 1e-6)`` spent with Laplace noise on the tree: epsilon-DP, delta unused."""
    exact, pair = _stream_case("tree")
    claim = ApproxDP(1, Fraction(1, 10**6))
    noise, _ = stream_noise(build_strategy("tree", HORIZON), UNIT, claim, noise="laplace")
    assert isinstance(noise, LaplaceNoise)
    result = _audit(exact, noise, pair, claim)
    assert result.delta == 1e-6
    assert result.epsilon_lower_bound <= 1, result.to_frame()


# ---------------------------------------------------------------- block-bounded series
BLOCK_UNIT = UserWindow("user", window=4, max_keys=1, max_rows=1, max_buckets=1)
"""Blocks of 4 buckets, at most one cell per user per block (``D = 1``)."""


def _displacing_pair() -> NeighbouringPair:
    """A user with one cell in bucket 0 (block 0) and one in bucket 7 (block 1) adds rows in
    the window of buckets 2..5, which straddles both blocks: when the new cells come first in
    hash order they displace the old ones, changing ``4D = 4`` cells."""
    base = pd.concat([visits(HORIZON, seed=1), rows_of("adv", [0, 7], 1)], ignore_index=True)
    return add_rows("add a user's rows in buckets 2..5", base, rows_of("adv", range(2, 6)))


def _series_exact(salt: int) -> Exact:
    def exact(data: pd.DataFrame) -> np.ndarray:
        return _grid(data, BLOCK_UNIT, block=4, cap=1, salt=salt).ravel()

    return exact


def _displacing_salt(pair: NeighbouringPair, cells: int) -> int:
    """The first salt whose hash order makes the pair change ``cells`` cells; on the way,
    the sensitivity test: no salt changes more than ``cells``."""
    for salt in range(64):
        exact = _series_exact(salt)
        change = int(np.abs(exact(pair.first) - exact(pair.second)).sum())
        assert change <= cells, salt
        if change == cells:
            return salt
    raise AssertionError("no salt displaced both blocks' cells")  # chance 4/9 per salt


def test_block_bounded_series_keeps_its_claim_and_ignoring_displacement_is_caught() -> None:
    claim = PureDP(1)
    sens, cells, block, cap = series_sensitivity(BLOCK_UNIT, periods=HORIZON, keys=1)
    assert (cells, block, cap) == (4, 4, 1)  # 4D: two added, two displaced
    pair = _displacing_pair()
    exact = _series_exact(_displacing_salt(pair, cells))
    # for a fixed hash order the release is Laplace on a grid that moves by 4 = Δ1: a bound
    # on the epsilon conditioned on the salt bounds the mechanism's
    result = _audit(exact, spend(sens, claim), pair, claim)
    assert result.epsilon_lower_bound <= 1, result.to_frame()
    two_d = Sensitivity(Fraction(2 * cap), Fraction(2 * cap))  # the window's cells alone
    control = _audit(exact, spend(two_d, claim), pair, claim)
    assert control.epsilon_lower_bound > 1, control.to_frame()


def test_the_audited_values_are_the_streams(tmp_path: Path) -> None:
    """The audits bound the whole table in one engine query, each bucket on its own; a real
    stream appends one file per bucket. Both give the same exact values (on both data sets of
    the pair), so the audited measurement ``R x`` is the stream's."""
    exact, pair = _stream_case("tree")
    for i, data in enumerate((pair.first, pair.second)):
        ledger = Ledger(tmp_path / f"l{i}.sqlite3")
        ledger.create_dataset("v", PureDP(1), privacy_unit=UNIT.to_dict())
        spec = StreamSpec(
            name="s", dataset="v", unit=UNIT, start=START, horizon=HORIZON, budget=PureDP(1),
            mechanism="tree", time="t",
        )  # fmt: skip
        with Stream.create(spec, ledger) as stream:
            for day in range(HORIZON):
                path = tmp_path / f"{i}-{day}.parquet"
                data[(data["t"] - START).dt.days == day].to_parquet(path)
                stream.append(spec.bucket_start(day), path)
            stored = stream._store.exact("s", HORIZON, 1)
        strategy = build_strategy("tree", HORIZON)
        np.testing.assert_array_equal(strategy.matrix @ stored[:, 0], exact(data))
