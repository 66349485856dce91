"""``ethica audit --subgroups``: the worst rich subgroup and conjunction, from the counts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica._results import SCHEMA_VERSION
from ethica.cli import app
from ethica.datasets import load_adult

runner = CliRunner()
PROTECTED = ["sex", "race"]


@cache
def decisions() -> pd.DataFrame:
    """Adult test rows with a transparent screening rule as the model's decision."""
    frame = load_adult("test")
    return frame.assign(
        decision=((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).astype(int),
        outcome=(frame["income"] == ">50K").astype(int),
    )


@pytest.fixture(scope="module")
def decisions_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("subgroups") / "decisions.csv"
    decisions().to_csv(path, index=False)
    return path


def _audit(source: Path, *options: str) -> Result:
    return runner.invoke(
        app,
        [
            "audit",
            str(source),
            "--label",
            "outcome",
            "--prediction",
            "decision",
            "--protected",
            "sex,race",
            *options,
        ],
    )


def _by_hand(
    members: np.ndarray, rows: pd.DataFrame, event: np.ndarray, value: np.ndarray
) -> tuple[float, float, float]:
    """alpha, subgroup rate and alpha * beta computed directly on the rows."""
    inside = members & event
    overall = value[event].mean()
    rate = value[inside].mean()
    alpha = inside.sum() / len(rows)
    return alpha, rate, alpha * abs(rate - overall)


@pytest.mark.parametrize(
    ("harm", "metric"), [("false-negative", "fnr"), ("selection", "selection")]
)
def test_subgroups_match_the_rows(decisions_csv: Path, harm: str, metric: str) -> None:
    result = _audit(decisions_csv, "--subgroups", "--harm", harm, "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema_version"] == SCHEMA_VERSION
    found = {s["shape"]: s for s in document["subgroups"]}
    assert set(found) == {"linear", "conjunction"}
    rows = decisions()
    outcome, decision = rows["outcome"].to_numpy(), rows["decision"].to_numpy()
    event = {"fnr": outcome == 1, "selection": np.ones(len(rows), bool)}[metric]
    value = 1.0 - decision if metric == "fnr" else decision.astype(float)
    # the conjunction, evaluated on the rows from its conditions
    conjunction = found["conjunction"]
    members = np.ones(len(rows), bool)
    for column, level in conjunction["conditions"]:
        members &= rows[column].astype(str).to_numpy() == level
    alpha, rate, gamma = _by_hand(members, rows, event, value)
    assert conjunction["metric"] == metric
    assert conjunction["size"] == pytest.approx(alpha)
    assert conjunction["group_rate"] == pytest.approx(rate)
    assert conjunction["gamma_unfairness"] == pytest.approx(gamma)
    # the linear threshold, evaluated on one-hot rows from its hyperplane
    linear = found["linear"]
    onehot = np.column_stack(
        [
            (rows[name.split("=", 1)[0]].astype(str) == name.split("=", 1)[1]).to_numpy(float)
            for name in linear["attributes"]
        ]
    )
    members = onehot @ np.array(linear["coefficients"]) + linear["intercept"] < 0
    alpha, rate, gamma = _by_hand(members, rows, event, value)
    assert linear["gamma_unfairness"] == pytest.approx(gamma)
    assert linear["group_rate"] == pytest.approx(rate)
    assert linear["size"] == pytest.approx(alpha) and linear["gamma_unfairness"] > 0


def test_subgroups_are_shown_on_the_terminal_and_in_the_report(
    decisions_csv: Path, tmp_path: Path
) -> None:
    page = tmp_path / "audit.html"
    result = _audit(decisions_csv, "--subgroups", "--harm", "false-positive", "--html", str(page))
    assert result.exit_code == 0, result.output
    assert "Most unfair subgroups" in result.output
    assert "conjunction" in result.output and "linear" in result.output
    html = page.read_text()
    assert "Most unfair subgroups (fairness gerrymandering)" in html
    assert "false positive rate" in html


def test_without_the_option_no_subgroups_are_searched(decisions_csv: Path) -> None:
    result = _audit(decisions_csv, "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subgroups"] == []
    assert "Most unfair subgroups" not in result.output


def test_calibration_harm_is_refused_in_one_line(decisions_csv: Path) -> None:
    result = runner.invoke(
        app,
        [
            "audit",
            str(decisions_csv),
            "--label",
            "outcome",
            "--score",
            "education_num",
            "--protected",
            "sex",
            "--harm",
            "calibration",
            "--subgroups",
        ],
    )
    assert result.exit_code == 2
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    assert "calibration" in result.output and "false-positive" in result.output
