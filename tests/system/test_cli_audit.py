"""``ethica audit`` end to end on real data (Adult test file), through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ethica._results import SCHEMA_VERSION
from ethica.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def decisions_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Adult test rows with a transparent screening rule as the model's decision."""
    from ethica.datasets import load_adult

    frame = load_adult("test")
    frame = frame.assign(
        decision=((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).astype(int),
        outcome=(frame["income"] == ">50K").astype(int),
    )
    path = tmp_path_factory.mktemp("cli") / "decisions.csv"
    frame.to_csv(path, index=False)
    return path


def _audit(source: Path, options: str, *extra: str) -> Result:
    """``ethica audit SOURCE OPTIONS... EXTRA...`` (options split on spaces)."""
    return runner.invoke(app, ["audit", str(source), *options.split(), *extra])


DECISION = "--label outcome --prediction decision"


def test_audit_writes_json_and_html(decisions_csv: Path, tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "audit.json", tmp_path / "audit.html"
    result = _audit(
        decisions_csv,
        f"{DECISION} --protected sex,race",
        "--json",
        str(out_json),
        "--html",
        str(out_html),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out_json.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    groups = {tuple(g["group"]) for g in document["groups"]}
    assert ("Female",) in groups and ("Female", "Black") in groups
    page = out_html.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "demographic parity" in result.output


def test_audit_json_to_stdout_is_pure_json(decisions_csv: Path) -> None:
    result = _audit(
        decisions_csv,
        "--label income --positive-label >50K --prediction decision --positive-prediction 1 "
        "--protected sex --json -",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    female = next(g for g in document["groups"] if g["group"] == ["Female"])
    assert set(female["metrics"]) >= {"selection_rate", "tpr", "fpr", "ppv", "for", "base_rate"}
    # the decision is coded 0/1 and the label >50K/<=50K: both positives are counted
    assert female["metrics"]["selection_rate"]["value"] > 0.1
    assert female["metrics"]["base_rate"]["value"] > 0.05


def test_audit_bins_a_numeric_attribute(decisions_csv: Path) -> None:
    result = _audit(decisions_csv, f"{DECISION} --protected sex --bins age=25/45/65 --json -")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    ages = {g["group"][0] for g in document["groups"] if g["attributes"] == ["age"]}
    assert ages == {"< 25", "[25, 45)", "[45, 65)", ">= 65"}


def test_missing_column_is_one_clear_line_and_writes_nothing(
    decisions_csv: Path, tmp_path: Path
) -> None:
    out_html = tmp_path / "never.html"
    result = _audit(decisions_csv, f"{DECISION} --protected gender", "--html", str(out_html))
    assert result.exit_code == 2
    assert "gender" in result.output and "sex" in result.output
    assert "Traceback" not in result.output
    assert not out_html.exists()


def test_debug_lets_the_traceback_through(decisions_csv: Path) -> None:
    from ethica import SchemaError

    result = runner.invoke(
        app,
        ["--debug", "audit", str(decisions_csv), *f"{DECISION} --protected gender".split()],
    )
    assert isinstance(result.exception, SchemaError)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--harm", "unfairness", "false-negative"),
        ("--bins", "age=young/old", "age=q4"),
        ("--reference", "sex", "ATTRIBUTE=VALUE"),
        ("--backend", "oracle", "duckdb"),
    ],
)
def test_bad_options_name_the_value_and_the_fix(
    decisions_csv: Path, option: str, value: str, words: str
) -> None:
    result = _audit(decisions_csv, f"{DECISION} --protected sex", option, value)
    assert result.exit_code == 2, result.output
    assert value.split("=")[-1] in result.output and words in result.output


def test_missing_file_is_reported(tmp_path: Path) -> None:
    result = _audit(tmp_path / "nope.csv", "--label y --prediction p --protected g")
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "Traceback" not in result.output
