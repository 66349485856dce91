"""Batch time series: the exact window sensitivity (brute force), engine bounding, the
privacy contract with a real ledger, CSV sources read as text, and interval coverage."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    ReleaseFailedError,
    SchemaError,
)
from ethica.data import resolve_table
from ethica.data._time_bounding import BUCKET, bounded_series
from ethica.privacy import ZCDP, ApproxDP, Ledger, PureDP
from ethica.privacy.release import Sum
from ethica.privacy.stream import (
    SeriesRelease,
    UserWindow,
    release_series,
    series_sensitivity,
    window_cells,
)

START = datetime(2026, 1, 1)


# ---------------------------------------------------------------- sensitivity by brute force
def _kept(
    cells: frozenset[tuple[int, int]], order: dict[int, list[tuple[int, int]]], cap: int
) -> set[tuple[int, int]]:
    """The bounding rule: per block, the first ``cap`` of the user's cells in hash order."""
    kept: set[tuple[int, int]] = set()
    for ranked in order.values():
        kept.update([c for c in ranked if c in cells][:cap])
    return kept


def _windows(periods: int, window: int) -> list[range]:
    return [range(max(s, 0), min(s + window, periods)) for s in range(-(window - 1), periods)]


def _brute_joint(periods: int, keys: int, window: int, block: int, cap: int) -> int:
    """Max over every user cell set, window and hash order of the cells that change."""
    grid = [(t, k) for t in range(periods) for k in range(keys)]
    blocks = sorted({t // block for t in range(periods)})
    per_block = [[c for c in grid if c[0] // block == b] for b in blocks]
    best = 0
    for orders in itertools.product(*(itertools.permutations(cells) for cells in per_block)):
        order = {b: list(o) for b, o in zip(blocks, orders, strict=True)}
        for size in range(len(grid) + 1):
            for chosen in itertools.combinations(grid, size):
                cells = frozenset(chosen)
                with_all = _kept(cells, order, cap)
                for w in _windows(periods, window):
                    without = frozenset(c for c in cells if c[0] not in w)
                    best = max(best, len(with_all ^ _kept(without, order, cap)))
    return best


def _brute_by_block(periods: int, keys: int, window: int, block: int, cap: int) -> int:
    """The same maximum, taken block by block (the change is a sum over blocks, each a
    function of that block's cells and order only), so larger grids stay cheap."""
    best = 0
    for w in _windows(periods, window):
        total = 0
        for b in range(0, (periods - 1) // block + 1):
            cells = [
                (t, k) for t in range(b * block, min((b + 1) * block, periods)) for k in range(keys)
            ]
            if not any(t in w for t, _ in cells):
                continue
            worst = 0
            for ranked in itertools.permutations(cells):
                order = {b: list(ranked)}
                for size in range(len(cells) + 1):
                    for chosen in itertools.combinations(cells, size):
                        mine = frozenset(chosen)
                        without = frozenset(c for c in mine if c[0] not in w)
                        worst = max(
                            worst, len(_kept(mine, order, cap) ^ _kept(without, order, cap))
                        )
            total += worst
        best = max(best, total)
    return best


@pytest.mark.parametrize(
    ("periods", "keys", "window", "block", "cap"),
    [(4, 1, 2, 2, 1), (3, 1, 2, 2, 1), (4, 1, 1, 2, 1), (3, 2, 2, 3, 2)],
)
def test_window_cells_equals_a_joint_brute_force(
    periods: int, keys: int, window: int, block: int, cap: int
) -> None:
    assert window_cells(periods, keys, window, block, cap) == _brute_joint(
        periods, keys, window, block, cap
    )


@pytest.mark.parametrize(
    ("periods", "keys", "window", "block", "cap"),
    [
        (8, 1, 3, 3, 1), (8, 1, 3, 3, 2), (9, 1, 4, 3, 2), (7, 2, 2, 2, 1), (7, 2, 3, 2, 3),
        (6, 1, 6, 2, 1), (7, 1, 2, 4, 2), (5, 2, 5, 1, 2), (6, 1, 2, 5, 3), (10, 1, 5, 5, 2),
    ],
)  # fmt: skip
def test_window_cells_equals_a_block_by_block_brute_force(
    periods: int, keys: int, window: int, block: int, cap: int
) -> None:
    assert window_cells(periods, keys, window, block, cap) == _brute_by_block(
        periods, keys, window, block, cap
    )


def test_a_window_over_two_blocks_changes_up_to_four_caps_not_two() -> None:
    # displaced cells outside the window count: 2 blocks x (D new + D displaced)
    assert window_cells(28, 1, 7, 7, 2) == 8 == _brute_by_block(8, 1, 4, 4, 2) * 1
    assert window_cells(28, 1, 7, 7, 2) > 2 * 2
    # per-bucket bounding (block 1) never displaces: w * min(D, K) cells
    assert window_cells(30, 3, 7, 1, 2) == 14


def test_series_sensitivity_scales_cells_by_rows_and_units() -> None:
    unit = UserWindow("u", window=7, max_keys=2, max_rows=3, max_buckets=2)
    sens, cells, block, cap = series_sensitivity(unit, periods=28, keys=3, per_row=5)
    assert (block, cap) == (7, 4) and cells == window_cells(28, 3, 7, 7, 4)
    assert sens.l1 == cells * 15 and sens.l2_squared == cells * 225
    plain = UserWindow("u", window=7, max_keys=2, max_rows=3)
    sens1, cells1, block1, _ = series_sensitivity(plain, periods=28, keys=3)
    assert (block1, cells1) == (1, 14) and sens1.l1 == 42


# ---------------------------------------------------------------- the engine keeps the caps
def test_engine_keeps_at_most_d_cells_per_block_and_m_rows_per_cell() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame(
        {
            "user": np.zeros(n, dtype=np.int64),  # one heavy user everywhere
            "t": pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 21 * 86_400, n), unit="s"),
            "k": rng.choice(["a", "b", "c"], n),
        }
    )
    out = bounded_series(
        frame, user="user", max_cells=4, max_rows=2, by=["k"], key_filter={"k": ["a", "b", "c"]},
        time="t", start=START, periods=21, block=7,
    )  # fmt: skip
    per_block = out.groupby(out[BUCKET] // 7).size()
    assert (per_block == 4).all() and len(per_block) == 3
    assert (out["__count"] == 2).all()


def test_engine_neighbours_differ_by_at_most_the_sensitivity() -> None:
    """Same hash order (salt) on both sides; at most ``m`` rows per user and cell, so the row
    draw keeps every row and the two runs differ only by the user's rows in the window."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        [(u, pd.Timestamp(START) + pd.Timedelta(days=d, hours=h)) for u in range(5)
         for d in range(14) for h in range(int(rng.integers(0, 4)))],
        columns=["user", "t"],
    )  # fmt: skip
    day = (frame["t"] - pd.Timestamp(START)).dt.days
    neighbour = frame[~((frame["user"] == 0) & day.between(4, 8))]  # user 0, days 4..8
    # this window: block 0 holds day 4 (1 new + 1 displaced), block 1 days 5..8 (2 + 1)
    worst, seen = 5 * 3, 0
    assert window_cells(14, 1, 5, 5, 2) * 3 >= worst
    for salt in range(16):
        a, b = (
            bounded_series(f, user="user", max_cells=2, max_rows=3, time="t", start=START,
                           periods=14, block=5, salt=salt).set_index(BUCKET)["__count"]
            for f in (frame, neighbour)
        )  # fmt: skip
        diff = a.sub(b, fill_value=0).abs()
        assert diff.sum() <= worst and (diff <= 3).all()
        seen = max(seen, int((diff > 0).sum()))
    assert seen > 3  # displacement: more cells change than the 3 the window itself can hold


# ---------------------------------------------------------------- releases
def _visits(seed: int = 0, n: int = 3000, periods: int = 20) -> pd.DataFrame:
    """One row per user (so bounding drops nothing and the truth is the raw count)."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, periods * 86_400, n)
    return pd.DataFrame(
        {
            "user": np.arange(n),
            "t": pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s"),
            "shop": rng.choice(["a", "b", "c"], n),
            "spend": rng.uniform(-5, 60, n).round(2),
        }
    )


def _truth(frame: pd.DataFrame, periods: int, value: str | None = None) -> pd.DataFrame:
    day = (frame["t"] - pd.Timestamp(START)).dt.days
    grouped = frame.assign(at=day).groupby(["at", "shop"])
    counts = grouped[value].sum() if value else grouped.size()
    index = pd.MultiIndex.from_product([range(periods), ["a", "b", "c"]], names=["at", "shop"])
    return counts.reindex(index, fill_value=0)


UNIT = UserWindow("user", window=7)


def test_counts_and_sums_on_the_full_public_grid_at_a_huge_budget() -> None:
    frame = _visits(periods=10)
    release = release_series(
        frame, time="t", start="2026-01-01", periods=10, unit=UNIT, budget=PureDP(10_000),
        by="shop", keys=["a", "b", "c"],
    )  # fmt: skip
    assert len(release.value) == 30 and release.key[:3] == ("a", "b", "c")
    assert release.at[3] == "2026-01-02T00:00:00"
    np.testing.assert_array_equal(release.value, _truth(frame, 10).to_numpy())
    total = release_series(
        frame, time="t", start=START, periods=10, unit=UNIT, budget=ZCDP(10**8),
        by="shop", keys=["a", "b", "c"], measure=Sum("spend", 0, 50, step=0.01),
    )  # fmt: skip
    clamped = frame.assign(spend=frame["spend"].clip(0, 50))
    np.testing.assert_allclose(total.value, _truth(clamped, 10, "spend").to_numpy(), atol=0.6)
    assert total.statistic == "sum of spend"


def test_a_csv_is_read_as_text_and_parsed_in_the_engine(tmp_path: Path) -> None:
    frame = _visits(periods=6)
    frame["shop"] = frame["shop"].map({"a": "1", "b": "2", "c": "3"})  # numeric-looking keys
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    release = release_series(
        path, time="t", start="2026-01-01", periods=6, unit=UNIT, budget=PureDP(10_000),
        by="shop", keys=[1, 2, 3], measure=Sum("spend", 0, 50, step=0.01),
    )  # fmt: skip
    clamped = frame.assign(spend=frame["spend"].clip(0, 50), shop=frame["shop"].map(
        {"1": "a", "2": "b", "3": "c"}))  # fmt: skip
    np.testing.assert_allclose(release.value, _truth(clamped, 6, "spend").to_numpy(), atol=0.6)
    assert release.key[:3] == (1, 2, 3)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as book:
        book.create_dataset("visits", PureDP(3), privacy_unit=UNIT)
        yield book


def test_the_ledger_is_charged_once_and_a_replay_returns_the_stored_release(
    ledger: Ledger,
) -> None:
    frame = _visits()
    kwargs: dict[str, object] = dict(
        time="t", start=START, periods=20, unit=UNIT, budget=PureDP(1), by="shop",
        keys=["a", "b", "c"], ledger=ledger, dataset="visits",
    )  # fmt: skip
    first = release_series(frame, request_id="r1", **kwargs)  # type: ignore[arg-type]
    again = release_series(frame, request_id="r1", **kwargs)  # type: ignore[arg-type]
    assert again.to_dict() == first.to_dict()
    assert ledger.status("visits").spent == PureDP(1)
    stored = ledger.history("visits")[0]
    assert stored.status == "released" and SeriesRelease.from_dict(stored.output) == first
    release_series(frame, **kwargs)  # type: ignore[arg-type]
    release_series(frame, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(BudgetExceededError):
        release_series(frame, **kwargs)  # type: ignore[arg-type]
    assert ledger.status("visits").spent == PureDP(3)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"unit": UserWindow("user", window=14)}, InvalidParameterError),  # another unit
        ({"budget": ZCDP(1)}, InvalidParameterError),  # another budget kind
        ({"by": "place"}, SchemaError),  # no such column
        ({"bucket": "week"}, InvalidParameterError),
        ({"keys": []}, InvalidParameterError),  # by without public keys
        ({"measure": Sum("shop", 0, 1)}, SchemaError),  # text measured
        ({"noise": "gaussian"}, InvalidParameterError),  # PureDP is Laplace
        ({"by": "user", "keys": ["a"]}, InvalidParameterError),  # text keys, numeric column
        ({"time": "shop"}, None),  # unparseable text times: every row dropped, released
    ],
)
def test_refusals_cost_nothing(
    ledger: Ledger, changes: dict[str, object], error: type[Exception] | None
) -> None:
    kwargs: dict[str, object] = dict(
        time="t", start=START, periods=5, unit=UNIT, budget=PureDP(1), by="shop",
        keys=["a", "b", "c"], ledger=ledger, dataset="visits",
    ) | changes  # fmt: skip
    if error is None:
        release = release_series(_visits(), **kwargs)  # type: ignore[arg-type]
        assert len(release.value) == 15
        return
    with pytest.raises(error):
        release_series(_visits(), **kwargs)  # type: ignore[arg-type]
    assert ledger.status("visits").charges == 0


def test_a_failure_after_the_charge_is_generic_and_the_charge_stays(ledger: Ledger) -> None:
    frame = _visits().assign(secret=["oops-4711"] * 3000)
    table = resolve_table(frame)
    broken = table.mutate(spend=table.secret.cast("float64"))  # fails only when executed
    with pytest.raises(ReleaseFailedError) as caught:
        release_series(
            broken, time="t", start=START, periods=5, unit=UNIT, budget=PureDP(1),
            measure=Sum("spend", 0, 10), ledger=ledger, dataset="visits",
        )  # fmt: skip
    assert "4711" not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert caught.value.__context__ is None
    [charge] = ledger.history("visits")
    assert charge.status == "failed" and ledger.status("visits").spent == PureDP(1)


def test_approx_dp_series_spends_gaussian_noise_at_the_converted_rho(tmp_path: Path) -> None:
    from ethica.privacy.stream import approx_to_zcdp

    budget = ApproxDP(1, Fraction(1, 10**6))
    gaussian = release_series(
        _visits(), time="t", start=START, periods=20, unit=UNIT, budget=budget
    )
    rho = approx_to_zcdp(budget).rho
    sigma = Fraction(gaussian.noise["sigma"])
    assert gaussian.noise["kind"] == "gaussian"
    # one cell per bucket, window 7: Δ2² = 7; sigma is the smallest grid value for rho
    assert 7 / (2 * sigma**2) <= rho < 7 / (2 * (sigma - Fraction(1, 2**40)) ** 2)
    laplace = release_series(
        _visits(), time="t", start=START, periods=20, unit=UNIT, budget=budget, noise="laplace"
    )
    assert laplace.noise == {"kind": "laplace", "scale": "7"}  # Δ1 / epsilon: delta unused


# ---------------------------------------------------------------- coverage
@pytest.mark.slow
@pytest.mark.parametrize("budget", [PureDP(Fraction(1, 2)), ApproxDP(1, Fraction(1, 10**6))])
def test_every_point_interval_covers_at_its_level(budget: PureDP | ApproxDP) -> None:
    frame = _visits(seed=3)
    truth = _truth(frame, 20).to_numpy()
    hits, total = 0, 0
    for _ in range(30):
        release = release_series(
            frame, time="t", start=START, periods=20, unit=UNIT, budget=budget, by="shop",
            keys=["a", "b", "c"], confidence=0.9,
        )  # fmt: skip
        error = np.abs(np.asarray(release.value) - truth)
        hits += int((error <= release.half_width).sum())
        total += error.size
    coverage = hits / total  # 1800 points; exact intervals cover >= 0.9
    assert coverage >= 0.9 - 3 * np.sqrt(0.09 / total)
    assert coverage <= 0.97  # and are not grossly wide
