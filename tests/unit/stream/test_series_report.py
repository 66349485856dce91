"""The bounding report of a batch series: exact engine counts, their sensitivity under the
window unit (with displacement), the budget split, and the note when no report is asked."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.data._bounding import ClampedSum
from ethica.data._time_bounding import CAPPED, clamp_columns
from ethica.privacy import Ledger, PureDP
from ethica.privacy.release import Sum
from ethica.privacy.stream import UserWindow, release_series, series_sensitivity
from ethica.privacy.stream._series import series_frame
from tests.unit.stream._audit import START, add_rows, rows_of, visits

UNIT = UserWindow("user", window=2)
CLAMP = ClampedSum("value", "x", 0.0, 10.0, 1.0)
BELOW, ABOVE = clamp_columns([CLAMP])[0]


def _report_totals(
    data: pd.DataFrame, unit: UserWindow, block: int, cap: int, salt: int
) -> np.ndarray:
    frame = series_frame(
        data, unit, time="t", start=START, periods=8, by=None, keys=(), clamped=CLAMP,
        block=block, max_cells=cap, salt=salt, report=True,
    )  # fmt: skip
    return np.array([frame[CAPPED].sum(), frame[BELOW].sum(), frame[ABOVE].sum()], dtype=int)


def _rows(user: str, day: int, values: list[float]) -> list[dict[str, object]]:
    return [
        {"user": user, "t": START + timedelta(days=day, hours=i), "x": v}
        for i, v in enumerate(values)
    ]


def test_report_counts_capped_users_once_and_clamped_kept_values() -> None:
    data = pd.DataFrame(
        _rows("a", 0, [-5.0, -6.0, -7.0])  # 3 rows in one cell: capped, keeps one below
        + _rows("a", 3, [-1.0, -2.0])  # capped again: still one user
        + _rows("b", 1, [20.0])  # above, kept
        + _rows("c", 1, [float("nan")])  # NaN: never counted
        + _rows("d", 2, [5.0])
        + _rows("d", 4, [5.0])  # one row per bucket: not capped
    )
    for salt in range(3):
        assert _report_totals(data, UNIT, 1, 1, salt).tolist() == [1, 2, 1]


def test_report_sensitivity_under_the_window_unit_with_displacement() -> None:
    """One user's rows in one window change ``users_capped`` by at most 1 and the clamp pair
    by at most ``C m`` (here ``4D = 4``, attained when both blocks' old cells are displaced)."""
    unit = UserWindow("user", window=4, max_buckets=1)
    _, cells, block, cap = series_sensitivity(unit, periods=8, keys=1)
    base = visits(8, seed=2).assign(x=5.0)
    outside = rows_of("adv", [0, 7], 1).assign(x=-3.0)  # below: kept, one cell per block
    inside = rows_of("adv", range(2, 6), 1).assign(x=30.0)  # above
    pair = add_rows("window 2..5", pd.concat([base, outside], ignore_index=True), inside)
    worst = 0
    for salt in range(12):
        a = _report_totals(pair.first, unit, block, cap, salt)
        b = _report_totals(pair.second, unit, block, cap, salt)
        assert abs(int(b[0] - a[0])) <= 1
        clamp_change = int(np.abs(b[1:] - a[1:]).sum())
        assert clamp_change <= cells * unit.max_rows
        worst = max(worst, clamp_change)
    assert worst == cells == 4  # the bound is attained: 2 displaced below, 2 added above


def test_release_spends_the_share_on_the_report_and_the_rest_on_the_cells(tmp_path: Path) -> None:
    data = pd.DataFrame(_rows("a", 0, [-5.0, 3.0, 50.0]) + _rows("b", 1, [20.0]))
    ledger = Ledger(tmp_path / "l.sqlite3")
    ledger.create_dataset("visits", PureDP(1), privacy_unit=UNIT.to_dict())
    release = release_series(
        data, time="t", start=START, periods=3, unit=UNIT, budget=PureDP(1),
        measure=Sum("x", 0, 10), bounding_share=Fraction(1, 4), ledger=ledger,
        dataset="visits", request_id="r1",
    )  # fmt: skip
    # cells: PureDP(3/4) on Δ1 = 2 cells × 10 units / step 0.01 = 2000: scale 8000/3
    assert release.noise == {"kind": "laplace", "scale": "8000/3"}
    report = release.bounding
    capped, clamped = report["users_capped"], report["values_clamped"]
    # the report's 1/4 split between two vectors: 1/8 each, on Δ1 = 1 and Δ1 = C m = 2
    assert capped["budget"]["epsilon"] == "1/8" and capped["noise"] == {"scale": "8"}
    assert clamped["budget"]["epsilon"] == "1/8" and clamped["noise"] == {"scale": "16"}
    half = capped["ci_high"] - capped["value"]
    assert half == capped["value"] - capped["ci_low"] > 0
    assert set(clamped) >= {"below", "above"}
    assert ledger.status("visits").spent == PureDP(1)  # the whole budget, once
    again = release_series(
        data, time="t", start=START, periods=3, unit=UNIT, budget=PureDP(1),
        measure=Sum("x", 0, 10), bounding_share=Fraction(1, 4), ledger=ledger,
        dataset="visits", request_id="r1",
    )  # fmt: skip
    assert again.bounding == report  # replayed from the ledger, not redrawn


def test_without_a_share_every_series_says_what_bounding_may_have_removed() -> None:
    data = pd.DataFrame(_rows("a", 0, [1.0, 2.0]))
    release = release_series(
        data, time="t", start=START, periods=2, unit=UNIT, budget=PureDP(1), by="user",
        keys=["a"],
    )  # fmt: skip
    notes = release.bounding
    assert "bounding_share" in notes["report"]
    assert "max_rows=1" in notes["rows_dropped_by_caps"]
    assert "public keys" in notes["rows_outside"]
    assert all(isinstance(v, str) for v in notes.values())  # no number from the data


@pytest.mark.parametrize("share", [0, 1, 1.5, -0.1, float("nan"), True, "1/2"])
def test_bounding_share_outside_zero_one_is_refused_before_anything(share: object) -> None:
    with pytest.raises(InvalidParameterError, match="bounding_share"):
        release_series(
            "/nonexistent.csv", time="t", start=START, periods=2, unit=UNIT,
            budget=PureDP(1), bounding_share=share,  # type: ignore[arg-type]
        )  # fmt: skip
