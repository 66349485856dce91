"""Review findings on the stream/series code (reproductions that guard their fixes).

Finding 1: the continual-release measurement ``m = R x + z`` is computed in int64 numpy
(``RunningPlan.release``: ``self.strategy.matrix @ exact``; ``Stream._compute``:
``strategy.matrix[position, : index + 1] @ x``). With ``factorization`` the fixed-point
strategy ``R~`` has entries up to ``2**16``, so a grid of exact sums that the engine produces
without overflow (fewer than ``2**32`` rows of at most ``2**31`` units each) can overflow the
product. numpy wraps silently: the release is off by ``2**64 / 2**16 = 2**48`` units while its
interval claims a half-width of ~``1e10`` (the interval is false: contract rules 2 and 5).
Privacy itself holds: int64 arithmetic is arithmetic mod ``2**64``, so the wrapped output is
``(R x + z) mod 2**64``, a public function of the correct noisy measurement (post-processing;
checked: neighbours one user apart straddling the wrap are not told apart beyond epsilon).
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ZCDP, Ledger
from ethica.privacy.budget._budgets import PureDP, zero_like
from ethica.privacy.budget._ledger import SYSTEM_PREFIX
from ethica.privacy.stream import Stream, StreamSpec
from ethica.privacy.stream._budget import spend
from ethica.privacy.stream._series import series_sensitivity
from ethica.privacy.stream._series_running import RunningPlan, plan_running
from ethica.privacy.stream._state import sidecar_path
from ethica.privacy.stream._unit import UserWindow

UNITS = 2**31  # a row's largest units: Sum(v, 0, 2**31, step=1), the most MAX_UNITS_PER_ROW allows
USERS = 70_000  # one row each per bucket: 70,000 * 2**31 ~ 1.5e14 units, far below 2**63


def _plan() -> RunningPlan:
    unit = UserWindow("u", window=1, bucket="day", max_keys=1, max_rows=1)
    per_row = Fraction(UNITS)
    sens, _, _, _ = series_sensitivity(unit, periods=2, keys=1, per_row=per_row)
    cells = (spend(sens, PureDP(1), "laplace"), sens)
    return plan_running(
        "factorization", unit=unit, budget=PureDP(1), law="laplace", periods=2, keys=1,
        per_row=per_row, cells=cells, confidence=0.95,
    )  # fmt: skip


def test_factorization_running_totals_do_not_wrap_on_sums_the_engine_produces() -> None:
    plan = _plan()
    exact = np.array([[USERS * UNITS], [USERS * UNITS]], dtype=np.int64)  # what the engine sums
    assert int(exact.max()) < 2**62  # the engine's sums are far from overflowing
    _, running = plan.release(exact)
    truth = np.cumsum(exact[:, 0]).astype(float)
    half = np.asarray(plan.running_half_width)
    # 1,000 half-widths: a correct release misses this with probability ~0
    assert np.all(np.abs(running[:, 0] - truth) <= 1000 * half), (running[:, 0], truth, half)


def _shop(tmp: Path) -> tuple[Ledger, StreamSpec, Path]:
    """A ledger with the dataset ``visits``, a 4-day stream spec ``shop``, one day's file."""
    unit = UserWindow("user", window=7)
    ledger = Ledger(tmp / "ledger.sqlite3")
    ledger.create_dataset("visits", ZCDP(5), privacy_unit=unit)
    spec = StreamSpec(
        name="shop", dataset="visits", unit=unit, start=datetime(2026, 3, 1), horizon=4,
        budget=ZCDP(2), mechanism="tree",
    )  # fmt: skip
    day = tmp / "d.parquet"
    pd.DataFrame({"user": np.arange(50)}).to_parquet(day)
    return ledger, spec, day


def test_another_request_under_a_streams_day_id_does_not_block_the_stream(
    tmp_path: Path,
) -> None:
    """Finding 6 (mended): request ids are one namespace per dataset, shared by streams,
    series, sessions and the service. A stream's records now live under the ledger's reserved
    prefix, which no caller's request id may take: a charge recorded first under what used to
    be a stream's day id is an ordinary request, and one under the reserved id is refused for
    free."""
    ledger, spec, day = _shop(tmp_path)
    with ledger:
        with Stream.create(spec, ledger) as stream:
            stream.append("2026-03-01", day)
            ledger.record_charge(
                "visits", ZCDP(Fraction(1, 1000)), "someone else's count",
                request_id="shop:2026-03-02T00:00:00",
            )  # fmt: skip
            with pytest.raises(InvalidParameterError, match="reserved for ethica's own"):
                ledger.record_charge(
                    "visits", ZCDP(Fraction(1, 1000)), "a squatter",
                    request_id=f"{SYSTEM_PREFIX}stream:shop:2026-03-03T00:00:00",
                )  # fmt: skip
            charges = ledger.status("visits").charges
            released = stream.append("2026-03-02", day)
            assert released.index == 1
            assert stream.append("2026-03-03", day).index == 2
        assert ledger.status("visits").charges == charges + 2  # the squatter recorded nothing


def test_a_day_an_earlier_version_recorded_is_replayed_not_drawn_again(tmp_path: Path) -> None:
    """Earlier versions kept a stream's records under plain ids (``shop:<bucket>``). With the
    state file lost, appending that day again returns the stored release (fresh noise on a day
    already released would be an unpaid second measurement)."""
    ledger, spec, day = _shop(tmp_path)
    with ledger:
        with Stream.create(spec, ledger) as stream:
            first = stream.append("2026-03-01", day)
        # what an earlier version left: the day under its plain id, then the state file lost
        old = ledger.record_charge(
            "visits", zero_like(spec.budget), "stream shop: bucket (earlier version)",
            request_id="shop:2026-03-01T00:00:00", fingerprint=spec.fingerprint(),
        )  # fmt: skip
        ledger.complete(old.id, first.to_dict(), store=True)
        sidecar_path(ledger.path).unlink()
        with Stream.create(spec, ledger) as stream:
            again = stream.append("2026-03-01", day)
        assert again.replayed and (again.daily, again.running) == (first.daily, first.running)
