"""Contribution bounding and clamping run in the engine and match a direct computation."""

from __future__ import annotations

import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest
from ibis.common.exceptions import OperationNotDefinedError

from ethica._exceptions import SchemaError
from ethica.data._bounding import COUNT, ClampedSum, Contribution, bounded_aggregate
from ethica.data._engine import default_connection


@pytest.fixture
def visits() -> pd.DataFrame:
    """40 users, each with 3 rows in each of 4 places; minutes 0..119."""
    users = np.repeat(np.arange(40), 12)
    places = np.tile(np.repeat(list("ABCD"), 3), 40)
    minutes = np.arange(users.size) % 120
    return pd.DataFrame({"user": users, "place": places, "minutes": minutes.astype(float)})


def test_row_level_counts_and_clamped_sums_match_pandas(adult_train: pd.DataFrame) -> None:
    agg = bounded_aggregate(
        adult_train,
        by=["sex"],
        sums=[ClampedSum("h", "hours_per_week", 10, 60, 0.5)],
    ).set_index("sex")
    clamped = adult_train["hours_per_week"].clip(10, 60)
    expected = (clamped / 0.5).round().groupby(adult_train["sex"]).sum()
    counts = adult_train.groupby("sex").size()
    for sex in counts.index:
        assert agg.loc[sex, COUNT] == counts[sex]
        assert agg.loc[sex, "h"] == expected[sex]


def test_user_level_bounds_hold(visits: pd.DataFrame) -> None:
    agg = bounded_aggregate(
        visits,
        by=["place"],
        sums=[ClampedSum("m", "minutes", 0, 60, 1)],
        contribution=Contribution("user", max_groups=2, max_rows=1),
    )
    # every user keeps exactly 2 of 4 places with 1 row each
    assert agg[COUNT].sum() == 40 * 2 * 1
    assert set(agg["place"]) <= set("ABCD")
    assert agg["m"].max() <= 60 * 40


def test_user_level_without_keys_bounds_rows(visits: pd.DataFrame) -> None:
    agg = bounded_aggregate(visits, contribution=Contribution("user", max_groups=9, max_rows=5))
    assert int(agg[COUNT].iloc[0]) == 40 * 5


def test_null_user_ids_need_an_explicit_choice(visits: pd.DataFrame) -> None:
    """Refusing reads only the type (a nullable column), never the rows; dropping is the
    default and drops exactly the rows without an id."""
    frame = visits.astype({"user": "float64"})
    frame.loc[:4, "user"] = np.nan
    with pytest.raises(SchemaError, match=r"'user' has type float64.*NaN.*nulls='drop'"):
        bounded_aggregate(frame, contribution=Contribution("user", 1, 1, False))
    clean = visits.astype({"user": "float64"})  # no missing id at all: refused all the same
    with pytest.raises(SchemaError, match="admits missing ids"):
        bounded_aggregate(clean, contribution=Contribution("user", 1, 1, False))
    agg = bounded_aggregate(frame, contribution=Contribution("user", 1, 100))
    assert int(agg[COUNT].iloc[0]) == len(frame) - 5


def test_unknown_column_names_it(visits: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"group-by column 'plaice' not found.*available"):
        bounded_aggregate(visits, by=["plaice"])


def test_present_value_count_and_square_sums(visits: pd.DataFrame) -> None:
    frame = visits.copy()
    frame.loc[:9, "minutes"] = np.nan
    agg = bounded_aggregate(
        frame,
        sums=[
            ClampedSum("n", "minutes", 0, 100, 1, power=0),
            ClampedSum("q", "minutes", 0, 100, 1, shift=50, power=2),
        ],
    )
    present = frame["minutes"].dropna().clip(0, 100)
    assert int(agg["n"].iloc[0]) == present.size
    assert int(agg["q"].iloc[0]) == int(((present - 50) ** 2).round().sum())


def _place_counts(visits: pd.DataFrame, contribution: Contribution) -> pd.DataFrame:
    """Per-place kept rows and kept minutes over 100 independent boundings."""
    runs = [
        bounded_aggregate(
            visits,
            by=["place"],
            sums=[ClampedSum("m", "minutes", 0, 120, 1)],
            contribution=contribution,
        ).set_index("place")
        for _ in range(100)
    ]
    return pd.concat(runs, keys=range(len(runs)), names=["run"]).reset_index()


def test_kept_cells_are_uniformly_random_and_fresh_per_release(visits: pd.DataFrame) -> None:
    runs = _place_counts(visits, Contribution("user", max_groups=1, max_rows=3))
    counts = runs.pivot(index="run", columns="place", values=COUNT).fillna(0)
    # each user keeps 1 of its 4 places: 3 * Binomial(40, 1/4) rows per place, mean 30;
    # the mean of 100 runs has standard deviation 0.82, so 4 is about 5 standard deviations
    assert (counts.sum(axis=1) == 40 * 3).all()
    assert np.abs(counts.mean() - 30).max() < 4
    assert counts.std().min() > 3  # a fixed salt would keep the same places every time


def test_kept_rows_are_uniformly_random_within_a_cell(visits: pd.DataFrame) -> None:
    runs = _place_counts(visits, Contribution("user", max_groups=4, max_rows=1))
    kept = runs.groupby("place")["m"].mean()
    # one of a cell's 3 rows at random: the expected kept minutes are the cell means; the mean
    # of 100 runs has standard deviation 0.52 (3 rows differ by 1 minute), 4 is ~8 of them
    cell_means = visits.groupby(["user", "place"])["minutes"].mean().groupby("place").sum()
    assert (runs[COUNT] == 40).all()
    assert np.abs(kept - cell_means).max() < 4


def test_engine_without_hash_falls_back_to_two_windows(
    visits: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = default_connection()
    compile_sql = engine.compile

    hashed: list[bool] = []

    def compile_without_hash(expr: ir.Table, *args: object, **kwargs: object) -> object:
        hashed.append(bool(expr.op().find(ops.Hash)))
        if hashed[-1]:
            raise OperationNotDefinedError("Hash")
        return compile_sql(expr, *args, **kwargs)

    monkeypatch.setattr(engine, "compile", compile_without_hash)
    agg = bounded_aggregate(
        visits, by=["place"], contribution=Contribution("user", max_groups=2, max_rows=1)
    )
    assert hashed[-2:] == [True, False]  # the one-window plan was refused, then the fallback ran
    assert agg[COUNT].sum() == 40 * 2 * 1
    assert agg[COUNT].max() <= 40


def test_public_keys_are_kept_before_bounding(visits: pd.DataFrame) -> None:
    # places outside the keys are dropped first, so they never use up a user's 2 places
    agg = bounded_aggregate(
        visits,
        by=["place"],
        key_filter={"place": ["A", "C", "Z"]},
        contribution=Contribution("user", max_groups=2, max_rows=1),
    ).set_index("place")
    assert agg[COUNT].to_dict() == {"A": 40, "C": 40}
