"""Empirical privacy audits of the bounding reports (``_audit.py``'s method): a stream's
per-bucket ``users_capped`` and a block-bounded series' clamp pair, each on the neighbour that
attains its sensitivity, with the sensitivity understated as the control (one bucket short
of the window; the displaced cells ignored)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import numpy as np
import pandas as pd

from ethica.data._bounding import ClampedSum
from ethica.data._time_bounding import CAPPED, clamp_columns
from ethica.privacy import PureDP
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.stream import StreamSpec, UserWindow, series_sensitivity
from ethica.privacy.stream._budget import spend
from ethica.privacy.stream._series import series_frame
from ethica.privacy.stream._series_report import series_report
from ethica.privacy.stream._stream import stream_report
from ethica.privacy.testing import audit
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
CLAIM = PureDP(1)


def _per_bucket_capped(unit: UserWindow) -> Exact:
    """The stream's report input: each bucket bounded on its own, as appends do."""

    def exact(data: pd.DataFrame) -> np.ndarray:
        out = []
        for day in range(HORIZON):
            frame = series_frame(
                data, unit, time="t", start=START + timedelta(days=day), periods=1, by=None,
                keys=(), clamped=None, block=1, max_cells=1, report=True,
            )  # fmt: skip
            out.append(int(frame[CAPPED].sum()) if len(frame) else 0)
        return np.asarray(out, dtype=np.int64)

    return exact


def test_stream_users_capped_keeps_its_claim_and_a_short_window_is_caught() -> None:
    """A user with 3 rows (max_rows 1) in each bucket of a 2-bucket window is capped in both:
    the report vector moves by ``w' = 2``."""
    unit = UserWindow("user", window=2)
    spec = StreamSpec(
        name="s", dataset="v", unit=unit, start=START, horizon=HORIZON, budget=CLAIM,
        mechanism="naive", time="t", bounding_share=Fraction(1, 2),
    )  # fmt: skip
    plan = stream_report(spec, CLAIM)  # the report's whole share: here the claim itself
    assert plan.capped_sensitivity == Sensitivity(Fraction(2), Fraction(2))
    pair = add_rows("capped in buckets 3, 4", visits(HORIZON), rows_of("adv", [3, 4]))
    exact = _per_bucket_capped(unit)
    mechanism = LinearRelease.for_pair(exact, plan.capped, pair, "users capped")
    assert mechanism.change_l1 == 2
    result = audit(mechanism, pairs=[pair], claimed=CLAIM, runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound <= 1, result.to_frame()
    short = spend(Sensitivity(Fraction(1), Fraction(1)), CLAIM)
    control = LinearRelease.for_pair(exact, short, pair, "users capped, window 1")
    caught = audit(control, pairs=[pair], claimed=CLAIM, runs=RUNS, confidence=CONFIDENCE)
    assert caught.epsilon_lower_bound > 1, caught.to_frame()


def test_series_clamp_pair_keeps_its_claim_and_ignoring_displacement_is_caught() -> None:
    """Blocks of 4, one cell per user per block: the user's old cells (values below the
    bounds) in buckets 0 and 7 are displaced by new ones above the bounds in the window 2..5
    (a salt chosen for it): the pair moves by ``C m = 4``."""
    unit = UserWindow("user", window=4, max_buckets=1)
    clamped = ClampedSum("value", "x", 0.0, 10.0, 1.0)
    _, cells, block, cap = series_sensitivity(unit, periods=HORIZON, keys=1)
    plan = series_report(CLAIM, law="laplace", cells=cells, max_rows=1, clamped=clamped)
    assert plan.clamped is not None and cells == 4
    base = pd.concat(
        [visits(HORIZON, seed=1).assign(x=5.0), rows_of("adv", [0, 7], 1).assign(x=-3.0)],
        ignore_index=True,
    )
    pair = add_rows("window 2..5", base, rows_of("adv", range(2, 6), 1).assign(x=30.0))
    below, above = clamp_columns([clamped])[0]

    def pair_of(salt: int) -> Exact:
        def exact(data: pd.DataFrame) -> np.ndarray:
            frame = series_frame(
                data, unit, time="t", start=START, periods=HORIZON, by=None, keys=(),
                clamped=clamped, block=block, max_cells=cap, salt=salt, report=True,
            )  # fmt: skip
            return np.asarray([frame[below].sum(), frame[above].sum()], dtype=np.int64)

        return exact

    exact = next(
        e
        for e in map(pair_of, range(64))
        if int(np.abs(e(pair.first) - e(pair.second)).sum()) == cells
    )
    mechanism = LinearRelease.for_pair(exact, plan.clamped, pair, "clamp pair")
    result = audit(mechanism, pairs=[pair], claimed=plan.each, runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound <= result.claimed_epsilon, result.to_frame()
    two_d = spend(Sensitivity(Fraction(2), Fraction(4)), plan.each)  # 2D m: no displacement
    control = LinearRelease.for_pair(exact, two_d, pair, "clamp pair, 2D")
    caught = audit(control, pairs=[pair], claimed=plan.each, runs=RUNS, confidence=CONFIDENCE)
    assert caught.epsilon_lower_bound > caught.claimed_epsilon, caught.to_frame()
