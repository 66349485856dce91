"""Contribution bounding and clamping run in the engine and match a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import SchemaError
from ethica.data._bounding import COUNT, ClampedSum, Contribution, bounded_aggregate


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
    frame = visits.astype({"user": "float64"})
    frame.loc[:4, "user"] = np.nan
    with pytest.raises(SchemaError, match=r"'user' has 5 NULL values.*nulls='drop'"):
        bounded_aggregate(frame, contribution=Contribution("user", 1, 1))
    agg = bounded_aggregate(frame, contribution=Contribution("user", 1, 100, True))
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
