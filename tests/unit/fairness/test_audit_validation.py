"""Bad settings are refused with an error that names the value and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ethica import InvalidParameterError, SchemaError
from ethica.data import CountTable
from ethica.fairness import audit, audit_counts
from tests.unit.fairness._audit_support import adult_scored, count_table


@pytest.fixture(scope="module")
def table() -> CountTable:
    return count_table(adult_scored(), ["sex", "race"])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"harm": "unfairness"}, ["harm='unfairness'", "'selection'", "'false-negative'"]),
        ({"tolerance": 0.0}, ["tolerance=0.0", "between 0 and 1"]),
        ({"tolerance": 1.5}, ["tolerance=1.5", "between 0 and 1"]),
        ({"tolerance": True}, ["tolerance=True"]),
        ({"confidence": 1.0}, ["confidence=1.0", "between 0 and 1"]),
        ({"confidence": -0.1}, ["confidence=-0.1"]),
        ({"min_group_size": 0}, ["min_group_size=0", "at least 1"]),
        ({"min_group_size": 2.5}, ["min_group_size=2.5", "not an integer"]),
        ({"max_order": 3}, ["max_order=3", "between 1 and the 2"]),
        ({"max_order": 0}, ["max_order=0"]),
        ({"reference": {"gender": "Male"}}, ["'gender'", "valid attributes: sex, race"]),
        ({"reference": "sex=Man"}, ["sex='Man'", "valid values: Female, Male"]),
        ({"reference": ["race=White", "Male"]}, ["'Male'", "ATTRIBUTE=VALUE"]),
    ],
)
def test_bad_settings_raise_invalid_parameter(
    table: CountTable, kwargs: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        audit_counts(table, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, ValueError)


def test_settings_are_checked_before_the_data_is_read() -> None:
    # The source does not exist: the bad harm is reported first, without touching it.
    with pytest.raises(InvalidParameterError, match="harm='both'"):
        audit("/no/such/file.csv", label="y", prediction="p", protected=["sex"], harm="both")


def test_empty_table_is_a_schema_error(table: CountTable) -> None:
    empty = dataclasses.replace(table, cells=table.cells.iloc[:0], n_rows=0)
    with pytest.raises(SchemaError, match="no rows to audit"):
        audit_counts(empty)


def test_table_without_protected_attributes_is_a_schema_error(table: CountTable) -> None:
    bare = dataclasses.replace(table, attributes=())
    with pytest.raises(SchemaError, match="no protected attribute"):
        audit_counts(bare)
