"""Scenarios: a census-style table with a geographic hierarchy (from Adult's columns), and
mobility-style visits where one person appears in many rows (user-level bounding)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ethica.privacy import (
    ApproxDP,
    Batch,
    Count,
    PureDP,
    Session,
    UserLevel,
    make_consistent,
)
from ethica.report import Report
from ethica.report._release_section import relative_errors, release_section

REGIONS, SUBS, BLOCKS = 3, 2, 3


@pytest.fixture
def census(adult_train: pd.DataFrame) -> pd.DataFrame:
    """Adult's people placed in a region -> sub-region -> block geography (seeded)."""
    rng = np.random.default_rng(11)
    n = len(adult_train)
    people = adult_train[["sex", "race", "age"]].copy()
    people["region"] = rng.integers(0, REGIONS, n)
    people["sub"] = rng.integers(0, SUBS, n)
    people["block"] = rng.integers(0, BLOCKS, n)
    people["age_band"] = pd.cut(
        people["age"], [0, 25, 45, 65, 200], right=False, labels=["<25", "25-44", "45-64", "65+"]
    ).astype(str)
    return people


def _keys(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    return {c: sorted(frame[c].unique().tolist()) for c in columns}


def test_census_tables_are_consistent(census: pd.DataFrame) -> None:
    geo = ["region", "sub", "block"]
    finest = [*geo, "sex", "age_band", "race"]
    levels = [[], ["region"], ["region", "sub"], geo, finest]
    batch = Batch(
        tuple(Count(by=level, keys=_keys(census, level) if level else None) for level in levels),
        weights=(1, 1, 1, 1, 4),
    )
    session = Session(census, privacy_unit="rows", budget=PureDP(1))
    release = make_consistent(session.evaluate(batch, PureDP(1)))
    frames = [t.to_frame() for t in release.tables]
    for frame in frames:
        assert (frame["value"] >= 0).all() and (frame["value"] % 1 == 0).all()
    total = frames[0]["value"].iloc[0]
    for coarse, fine in itertools.pairwise(frames[1:]):
        parent = [
            c
            for c in coarse.columns
            if c in fine.columns and c not in ("value", "ci_low", "ci_high")
        ]
        sums = fine.groupby(parent)["value"].sum()
        assert np.array_equal(coarse.set_index(parent)["value"].to_numpy(), sums.to_numpy())
    assert frames[1]["value"].sum() == total
    assert frames[-1]["value"].sum() == total
    truth = census.groupby("region").size().to_numpy()
    assert np.abs(frames[1]["value"].to_numpy() - truth).max() < 50
    assert len(frames[-1]) == REGIONS * SUBS * BLOCKS * 2 * 4 * census["race"].nunique()


@pytest.fixture
def visits() -> pd.DataFrame:
    """2,000 people, 30 places, 7 days; heavy users have many rows."""
    rng = np.random.default_rng(5)
    rows = []
    for person in range(2000):
        n = int(rng.geometric(0.1))
        places = rng.integers(0, 30, n)
        days = rng.integers(0, 7, n)
        rows += [(person, int(p), int(d)) for p, d in zip(places, days, strict=True)]
    return pd.DataFrame(rows, columns=["person", "place", "day"])


def test_mobility_user_level_bounding(visits: pd.DataFrame) -> None:
    unit = UserLevel("person", max_groups_per_user=5, max_rows_per_group=2)
    keys = _keys(visits, ["place", "day"])
    session = Session(visits, privacy_unit=unit, budget=PureDP(2))
    release = session.evaluate(Count(by=["place", "day"], keys=keys), PureDP(1))
    table = release.table()
    assert table.noise == {"n.scale": "10"}  # L1 = k m = 10 at epsilon 1
    assert len(table.keys) == 30 * 7
    total = sum(table.values)
    assert total <= 2000 * 5 * 2 + 4 * np.sqrt(210) * 15  # bounded: <= k m per person
    assert total < len(visits)  # bounding dropped heavy users' extra rows
    errors = relative_errors(table)
    assert (errors["half_width"] > 0).all()
    html = Report("mobility").with_section(release_section(release)).render()
    assert "Largest relative error" in html


def test_mobility_private_places(visits: pd.DataFrame) -> None:
    rare = pd.DataFrame({"person": [99_999], "place": [999], "day": [0]})
    data = pd.concat([visits, rare], ignore_index=True)
    unit = UserLevel("person", max_groups_per_user=3, max_rows_per_group=1)
    session = Session(data, privacy_unit=unit, budget=ApproxDP(1, 1e-8))
    table = session.evaluate(Count(by="place"), ApproxDP(1, 1e-8)).table()
    released = {k[0] for k in table.keys}
    assert 999 not in released  # one person's place never leaks
    assert len(released) >= 25
