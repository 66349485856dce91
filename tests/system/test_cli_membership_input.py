"""``ethica attack membership`` on awkward tables: missing labels, leaks, identifiers, words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica.cli import app

runner = CliRunner()
FAST = ("--members", "100", "--model", "tree", "--shadows", "1")


def _membership(csv: Path, *extra: str) -> Result:
    return runner.invoke(
        app, ["attack", "membership", str(csv), "--label", "credit", *FAST, *extra]
    )


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.count("error:") == 1, result.output
    return text


def _csv(frame: pd.DataFrame, tmp_path: Path, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_missing_labels_are_refused_not_read_as_negative(
    german: pd.DataFrame, tmp_path: Path
) -> None:
    frame = german.copy()
    frame.loc[frame.index[:30], "credit"] = np.nan
    path = _csv(frame, tmp_path)
    text = _one_error(_membership(path, "--positive-label", "good"))
    assert "missing (NULL/NaN) on 30 of 1,000 rows" in text and "--drop-missing" in text
    result = _membership(path, "--positive-label", "good", "--drop-missing", "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_members"] == 100


def test_yes_no_labels_keep_their_words(german: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(german.assign(credit=np.where(german["credit"] == "good", "yes", "no")), tmp_path)
    result = _membership(path, "--positive-label", "yes", "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["models"][0]["train_accuracy"] == 1.0


def test_a_leaking_feature_is_named_and_can_be_excluded(
    german: pd.DataFrame, tmp_path: Path
) -> None:
    leaky = german.assign(decision=np.where(german["credit"] == "good", "approve", "decline"))
    path = _csv(leaky, tmp_path)
    result = _membership(path, "--positive-label", "good")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: feature 'decision' predicts the label 'credit' perfectly" in text
    assert "--exclude decision" in text
    result = _membership(path, "--positive-label", "good", "--exclude", "decision")
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output
    text = _one_error(_membership(path, "--positive-label", "good", "--exclude", "nope"))
    assert "['nope']" in text and "--exclude" in text


def test_an_identifier_column_is_refused(german: pd.DataFrame, tmp_path: Path) -> None:
    ids = german.assign(applicant=[f"A-{i:05d}" for i in range(len(german))])
    path = _csv(ids, tmp_path)
    text = _one_error(_membership(path, "--positive-label", "good"))
    assert "['applicant'] look like row identifiers" in text and "--exclude applicant" in text
    result = _membership(path, "--positive-label", "good", "--exclude", "applicant")
    assert result.exit_code == 0, result.output


def test_an_unwritable_output_fails_before_any_training(
    german: pd.DataFrame, tmp_path: Path
) -> None:
    path = _csv(german, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # --members 300 would fail only once the rows are read: the output check comes first
    result = runner.invoke(
        app,
        [
            "attack",
            "membership",
            str(path),
            "--label",
            "credit",
            "--positive-label",
            "good",
            "--members",
            "300",
            "--json",
            str(blocker / "out.json"),
        ],
    )
    text = _one_error(result)
    assert "cannot write --json" in text and "is a file, not a folder" in text


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_an_output_path_that_is_a_folder_is_refused(
    german: pd.DataFrame, tmp_path: Path, option: str
) -> None:
    path = _csv(german, tmp_path)
    text = _one_error(_membership(path, "--positive-label", "good", option, str(tmp_path)))
    assert f"cannot write {option}" in text and "it is a folder" in text
