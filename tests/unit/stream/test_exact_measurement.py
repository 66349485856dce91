"""The measurement ``m = R x + z`` stays exact when ``R x`` leaves int64.

The factorisation's fixed-point ``R`` has entries up to ``2**16``: on large sums the engine
produces without overflow, ``R x`` does not fit in int64 and numpy would wrap it silently
(the review's finding 1: running totals off by ``2**48`` units under an interval of ``1e10``).
A real stream appended day by day, with its state file between days, must stay exact.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ethica.data._bounding import ClampedSum
from ethica.privacy import Ledger, PureDP
from ethica.privacy.stream import Stream, StreamSpec
from ethica.privacy.stream._state import StreamStore, sidecar_path
from ethica.privacy.stream._strategies import combine, measure
from ethica.privacy.stream._unit import UserWindow

UNITS = 2**31  # one row's units: value 2**31 on a grid of step 1
USERS = 70_000  # 70,000 * 2**31 ~ 1.5e14 units a day: fits int64, R x does not


def test_measure_switches_to_exact_integers_beyond_int64() -> None:
    rows = np.array([[2**16, 2**16]], dtype=np.int64)
    x = np.array([[USERS * UNITS], [USERS * UNITS]], dtype=np.int64)
    m = measure(rows, x, np.array([3], dtype=np.int64))
    assert m.dtype == object and m[0, 0] == 2**16 * 2 * USERS * UNITS + 3
    small = measure(rows, np.array([[5], [7]], dtype=np.int64), np.array([-1], dtype=np.int64))
    assert small.dtype == np.int64 and small[0, 0] == 2**16 * 12 - 1
    assert combine(np.array([[1.0, 1.0]]), np.array([2**70, 1], dtype=object), True)[0] == 2.0**70


def test_a_stream_of_large_sums_keeps_exact_running_totals(tmp_path: Path) -> None:
    unit = UserWindow("u", window=1, bucket="day", max_keys=1, max_rows=1)
    spec = StreamSpec(
        name="big", dataset="sums", unit=unit, start=datetime(2026, 1, 1), horizon=8,
        budget=PureDP(1), mechanism="factorization",
        measure=ClampedSum("value", "v", 0.0, float(UNITS), 1.0),
    )  # fmt: skip
    day = tmp_path / "day.parquet"
    pd.DataFrame({"u": np.arange(USERS), "v": np.full(USERS, float(UNITS))}).to_parquet(day)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.create_dataset("sums", PureDP(2), privacy_unit=unit)
        with Stream.create(spec, ledger) as stream:
            released = [stream.append(f"2026-01-0{i}", day) for i in (1, 2, 3)]
        store = StreamStore(sidecar_path(ledger.path))
        try:
            stored = store.measurements("big", 8, 1)
        finally:
            store.close()
    assert stored.dtype == object  # beyond int64, kept as exact integers in the state file
    daily_truth = USERS * UNITS
    for i, r in enumerate(released, start=1):
        # the noise is a few 1e10 units; a wrapped product is off by 2**48 ~ 2.8e14
        assert abs(r.running[0] - i * daily_truth) <= 1000 * r.running_half_width
        assert abs(r.daily[0] - daily_truth) <= 1000 * r.daily_half_width
