"""Spec files: valid specs parse; a typo names the line and the key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.data import resolve_table
from ethica.privacy import ApproxDP, Count, Mean, PureDP, Rows, UserLevel
from ethica.privacy.release._spec import (
    column_kinds,
    parse_exact,
    parse_spec,
    parse_unit,
    type_keys,
)

SPEC = """\
source: visits.csv
privacy_unit: {user: person, max_groups_per_user: 5, max_rows_per_group: 2, nulls: drop}
budget: {epsilon: 1, delta: 1.0e-9}
consistent: true
queries:
  - name: visits by place
    count: {by: [place]}
  - name: mean stay
    mean: {column: minutes, lower: 0, upper: 240}
    weight: 2
"""


def test_valid_spec() -> None:
    spec = parse_spec(SPEC, name="s.yaml")
    assert spec.privacy_unit == UserLevel("person", 5, 2, nulls="drop")
    assert spec.budget == ApproxDP(1, Fraction(1, 10**9))  # exact, not the float 1e-9
    assert spec.batch.queries == (Count(by=("place",)), Mean("minutes", 0, 240))
    assert spec.batch.weights == (1.0, 2.0)
    assert spec.batch.names == ("visits by place", "mean stay")
    assert spec.consistent and spec.format == "csv"


@pytest.mark.parametrize(
    ("typo", "bad_key", "line", "hint"),
    [
        ("epsilon: 1,", "epsilom", 3, "'epsilon'"),
        ("column", "colum", 9, "'column'"),
        ("consistent", "consistant", 4, "'consistent'"),
        ("max_rows_per_group", "max_row_per_group", 2, "'max_rows_per_group'"),
    ],
)
def test_typo_names_line_and_key(typo: str, bad_key: str, line: int, hint: str) -> None:
    text = SPEC.replace(typo, typo.replace(typo.rstrip(": ,1"), bad_key))
    with pytest.raises(InvalidParameterError) as err:
        parse_spec(text, name="s.yaml")
    message = str(err.value)
    assert f"s.yaml, line {line}" in message
    assert f"unknown key {bad_key!r}" in message
    assert f"did you mean {hint}" in message


def test_bad_query_and_budget() -> None:
    with pytest.raises(InvalidParameterError, match=r"line 9: Mean\('minutes'\) needs clamping"):
        parse_spec(SPEC.replace("lower: 0, upper: 240", "step: 1"), name="s.yaml")
    with pytest.raises(InvalidParameterError, match="budget must be"):
        parse_spec(SPEC.replace("{epsilon: 1, delta: 1.0e-9}", "{delta: 0.1}"), name="s.yaml")
    with pytest.raises(InvalidParameterError, match="needs a list of queries"):
        parse_spec("source: a.csv\nbudget: {epsilon: 1}\n")


def _one_query(query: str, budget: str = "{epsilon: 1}", extra: str = "") -> str:
    return f"source: a.csv\nbudget: {budget}\n{extra}queries:\n  - {query}\n"


@pytest.mark.parametrize("text", ["1e-9", "1E-9", "1.0e-9", "0.000000001", "1/1000000000"])
def test_delta_in_every_documented_form_is_exact(text: str) -> None:
    # PyYAML reads a plain 1e-9 (no dot) as the *string* '1e-9': it used to be refused.
    spec = parse_spec(_one_query("count: {}", f"{{epsilon: 0.5, delta: {text}}}"))
    assert spec.budget == ApproxDP(Fraction(1, 2), Fraction(1, 10**9))


@pytest.mark.parametrize(("text", "exact"), [("0.1", Fraction(1, 10)), ("1/3", Fraction(1, 3))])
def test_budgets_keep_the_decimal_written(text: str, exact: Fraction) -> None:
    assert parse_spec(_one_query("count: {}", f"{{epsilon: {text}}}")).budget == PureDP(exact)


@pytest.mark.parametrize("text", ["abc", ".inf", ".nan", "1/0", "[1]"])
def test_a_budget_that_is_not_a_number_names_its_line(text: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"s\.yaml, line 2: budget\.epsilon must"):
        parse_spec(_one_query("count: {}", f"{{epsilon: {text}}}"), name="s.yaml")


def test_query_numbers_read_from_text() -> None:
    spec = parse_spec(
        _one_query(
            "mean: {column: yes, lower: -1.5E1, upper: 1e2, step: 1/2}",
            extra="confidence: 9.9e-1\n",
        )
    )
    assert spec.batch.queries == (Mean("yes", -15.0, 100.0, step=0.5),)  # column 'yes', not True
    assert spec.confidence == 0.99


@pytest.mark.parametrize(
    "keys",
    ["[NO, SE, yes, on, off, 'null', 01234, 1e3]", "[NO, SE, yes, on, off, 'null', 01234, 1e3,]"],
)
def test_keys_are_the_text_written(keys: str) -> None:
    spec = parse_spec(_one_query(f"count: {{by: [c], keys: {{c: {keys}}}}}"))
    (query,) = spec.batch.queries
    # Norway used to be released as False, '01234' as 1234, 'on' as True.
    assert query.keys == (
        ("NO",),
        ("SE",),
        ("yes",),
        ("on",),
        ("off",),
        ("null",),
        ("01234",),
        ("1e3",),
    )


def test_keys_as_a_list_of_tuples_are_text_too() -> None:
    spec = parse_spec(_one_query("count: {by: [c, d], keys: [[NO, 1], [SE, 2]]}"))
    assert spec.batch.queries[0].keys == (("NO", "1"), ("SE", "2"))


@pytest.mark.parametrize("null", ["~", "null", "Null", "NULL"])
def test_an_unquoted_null_key_is_refused(null: str) -> None:
    with pytest.raises(InvalidParameterError, match="NULL never matches a public key"):
        parse_spec(_one_query(f"count: {{by: [c], keys: {{c: [a, {null}]}}}}"))


@pytest.mark.parametrize(("text", "value"), [("true", True), ("'no'", False), ('"false"', False)])
def test_consistent_is_a_flag(text: str, value: bool) -> None:
    spec = parse_spec(_one_query("count: {}", extra=f"consistent: {text}\n"))
    assert spec.consistent is value  # a quoted "false" used to be bool("false") == True


def test_consistent_needs_a_count_table_and_nested_tables() -> None:
    with pytest.raises(InvalidParameterError, match="line 3: consistent: true needs at least one"):
        parse_spec(
            _one_query("mean: {column: x, lower: 0, upper: 1}", extra="consistent: true\n"),
            name="s.yaml",
        )
    text = (
        "source: a.csv\nbudget: {epsilon: 1}\nconsistent: yes\nqueries:\n"
        "  - count: {by: [a], keys: {a: [x]}}\n  - count: {by: [b], keys: {b: [y]}}\n"
    )
    with pytest.raises(InvalidParameterError, match="subset of the finest"):
        parse_spec(text)
    with pytest.raises(InvalidParameterError, match="must be true or false"):
        parse_spec(_one_query("count: {}", extra="consistent: maybe\n"))


def test_parse_exact_and_unit() -> None:
    assert parse_exact("1E-9") == Fraction(1, 10**9)
    assert parse_exact("-.5") == Fraction(-1, 2)
    assert parse_exact("nan") is None and parse_exact("inf") is None and parse_exact("1/0") is None
    assert parse_unit("rows") == Rows().to_dict()
    assert parse_unit(" user:pid ") == {"kind": "user", "column": "pid"}
    for bad in ("users", "user:", "user", "row"):
        with pytest.raises(InvalidParameterError, match="not 'rows' or 'user:COLUMN'"):
            parse_unit(bad)
    with pytest.raises(InvalidParameterError, match="bounds belong in the spec"):
        parse_unit("user:pid:5:2")


def test_keys_take_their_column_type_from_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "n": [1, 2],
            "x": [0.5, 1.5],
            "flag": [True, False],
            "day": ["2024-01-01", "2024-01-02"],
            "s": ["01234", "NO"],
        }
    ).to_csv(path, index=False)
    kinds = column_kinds(resolve_table(path), ["n", "x", "flag", "day", "s", "missing"])
    assert kinds == {
        "n": "integer",
        "x": "floating",
        "flag": "boolean",
        "day": "date",
        "s": "string",
    }
    text = (
        "source: t.csv\nbudget: {epsilon: 1}\nqueries:\n"
        "  - count: {by: [n, x, flag, day, s], keys: [[1, 0.5, true, 2024-01-01, 01234]]}\n"
        "  - count: {by: [s], keys: {s: [NO]}}\n  - count: {by: [n]}\n"
    )
    batch = type_keys(parse_spec(text).batch, kinds)
    assert batch.queries[0].keys == ((1, 0.5, True, dt.date(2024, 1, 1), "01234"),)
    assert batch.queries[1].keys == (("NO",),)
    assert batch.queries[2].keys is None
    assert type_keys(parse_spec(text.replace("01234", "'x'")).batch, {}).queries[0].keys == (
        ("1", "0.5", "true", "2024-01-01", "x"),
    )
    assert type_keys(
        parse_spec(_one_query("count: {by: [d], keys: {d: ['1.10']}}")).batch, {"d": "decimal"}
    ).queries[0].keys == ((Decimal("1.10"),),)


@pytest.mark.parametrize(
    ("kind", "key", "words"),
    [
        ("integer", "1.5", "not an integer"),
        ("integer", "one", "not an integer"),
        ("floating", "NO", "not a number"),
        ("boolean", "yes", "not true or false"),
        ("date", "NO", "not an ISO date"),
    ],
)
def test_a_key_that_does_not_fit_its_column_is_refused(kind: str, key: str, words: str) -> None:
    batch = parse_spec(_one_query(f"count: {{by: [c], keys: {{c: [{key}]}}}}")).batch
    with pytest.raises(InvalidParameterError, match=words):
        type_keys(batch, {"c": kind})


def test_keys_that_become_equal_are_refused() -> None:
    batch = parse_spec(_one_query("count: {by: [c], keys: {c: [1, 01]}}")).batch
    with pytest.raises(InvalidParameterError, match="more than once"):
        type_keys(batch, {"c": "integer"})


def test_the_source_is_relative_to_the_spec_folder(tmp_path: Path) -> None:
    def source(text: str) -> Path | str:
        return parse_spec(_one_query("count: {}").replace("a.csv", text)).source_in(tmp_path)

    assert source("data/a.csv") == tmp_path / "data" / "a.csv"
    assert source("/srv/a.csv") == Path("/srv/a.csv")
    assert source("duckdb://w.duckdb") == "duckdb://w.duckdb"


@pytest.mark.parametrize(("text", "exact"), [("1/10", Fraction(1, 10)), ("0.1", Fraction(1, 10))])
def test_bounding_share_is_read_exactly(text: str, exact: Fraction) -> None:
    spec = parse_spec(_one_query("count: {}", extra=f"bounding_share: {text}\n"))
    assert spec.bounding_share == exact  # 0.1 is the decimal written, not the float
    assert parse_spec(_one_query("count: {}")).bounding_share is None


@pytest.mark.parametrize("text", ["0", "1", "3/2", "-1/10", "abc", "[1]"])
def test_a_bounding_share_outside_zero_one_names_its_line(text: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"s\.yaml, line 3: bounding_share must"):
        parse_spec(_one_query("count: {}", extra=f"bounding_share: {text}\n"), name="s.yaml")
