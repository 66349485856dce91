"""Census tables of any shape: a declared schema (attributes and coarsenings), bad counts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.attacks import (
    adult_census_schema,
    census_attack,
    census_schema_from_spec,
    census_tables,
    reconstruct_blocks,
    synthetic_blocks,
)
from ethica.workflows._attack_census import infer_census_schema

ADULT = adult_census_schema()
RENAMED = {"sex": "gender", "age_band": "age5", "age_group": "agegrp", "race": "ethnicity"}
AGE_GROUPS = dict(ADULT.coarsenings["age_group"][1])


@pytest.fixture(scope="module")
def population(adult: pd.DataFrame) -> pd.DataFrame:
    return synthetic_blocks(adult, n_blocks=40, mean_block_size=8, seed=5)


def _declared(groups: bool) -> dict[str, Any]:
    if groups:
        grouped: dict[str, list[str]] = {}
        for fine, coarse in AGE_GROUPS.items():
            grouped.setdefault(str(coarse), []).append(str(fine))
        how: dict[str, Any] = {"groups": grouped}
    else:
        how = {"map": AGE_GROUPS}
    return {
        "attributes": {"gender": None, "age5": list(AGE_GROUPS), "ethnicity": ""},
        "coarsenings": {"agegrp": {"of": "age5", **how}},
    }


@pytest.mark.parametrize("groups", [True, False])
def test_renamed_columns_with_a_declared_hierarchy_rebuild_as_many_records(
    population: pd.DataFrame, groups: bool
) -> None:
    original = census_attack(population, ADULT, check_uniqueness=False)
    tables = {k: v.rename(columns=RENAMED) for k, v in census_tables(population, ADULT).items()}
    truth = population.rename(columns=RENAMED)
    schema = census_schema_from_spec(_declared(groups), tables)
    assert dict(schema.coarsenings)["agegrp"][0] == "age5"
    declared = census_attack(truth, schema, tables, check_uniqueness=False)
    assert declared.records_matched == original.records_matched
    assert declared.records_matched_share > 0.8
    # Without the declaration the coarse column becomes an unrelated attribute: the attack
    # rebuilds far fewer records (it understates the risk), which is why the schema exists.
    inferred = infer_census_schema(tables)
    assert not inferred.coarsenings
    lost = census_attack(
        truth.assign(agegrp=truth["age5"].map(AGE_GROUPS)),
        inferred,
        tables,
        check_uniqueness=False,
    )
    assert lost.records_matched < 0.9 * declared.records_matched


def test_undeclared_categories_come_from_the_tables_in_order() -> None:
    tables = {
        "a.csv": pd.DataFrame({"block": ["1", "1"], "sex": ["M", "F"], "count": ["2", "1"]}),
        "b.csv": pd.DataFrame({"block": ["1"], "tenure": ["rent"], "count": ["3"]}),
    }
    schema = census_schema_from_spec({"attributes": {"sex": None, "tenure": None}}, tables)
    assert dict(schema.attributes) == {"sex": ("F", "M"), "tenure": ("rent",)}
    rebuilt = reconstruct_blocks(tables, schema)
    assert rebuilt.records().sort_values("sex")["sex"].tolist() == ["F", "M", "M"]


def test_block_and_count_columns_can_be_renamed() -> None:
    tables = {"t": pd.DataFrame({"area": ["x", "x"], "sex": ["F", "M"], "people": [1, 2]})}
    schema = census_schema_from_spec(
        {"block": "area", "count": "people", "attributes": {"sex": ["F", "M"]}}, tables
    )
    assert reconstruct_blocks(tables, schema).counts == ((1, 2),)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({}, "declares no attributes"),
        ({"attributes": {"sex": ["F"]}, "colour": 1}, r"unknown keys \['colour'\]"),
        ({"attributes": {"sex": ["F", "F"]}}, r"lists \['F'\] more than once"),
        (
            {"attributes": {"age": ["1", "2"]}, "coarsenings": {"g": {"of": "age"}}},
            "exactly one of 'groups'",
        ),
        (
            {"attributes": {"age": ["1", "2"]}, "coarsenings": {"g": {"of": "x", "map": {}}}},
            "'x', which is not an attribute",
        ),
        (
            {
                "attributes": {"age": ["1", "2"]},
                "coarsenings": {"g": {"of": "age", "map": {"1": "a"}}},
            },
            r"does not map the 'age' categories \['2'\]",
        ),
        (
            {
                "attributes": {"age": ["1", "2"]},
                "coarsenings": {"g": {"of": "age", "groups": {"a": ["1"], "b": ["1", "2"]}}},
            },
            "'1' is in both 'a' and 'b'",
        ),
        ({"attributes": {"ghost": None}}, "no table uses it"),
    ],
)
def test_malformed_declarations_say_what_to_fix(spec: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        census_schema_from_spec(spec, {}, source="schema 's.yaml'")


def test_a_table_column_the_declaration_does_not_name_is_refused() -> None:
    tables = {"t.csv": pd.DataFrame({"block": [0], "sex": ["F"], "tenure": ["own"], "count": [1]})}
    with pytest.raises(SchemaError, match=r"'t.csv' has columns \['tenure'\].*'attributes:'"):
        census_schema_from_spec({"attributes": {"sex": ["F", "M"]}}, tables)


def test_a_category_the_declaration_does_not_list_names_the_row() -> None:
    schema = census_schema_from_spec({"attributes": {"sex": ["F", "M"]}})
    tables = {"t.csv": pd.DataFrame({"block": [0, 0, 0], "sex": ["F", "M", "X"], "count": [1] * 3})}
    with pytest.raises(SchemaError, match=r"'t.csv' row 3, column 'sex': 'X' is not a category"):
        reconstruct_blocks(tables, schema)


@pytest.mark.parametrize(
    "count",
    [["1", "yes"], [1, True], ["1", ""], [1.0, float("nan")]],
)
def test_a_count_that_is_not_a_number_names_file_row_and_column(count: list[Any]) -> None:
    tables = {
        "by_sex.csv": pd.DataFrame({"block": [0, 0], "sex": ["Female", "Male"], "count": count})
    }
    with pytest.raises(SchemaError, match=r"'by_sex.csv' row 2, column 'count': .* is not a count"):
        reconstruct_blocks(tables, ADULT)


def test_a_header_only_table_is_a_clear_error() -> None:
    tables = {
        "total.csv": pd.DataFrame({"block": [0], "count": [3]}),
        "empty.csv": pd.DataFrame({"block": [], "sex": [], "count": []}),
    }
    with pytest.raises(SchemaError, match=r"'empty\.csv' has a header but no rows"):
        reconstruct_blocks(tables, ADULT)
