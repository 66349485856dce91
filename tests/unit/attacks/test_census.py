"""Census microdata reconstruction on a real (Adult) population in synthetic blocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from ethica._exceptions import InfeasibleError, InvalidParameterError, SchemaError
from ethica._results import SCHEMA_VERSION
from ethica.attacks import (
    CensusAttackResult,
    CensusSchema,
    adult_census_schema,
    census_attack,
    census_medians,
    census_tables,
    marginal_guess_baseline,
    reconstruct_blocks,
    synthetic_blocks,
)
from ethica.attacks.census._medians import median_constraints

Sampler = Callable[[Fraction, int], NDArray[np.int64]]
SCHEMA = adult_census_schema()


@pytest.fixture(scope="module")
def population(adult: pd.DataFrame) -> pd.DataFrame:
    return synthetic_blocks(adult, n_blocks=30, mean_block_size=8, seed=11)


@pytest.fixture(scope="module")
def exact_result(population: pd.DataFrame) -> CensusAttackResult:
    return census_attack(population, SCHEMA)


def test_population_is_real_people_in_seeded_blocks(adult: pd.DataFrame) -> None:
    first = synthetic_blocks(adult, n_blocks=5, mean_block_size=6, seed=3)
    assert first.equals(synthetic_blocks(adult, n_blocks=5, mean_block_size=6, seed=3))
    assert set(first["block"]) == set(range(5))
    assert set(first["race"]) <= set(adult["race"]) and set(first["sex"]) <= set(adult["sex"])
    assert first.groupby("block").size().min() >= 2


def test_exact_tables_leak_most_records(exact_result: CensusAttackResult) -> None:
    result = exact_result
    assert result.n_blocks == 30
    assert result.records_matched_share >= 0.8
    assert result.records_matched_share > result.baseline_matched_share + 0.25
    assert result.reidentified > result.baseline_reidentified
    assert result.unique_blocks_share is not None and result.unique_blocks_share > 0.2
    # A provably unique block must be the truth itself: the truth satisfies its tables.
    for block in result.blocks:
        if block.unique:
            assert block.matched == block.people
            assert block.reidentified == block.population_uniques


def test_full_detail_table_is_rebuilt_uniquely(population: pd.DataFrame) -> None:
    tables = census_tables(population, SCHEMA, {"full": ("sex", "age_band", "race")})
    result = census_attack(population, SCHEMA, tables)
    assert result.records_matched_share == 1.0
    assert result.unique_blocks_share == 1.0
    assert result.reidentified == result.population_uniques


def test_rebuilt_records_satisfy_every_table(population: pd.DataFrame) -> None:
    tables = census_tables(population, SCHEMA)
    seen: list[tuple[int, int]] = []
    rebuilt = reconstruct_blocks(
        tables, SCHEMA, check_uniqueness=False, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (30, 30)
    assert rebuilt.unique == (None,) * 30
    again = census_tables(rebuilt.records(), SCHEMA)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(again[name], frame, check_dtype=False)
    document = json.loads(json.dumps(rebuilt.to_dict()))
    assert sum(b["people"] for b in document["blocks"]) == len(population)
    assert "<table" in rebuilt._repr_html_()


def test_noisy_tables_fall_towards_the_marginal_guess(
    population: pd.DataFrame, exact_result: CensusAttackResult, seeded_laplace: Sampler
) -> None:
    tables = census_tables(population, SCHEMA)
    # Discrete Laplace of scale 2 per cell: noisy (e.g. DP) tables that no longer add up.
    noisy = {
        name: frame.assign(count=frame["count"] + seeded_laplace(Fraction(2), len(frame)))
        for name, frame in tables.items()
    }
    with pytest.raises(InfeasibleError):
        census_attack(population, SCHEMA, noisy)
    result = census_attack(population, SCHEMA, noisy, exact=False)
    assert result.records_matched_share < exact_result.records_matched_share - 0.2
    assert result.reidentified < exact_result.reidentified
    assert 0.0 < result.baseline_matched_share < 1.0


def test_result_serialises_side_by_side(exact_result: CensusAttackResult) -> None:
    document = json.loads(json.dumps(exact_result.to_dict()))
    assert document["schema_version"] == SCHEMA_VERSION
    assert len(document["blocks"]) == 30
    frame = exact_result.to_frame()
    assert list(frame.columns) == ["measure", "reconstruction", "marginal_guess"]
    assert frame["reconstruction"][0] == exact_result.records_matched_share
    assert len(exact_result.blocks_frame()) == 30
    assert "exact tables" in exact_result._repr_html_()


def test_baseline_matches_a_simulated_random_guess() -> None:
    # One block of three people; tables give one-way margins only.
    schema = CensusSchema(attributes={"sex": ("F", "M"), "race": ("a", "b")})
    people = pd.DataFrame({"block": [0, 0, 0], "sex": ["F", "M", "M"], "race": ["a", "a", "b"]})
    tables = census_tables(people, schema, {"sex": ("sex",), "race": ("race",)})
    result = census_attack(people, schema, tables)
    rng = np.random.default_rng(0)
    p = np.outer([1 / 3, 2 / 3], [2 / 3, 1 / 3]).ravel()
    truth = np.array([1, 0, 1, 1])
    draws = rng.multinomial(3, p, size=200_000)
    simulated = np.minimum(draws, truth).sum(axis=1).mean() / 3
    assert result.baseline_matched_share == pytest.approx(simulated, abs=0.005)
    assert result.unique_blocks == 0  # swapping races between F and M fits too


def _one_block_tables() -> dict[str, pd.DataFrame]:
    schema = SCHEMA
    people = pd.DataFrame(
        {
            "block": [0, 0],
            "sex": ["Male", "Female"],
            "age_band": ["20-24", "30-34"],
            "race": ["White", "Black"],
        }
    )
    return census_tables(people, schema)


def test_block_totals_that_differ_name_both_tables() -> None:
    tables = _one_block_tables()
    tables["block total"] = tables["block total"].assign(count=3)
    with pytest.raises(
        InfeasibleError,
        match=r"block 0: table .* and table 'block total'.*"
        r"all people \(2 vs 3\)",
    ):
        reconstruct_blocks(tables, SCHEMA)


def test_shared_margins_that_differ_name_the_cell() -> None:
    tables = _one_block_tables()
    race = tables["block x race"]
    race.loc[race["race"] == "White", "count"] = 0
    race.loc[race["race"] == "Other", "count"] = 1
    with pytest.raises(InfeasibleError, match=r"disagree on the count of race=Other"):
        reconstruct_blocks(tables, SCHEMA)


def _pair_table(first: str, second: str) -> pd.DataFrame:
    """Two people who differ on both binary attributes ``first`` and ``second``."""
    return pd.DataFrame({"block": [0, 0], first: [0, 1], second: [1, 0], "count": [1, 1]})


def test_consistent_margins_without_integer_records_are_infeasible() -> None:
    # A != B, B != C and A != C cannot all hold for binary A, B, C, although every pair of
    # tables agrees on its shared one-way margin (one 0 and one 1).
    schema = CensusSchema(attributes={"a": (0, 1), "b": (0, 1), "c": (0, 1)})
    tables = {"ab": _pair_table("a", "b"), "bc": _pair_table("b", "c")}
    chained = reconstruct_blocks(tables, schema)  # b links the pairs: (0,1,0) and (1,0,1)
    assert chained.unique == (True,)
    assert sorted(chained.records()[["a", "b", "c"]].itertuples(index=False, name=None)) == [
        (0, 1, 0),
        (1, 0, 1),
    ]
    tables["ac"] = _pair_table("a", "c")
    with pytest.raises(InfeasibleError, match=r"block 0: the tables \['ab', 'bc', 'ac'\] agree"):
        reconstruct_blocks(tables, schema)
    rebuilt = reconstruct_blocks(tables, schema, exact=False)
    assert rebuilt.deviation[0] > 0


def test_fractional_exact_count_is_refused() -> None:
    odd = {"half": pd.DataFrame({"block": [0], "count": [1.5]})}
    with pytest.raises(InfeasibleError, match=r"count 1.5: exact person counts"):
        reconstruct_blocks(odd, SCHEMA)


@pytest.mark.parametrize(
    ("tables", "words"),
    [
        ({"t": pd.DataFrame({"block": [0], "sex": ["Male"]})}, "has no 'count' column"),
        ({"t": pd.DataFrame({"block": [0], "height": [1], "count": [1]})}, "column 'height'"),
        (
            {"t": pd.DataFrame({"block": [0], "sex": ["X"], "count": [1]})},
            r"row 1, column .sex.: .X. is not a category",
        ),
        (
            {"t": pd.DataFrame({"block": [0, 0], "sex": ["Male"] * 2, "count": [1, 1]})},
            "more than once",
        ),
        ({}, "no tables"),
        (
            {
                "t": pd.DataFrame(
                    {"block": [0], "age_band": ["20-24"], "age_group": ["65-90"], "count": [1]}
                )
            },
            "a combination no record can have",
        ),
    ],
)
def test_malformed_tables(tables: dict[str, pd.DataFrame], words: str) -> None:
    with pytest.raises(SchemaError, match=words):
        reconstruct_blocks(tables, SCHEMA)


def test_negative_exact_count_is_refused_with_the_fix() -> None:
    tables = {"t": pd.DataFrame({"block": [0, 0], "sex": ["Male", "Female"], "count": [2, -1]})}
    with pytest.raises(InfeasibleError, match=r"count -1.*exact=False"):
        reconstruct_blocks(tables, SCHEMA)
    rebuilt = reconstruct_blocks(tables, SCHEMA, exact=False)
    assert sum(rebuilt.counts[0]) == 2  # closest records: two men, no women
    assert rebuilt.deviation == (1.0,)


def test_bad_population_and_schema(adult: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"lacks the columns \['age'\]"):
        synthetic_blocks(adult.drop(columns="age"))
    with pytest.raises(InvalidParameterError, match="only 10 were given"):
        synthetic_blocks(adult.head(10), n_blocks=5)
    with pytest.raises(InvalidParameterError, match="mean_block_size must be an integer >= 2"):
        synthetic_blocks(adult, mean_block_size=1)
    with pytest.raises(SchemaError, match="population lacks the columns"):
        census_attack(pd.DataFrame({"block": [0]}), SCHEMA)
    with pytest.raises(InvalidParameterError, match="does not map"):
        CensusSchema(attributes={"a": (1, 2)}, coarsenings={"b": ("a", {1: "x"})})


def test_published_medians_hold_and_sharpen_coarse_tables(population: pd.DataFrame) -> None:
    medians = census_medians(population, SCHEMA, "age_band")
    coarse = census_tables(population, SCHEMA, {"a": ("sex", "age_group", "race")})
    without = census_attack(population, SCHEMA, coarse, check_uniqueness=False)
    rebuilt = reconstruct_blocks(coarse, SCHEMA, medians=medians, check_uniqueness=False)
    pd.testing.assert_frame_equal(census_medians(rebuilt.records(), SCHEMA, "age_band"), medians)
    with_medians = census_attack(population, SCHEMA, coarse, medians=medians)
    assert with_medians.records_matched_share > without.records_matched_share


def test_lower_median_definition() -> None:
    schema = CensusSchema(attributes={"age": (1, 2, 3, 4)})
    people = pd.DataFrame({"block": [0, 0, 0, 0, 1, 1, 1], "age": [4, 1, 3, 2, 2, 4, 4]})
    assert census_medians(people, schema, "age")["age"].tolist() == [2, 4]


def test_median_that_contradicts_the_tables_is_infeasible() -> None:
    tables = _one_block_tables()  # ages 20-24 and 30-34: lower median 20-24
    wrong = pd.DataFrame({"block": [0], "age_band": ["40-44"]})
    with pytest.raises(InfeasibleError, match="satisfies them all and the median"):
        reconstruct_blocks(tables, SCHEMA, medians=wrong)
    right = pd.DataFrame({"block": [0], "age_band": ["20-24"]})
    assert reconstruct_blocks(tables, SCHEMA, medians=right).unique == (True,)


@pytest.mark.parametrize(
    ("medians", "words"),
    [
        (pd.DataFrame({"block": [0], "height": [1]}), "one record attribute"),
        (pd.DataFrame({"block": [0], "age_band": ["0-4"]}), r"unknown categories \['0-4'\]"),
        (pd.DataFrame({"block": [9], "age_band": ["20-24"]}), r"blocks not in the tables \['9'\]"),
    ],
)
def test_malformed_medians(medians: pd.DataFrame, words: str) -> None:
    with pytest.raises(SchemaError, match=words):
        reconstruct_blocks(_one_block_tables(), SCHEMA, medians=medians)
    with pytest.raises(SchemaError, match="not a record attribute"):
        census_medians(pd.DataFrame(), SCHEMA, "age")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=9), st.integers(0, 3))
def test_median_rows_hold_exactly_for_the_lower_median(ranks: list[int], claimed: int) -> None:
    schema = CensusSchema(attributes={"age": (0, 1, 2, 3)})
    medians = pd.DataFrame({"block": [0], "age": [claimed]})
    rows = median_constraints(medians, [0], schema)[0]
    counts = np.bincount(ranks, minlength=4)
    values = rows.A @ counts
    holds = bool(np.all(values >= rows.lb) and np.all(values <= rows.ub))
    assert holds == (sorted(ranks)[(len(ranks) - 1) // 2] == claimed)


def test_empty_population_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="population has no rows"):
        census_attack(pd.DataFrame({"block": [], "sex": []}), SCHEMA)


def test_public_baseline_matches_the_attack_result(
    population: pd.DataFrame, exact_result: CensusAttackResult
) -> None:
    share, reidentified = marginal_guess_baseline(population, SCHEMA)
    assert share == pytest.approx(exact_result.baseline_matched_share)
    assert reidentified == pytest.approx(exact_result.baseline_reidentified)
