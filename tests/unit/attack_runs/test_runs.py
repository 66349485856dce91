"""The attack runs behind ``ethica attack`` and the demo: DP tables, comparisons, sections."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from ethica import InvalidParameterError
from ethica._results import SCHEMA_VERSION
from ethica.attacks import (
    adult_census_schema,
    census_tables,
    reconstruct_blocks,
    synthetic_blocks,
)
from ethica.data import read_rows
from ethica.privacy import PureDP
from ethica.workflows._attack_census import infer_census_schema, run_census_comparison
from ethica.workflows._attack_membership import run_membership
from ethica.workflows._census_release import check_epsilons, dp_census_tables


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    from ethica.datasets import load_adult

    return load_adult("train")


@pytest.fixture(scope="module")
def tables(adult: pd.DataFrame) -> dict[str, pd.DataFrame]:
    population = synthetic_blocks(adult, n_blocks=6, mean_block_size=5, seed=2)
    return census_tables(population, adult_census_schema())


class RecordingSampler:
    """A seeded discrete Laplace that records the scales it was asked for (no privacy)."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(11)
        self.scales: list[Fraction] = []

    def __call__(self, scale: Fraction, size: int) -> NDArray[np.int64]:
        self.scales.append(scale)
        p = 1.0 - math.exp(-1.0 / float(scale))
        return (self.rng.geometric(p, size) - self.rng.geometric(p, size)).astype(np.int64)


def test_dp_tables_split_epsilon_evenly_and_compose_to_it(
    tables: dict[str, pd.DataFrame],
) -> None:
    sampler = RecordingSampler()
    released, budget = dp_census_tables(
        tables, adult_census_schema(), 0.5, consistent=False, sampler=sampler
    )
    # 4 tables at epsilon 1/2: each (1/8)-DP with sensitivity 1, so scale 8
    assert sampler.scales == [Fraction(8)] * len(tables)
    assert budget == PureDP(Fraction(1, 2))
    for name, frame in tables.items():
        noisy = released[name]
        assert noisy.drop(columns="count").equals(frame.drop(columns="count"))
        assert (noisy["count"] >= 0).all() and noisy["count"].dtype.kind == "i"
        assert not noisy["count"].equals(frame["count"])  # scale 8 on ~100 cells moves some
    assert released is not tables and all(t["count"].min() >= 0 for t in tables.values())


def test_dp_tables_clamp_negative_counts_at_zero(tables: dict[str, pd.DataFrame]) -> None:
    def minus_five(scale: Fraction, size: int) -> NDArray[np.int64]:
        return np.full(size, -5, dtype=np.int64)

    released, _ = dp_census_tables(
        tables, adult_census_schema(), 1.0, consistent=False, sampler=minus_five
    )
    for name, frame in tables.items():
        expected = np.maximum(frame["count"].to_numpy() - 5, 0)
        assert np.array_equal(released[name]["count"].to_numpy(), expected)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.nan, math.inf])
def test_epsilon_must_be_finite_and_positive(
    tables: dict[str, pd.DataFrame], epsilon: float
) -> None:
    with pytest.raises(InvalidParameterError, match=r"epsilon must be a finite number > 0"):
        dp_census_tables(tables, adult_census_schema(), epsilon)
    with pytest.raises(InvalidParameterError, match=r"pass e.g. epsilon=1 \(smaller"):
        check_epsilons([1.0, epsilon])


def test_consistent_dp_tables_are_integer_non_negative_and_add_up(
    tables: dict[str, pd.DataFrame],
) -> None:
    schema = adult_census_schema()
    calls: list[tuple[int, int]] = []
    released, budget = dp_census_tables(
        tables, schema, 1.0, sampler=RecordingSampler(), progress=lambda d, t: calls.append((d, t))
    )
    assert budget == PureDP(1) and calls[-1] == (6, 6)
    totals = {}
    for name, frame in released.items():
        counts = frame["count"].to_numpy()
        assert counts.dtype.kind == "i" and (counts >= 0).all()
        totals[name] = frame.groupby("block")["count"].sum().tolist()
    assert len({tuple(t) for t in totals.values()}) == 1  # every table: the same block sizes
    by_band = released["block x sex x age_band"].assign(
        age_group=lambda f: f["age_band"].map(schema.coarsenings["age_group"][1])
    )
    coarse = by_band.groupby(["block", "sex", "age_group"])["count"].sum()
    finest = released["block x sex x age_group x race"].groupby(["block", "sex", "age_group"])
    assert coarse.equals(finest["count"].sum())  # the two age tables agree on their margin
    # so the exact-tables attack accepts them (it refuses any inconsistency)
    reconstruct_blocks(released, schema)


