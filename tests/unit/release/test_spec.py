"""Spec files: valid specs parse; a typo names the line and the key."""

from __future__ import annotations

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ApproxDP, Count, Mean, UserLevel
from ethica.privacy.release._spec import parse_spec

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
    assert spec.budget == ApproxDP(1, 1e-9)
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
