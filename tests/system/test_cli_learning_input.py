"""``ethica frontier`` and ``ethica proxies`` refuse what would waste or mislead a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica.cli import app
from ethica.data._training import id_like_columns
from tests.system._adult_options import ADULT

runner = CliRunner()


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    text = " ".join(result.output.split())
    assert text.count("error:") == 1, result.output
    return text


@pytest.fixture
def with_ids(adult_train: pd.DataFrame, tmp_path: Path) -> Path:
    rows = adult_train.sample(600, random_state=2).reset_index(drop=True)
    rows.insert(0, "person", [f"P{i:06d}" for i in range(len(rows))])
    rows.insert(1, "row", range(1000, 1000 + len(rows)))
    path = tmp_path / "ids.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["frontier", "proxies"])
def test_id_like_features_are_refused_by_both_commands(with_ids: Path, command: str) -> None:
    text = _one_error(runner.invoke(app, [command, str(with_ids), *ADULT]))
    assert "['person', 'row'] look like row identifiers" in text
    assert "--exclude person,row" in text


def test_the_check_leaves_ordinary_columns_alone(adult_train: pd.DataFrame) -> None:
    sample = adult_train.sample(300, random_state=0)
    assert id_like_columns(sample, list(sample.columns)) == []  # fnlwgt: distinct, not a run
    assert id_like_columns(sample.assign(i=range(300)), ["i", "age"]) == ["i"]
    few = sample.head(10).assign(name=[f"n{i}" for i in range(10)])
    assert id_like_columns(few, ["name"]) == []  # too few rows to tell


@pytest.mark.parametrize("command", ["frontier", "proxies"])
def test_outputs_are_checked_before_reading(with_ids: Path, tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # the ID columns would be refused once the rows are read: the path is refused first
    text = _one_error(
        runner.invoke(app, [command, str(with_ids), *ADULT, "--html", str(blocker / "p.html")])
    )
    assert "cannot write --html" in text and "is a file, not a folder" in text


def test_frontier_checks_the_model_path_first(with_ids: Path, tmp_path: Path) -> None:
    text = _one_error(
        runner.invoke(app, ["frontier", str(with_ids), *ADULT, "--model-out", str(tmp_path)])
    )
    assert "cannot write --model-out" in text and "it is a folder" in text
