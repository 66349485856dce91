"""The rich-subgroup auditors on weighted rows: a count table's cells answer like its rows."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.data import CountTable, count_outcomes
from ethica.datasets import load_adult
from ethica.fairness import RichSubgroup, audit_conjunctions, audit_rich_subgroups
from ethica.fairness._audit_subgroups import subgroup_findings
from ethica.fairness._rich_subgroups import Metric

PROTECTED = ["sex", "race"]


@cache
def decisions() -> pd.DataFrame:
    """Adult test rows with a transparent screening rule as the decision."""
    frame = load_adult("test")
    return pd.DataFrame(
        {
            "sex": frame["sex"].astype(str),
            "race": frame["race"].astype(str),
            "outcome": (frame["income"] == ">50K").astype(np.int8),
            "decision": ((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).astype(
                np.int8
            ),
        }
    )


@cache
def table() -> CountTable:
    return count_outcomes(decisions(), label="outcome", prediction="decision", protected=PROTECTED)


def _same(a: RichSubgroup, b: RichSubgroup) -> None:
    assert a.shape == b.shape and a.metric == b.metric
    assert a.members == b.members and a.direction == b.direction
    for field in ("size", "group_rate", "overall_rate", "disparity", "gamma_unfairness"):
        assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("metric", ["fpr", "fnr", "selection"])
def test_weighted_cells_give_the_answer_of_the_expanded_rows(metric: Metric) -> None:
    rows, cells = decisions(), table().cells
    assert int(cells["n"].sum()) == len(rows)
    for auditor in (audit_rich_subgroups, audit_conjunctions):
        on_rows = auditor(
            rows["decision"].to_numpy(float),
            rows["outcome"].to_numpy(),
            rows[PROTECTED],
            metric=metric,
        )
        on_cells = auditor(
            cells["prediction"].to_numpy(float),
            cells["label"].to_numpy(),
            cells[PROTECTED].astype(str),
            sample_weight=cells["n"].to_numpy(),
            metric=metric,
        )
        _same(on_rows, on_cells)
        # the same subgroup: the rows it holds are the rows of the cells it holds
        assert np.array_equal(on_rows.contains(rows[PROTECTED]), on_cells.contains(rows[PROTECTED]))


def test_findings_of_the_count_table_are_exact_on_the_rows() -> None:
    rows = decisions()
    linear, conjunction = subgroup_findings(table(), "false-positive")
    negatives = rows[rows["outcome"] == 0]
    overall = negatives["decision"].mean()
    for found in (linear, conjunction):
        inside = negatives[found.contains(negatives[PROTECTED])]
        rate = inside["decision"].mean()
        assert found.metric == "fpr"
        assert found.members == len(inside)
        assert found.overall_rate == pytest.approx(overall)
        assert found.group_rate == pytest.approx(rate)
        alpha = len(inside) / len(rows)
        assert found.gamma_unfairness == pytest.approx(alpha * abs(rate - overall))
    assert re.match(r"\d+ of \d+ sex × race groups: ", linear.description)


def test_integer_weight_equals_repeated_rows() -> None:
    rng = np.random.default_rng(7)
    n = 300
    protected = pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.integers(0, 3, n)})
    labels = rng.integers(0, 2, n)
    scores = rng.random(n)
    weights = rng.integers(0, 4, n)
    repeat = np.repeat(np.arange(n), weights)
    for auditor in (audit_rich_subgroups, audit_conjunctions):
        weighted = auditor(scores, labels, protected, metric="selection", sample_weight=weights)
        repeated = auditor(
            scores[repeat], labels[repeat], protected.iloc[repeat], metric="selection"
        )
        _same(weighted, repeated)


@pytest.mark.parametrize("weights", [[-1.0, 1.0, 1.0, 1.0], [1.0, 1.0], [np.nan, 1, 1, 1]])
def test_bad_weights_are_refused(weights: list[float]) -> None:
    with pytest.raises(InvalidParameterError, match="sample_weight must hold one finite"):
        audit_rich_subgroups(
            [0, 1, 1, 0], [0, 0, 1, 1], ["a", "b", "a", "b"], sample_weight=weights
        )


def test_calibration_harm_has_no_subgroup_metric() -> None:
    with pytest.raises(InvalidParameterError, match="not harm='calibration'"):
        subgroup_findings(table(), "calibration")