def test_schema_of_user_tables() -> None:
    adult_like = {
        "a": pd.DataFrame({"block": [0], "age_group": ["17-29"], "count": [1]}),
        "b": pd.DataFrame({"block": [0], "sex": ["Male"], "count": [1]}),
    }
    schema = infer_census_schema(adult_like)
    assert list(schema.attributes) == ["sex", "age_band"]
    assert list(schema.coarsenings) == ["age_group"]
    assert schema.attributes["age_band"] == adult_census_schema().attributes["age_band"]
    foreign = {"t": pd.DataFrame({"block": [0, 0], "tenure": ["own", "rent"], "count": [1, 2]})}
    assert dict(infer_census_schema(foreign).attributes) == {"tenure": ("own", "rent")}


def test_read_rows_goes_through_the_data_layer(tmp_path: Path) -> None:
    frame = pd.DataFrame({"block": [0, 1], "count": [3, 4]})
    assert read_rows(frame) is frame
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert read_rows(path)["count"].tolist() == [3, 4]


def test_census_comparison_exact_leaks_dp_does_not(adult: pd.DataFrame) -> None:
    calls: list[tuple[int, int]] = []
    result = run_census_comparison(
        adult,
        n_blocks=25,
        seed=3,
        epsilons=(0.5,),
        sampler=RecordingSampler(),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (75, 75) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    exact, ((epsilon, private),) = result.exact, result.private
    assert epsilon == 0.5 and private.unique_blocks_share is not None
    assert exact.records_matched_share > exact.baseline_matched_share + 0.2
    assert private.records_matched_share < exact.baseline_matched_share
    frame = result.to_frame()
    assert frame["release"].tolist() == ["exact", "dp"]
    assert frame["marginal_guess_share"].nunique() == 1
    document = json.loads(json.dumps(result.to_dict()))
    assert document["schema_version"] == SCHEMA_VERSION and document["private"][0]["epsilon"] == 0.5
    assert "4/epsilon" in result.mechanism and "consistent" in result.mechanism
    assert "<table" in result._repr_html_()


def test_census_comparison_without_consistency(adult: pd.DataFrame) -> None:
    result = run_census_comparison(
        adult, n_blocks=10, epsilons=(2.0,), consistent=False, sampler=RecordingSampler()
    )
    ((_, private),) = result.private
    assert not private.exact and private.unique_blocks_share is None
    assert "clamped at 0" in result.mechanism


def test_membership_run_splits_rows_and_reports_each_model(adult: pd.DataFrame) -> None:
    calls: list[tuple[int, int]] = []
    result = run_membership(
        adult.iloc[:2000],
        label="income",
        positive=">50K",
        models=("tree", "logistic"),
        n_members=400,
        n_shadows=2,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (12, 12)
    tree, logistic = result.models
    assert tree.train_accuracy == 1.0 and tree.held_out_accuracy < 0.95
    assert tree.loss_threshold.n_members == tree.loss_threshold.n_nonmembers == 400
    assert max(a.auc for a in tree.attacks()) > max(a.auc for a in logistic.attacks())
    assert len(result.to_frame()) == 4 and set(result.roc_frame()["model"]) == {"tree", "logistic"}
    document = json.loads(json.dumps(result.to_dict()))
    assert document["n_shadow_rows"] == 800 and len(document["models"][0]["attacks"]) == 2


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"n_members": 5}, "members must be an integer >= 10, got 5"),
        ({"n_members": 600}, "600 members need 2400 rows"),
        ({"models": ("svm",), "n_members": 100}, "unknown model 'svm'"),
    ],
)
def test_membership_bad_input(adult: pd.DataFrame, options: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        run_membership(adult.iloc[:2000], label="income", positive=">50K", **options)  # type: ignore[arg-type]


def test_demo_sections_show_that_exact_statistics_leak_and_dp_does_not() -> None:
    from ethica.workflows._demo_attacks import attack_sections

    steps: list[str] = []
    sections = attack_sections(progress=steps.append)
    assert len(steps) == 3
    overview = sections[0]
    assert overview.title == "Privacy attacks: exact statistics leak; DP does not"
    assert [s.id for s in sections] == ["attacks", "reconstruction", "census", "membership"]
    cells = [row.split("<td")[1:] for row in overview.html.split("<tr>")[2:]]
    percents = [[float(c.split(">")[1].split("%")[0]) for c in row[1:4]] for row in cells[:2]]
    for exact, private, chance in percents:
        assert exact > private + 30 and private <= chance + 10
