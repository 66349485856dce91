"""One way to do each thing in releases (issue 15): the privacy unit is an object, statistics
are a closed set, query specs are normalised once in the constructor with one accessor each."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from ethica._exceptions import SchemaError
from ethica.privacy import (
    BoundsEstimate,
    Count,
    Ledger,
    Mean,
    PureDP,
    Quantiles,
    Rows,
    Session,
    Sum,
    UserLevel,
)
from ethica.privacy.release._stored import release_from_dict, unit_from_dict


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"user": [1, 1, 2, 3, 4], "g": list("abaab"), "x": [1.0, 2, 3, 4, 5]})


@pytest.mark.parametrize("unit", [Rows(), UserLevel("user", 2, 3)])
def test_a_release_holds_its_privacy_unit_object_and_writes_its_dict(
    frame: pd.DataFrame, unit: Rows | UserLevel
) -> None:
    release = Session(frame, privacy_unit=unit, budget=PureDP(1)).evaluate(
        Count(by="g", keys={"g": ["a", "b"]}), PureDP(1)
    )
    assert release.privacy_unit == unit
    document = json.loads(json.dumps(release.to_dict()))
    assert document["privacy_unit"] == unit.to_dict()
    back = release_from_dict(document)
    assert back.privacy_unit == unit and type(back.privacy_unit) is type(unit)
    assert back.to_dict() == document


def test_a_replayed_release_from_the_ledger_has_the_unit_object(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    unit = UserLevel("user", 2, 1)
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("d", PureDP(2), privacy_unit=unit)
        session = Session(frame, privacy_unit=unit, budget=PureDP(2), ledger=book, dataset="d")
        first = session.evaluate(Count(), PureDP(1), request_id="r")
        again = session.evaluate(Count(), PureDP(1), request_id="r")
    assert again.tables[0].values == first.tables[0].values  # the stored release, read back
    assert again.privacy_unit == unit and isinstance(again.privacy_unit, UserLevel)


def test_stored_documents_with_an_unknown_statistic_or_unit_are_refused(
    frame: pd.DataFrame,
) -> None:
    release = Session(frame, privacy_unit="rows", budget=PureDP(1)).evaluate(Count(), PureDP(1))
    document = release.to_dict()
    bad = {**document, "tables": [{**document["tables"][0], "statistic": "median"}]}
    with pytest.raises(SchemaError, match="statistic 'median'"):
        release_from_dict(bad)
    with pytest.raises(SchemaError, match="kind 'users'"):
        unit_from_dict({"kind": "users", "column": "user"})


def test_group_keys_are_normalised_in_the_constructor() -> None:
    query = Count(by="g", keys={"g": ["a", "b"]})
    assert query.by == ("g",)
    assert query.keys == (("a",), ("b",))
    assert Count(by=["g", "h"], keys=[("a", 1)]).keys == (("a", 1),)
    assert Count(by="g") == Count(by=("g",)) and Count(by="g").keys is None
    for twin in ("group_by", "key_set"):
        assert not hasattr(query, twin)
    # a copy rebuilt from the normalised fields is the same spec
    assert dataclasses.replace(query) == query
    assert dataclasses.replace(query, keys=(("b",),)).keys == (("b",),)


def test_the_rounding_step_is_resolved_in_the_constructor() -> None:
    assert Sum("x", -50, 20).step == pytest.approx(0.05)
    assert Sum("x", 0, 10, step=0.5).step == 0.5
    assert Sum("x", 0, 100) == Sum("x", 0, 100, step=0.1)  # the same release
    mean = Mean("x", 0, 10, by="g")
    assert (mean.lower, mean.upper, mean.step, mean.by) == (0.0, 10.0, 0.01, ("g",))
    assert dataclasses.replace(mean, upper=20).step == 0.01  # the step given stays given
    assert not hasattr(mean, "grid")


def test_candidate_grids_are_properties() -> None:
    quantiles = Quantiles("x", [0.5], 0, 10, candidates=11)
    assert (quantiles.qs, quantiles.lower, quantiles.upper) == ((0.5,), 0.0, 10.0)
    assert quantiles == Quantiles("x", (0.5,), 0.0, 10.0, 11)
    assert quantiles.grid == tuple(float(i) for i in range(11))
    bounds = BoundsEstimate("x", max_power=2)
    assert bounds.grid[0] == -4.0 and bounds.grid[-1] == 4.0 and 0.0 in bounds.grid
