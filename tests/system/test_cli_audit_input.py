"""``ethica audit`` on awkward files: each a silent wrong answer or a crash of older versions."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica.cli import app
from ethica.cli._audit import audit as audit_command
from ethica.data._checks import MAX_GROUPS

runner = CliRunner()


def _audit(source: Path, *options: str) -> Result:
    return runner.invoke(app, ["audit", str(source), *options])


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    text = " ".join(result.output.split())
    assert text.count("error:") == 1, result.output
    return text


@pytest.fixture
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "yhat": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )


def _csv(frame: pd.DataFrame, tmp_path: Path, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _selection(document: dict[str, object], group: str) -> float:
    groups = document["groups"]
    assert isinstance(groups, list)
    found = next(g for g in groups if g["group"] == [group])
    return float(found["metrics"]["selection_rate"]["value"])


def test_yes_no_columns_audit_with_their_words(rows: pd.DataFrame, tmp_path: Path) -> None:
    words = rows.assign(
        y=np.where(rows["y"] == 1, "yes", "no"), yhat=np.where(rows["yhat"] == 1, "yes", "no")
    )
    path = _csv(words, tmp_path)
    result = _audit(
        path, "--label", "y", "--prediction", "yhat", "--protected", "sex",
        "--positive-label", "yes", "--json", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    women = rows[rows["sex"] == "F"]
    assert _selection(json.loads(result.stdout), "F") == pytest.approx(women["yhat"].mean())


def test_true_on_a_zero_one_prediction_is_an_error_not_all_negative(
    rows: pd.DataFrame, tmp_path: Path
) -> None:
    path = _csv(rows.assign(y=rows["y"].astype(bool)), tmp_path)  # written True/False
    base = ("--label", "y", "--prediction", "yhat", "--protected", "sex")
    text = _one_error(_audit(path, *base, "--positive-label", "True"))
    assert "--positive-prediction True is not among" in text and "['0', '1']" in text
    assert "--positive-prediction" in text
    result = _audit(
        path, *base, "--positive-label", "True", "--positive-prediction", "1", "--json", "-"
    )
    assert result.exit_code == 0, result.output
    women = rows[rows["sex"] == "F"]
    assert _selection(json.loads(result.stdout), "F") == pytest.approx(women["yhat"].mean())


def test_hi_lo_labels_and_probability_predictions_are_errors(
    rows: pd.DataFrame, tmp_path: Path
) -> None:
    hilo = _csv(rows.assign(y=np.where(rows["y"] == 1, "hi", "lo")), tmp_path, "hilo.csv")
    text = _one_error(_audit(hilo, "--label", "y", "--prediction", "yhat", "--protected", "sex"))
    assert "['hi', 'lo']" in text and "--positive-label" in text
    probs = _csv(rows.assign(yhat=np.where(rows["yhat"] == 1, 0.95, 0.05)), tmp_path, "p.csv")
    text = _one_error(_audit(probs, "--label", "y", "--prediction", "yhat", "--protected", "sex"))
    assert "['0.05', '0.95']" in text and "--score yhat" in text


def test_one_two_labels_warn_in_one_line(rows: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(rows.assign(y=rows["y"] + 1, yhat=rows["yhat"] + 1), tmp_path)
    result = _audit(path, "--label", "y", "--prediction", "yhat", "--protected", "sex")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: label column 'y' is coded {1, 2}" in text and "--positive-label 2" in text
    assert "Warning" not in result.output  # not Python's warning format with a file path


def test_an_all_null_protected_column_is_refused(rows: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(rows.assign(race=None), tmp_path)
    text = _one_error(
        _audit(path, "--label", "y", "--prediction", "yhat", "--protected", "sex,race")
    )
    assert "'race' is missing (NULL) in all 600 rows" in text


def test_thousands_of_groups_are_refused_before_any_report(
    rows: pd.DataFrame, tmp_path: Path
) -> None:
    many = pd.concat([rows] * 5, ignore_index=True)
    path = _csv(many.assign(zip=np.arange(len(many)) % 1500), tmp_path)
    page = tmp_path / "audit.html"
    base = ("--label", "y", "--prediction", "yhat", "--protected", "zip")
    text = _one_error(_audit(path, *base, "--html", str(page)))
    assert "1,500 distinct values" in text and "--bins zip=q5" in text
    assert "--min-group-size" in text and "--max-groups" in text
    assert not page.exists()
    assert inspect.signature(audit_command).parameters["max_groups"].default == MAX_GROUPS


def test_empty_and_latin1_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    text = _one_error(_audit(empty, "--label", "y", "--prediction", "yhat", "--protected", "c"))
    assert "is empty (0 bytes)" in text
    latin = tmp_path / "latin.csv"
    body = "y,yhat,city\n" + "1,1,Zürich\n0,1,Köln\n1,0,Paris\n" * 20
    latin.write_bytes(body.encode("latin-1"))
    base = ("--label", "y", "--prediction", "yhat", "--protected", "city")
    text = _one_error(_audit(latin, *base))
    assert "not valid utf-8: line 2" in text and "--encoding" in text
    result = _audit(latin, *base, "--encoding", "latin-1", "--json", "-")
    assert result.exit_code == 0, result.output
    groups = {g["group"][0] for g in json.loads(result.stdout)["groups"]}
    assert groups == {"Köln", "Paris", "Zürich"}


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_unwritable_outputs_fail_first_in_one_line(
    rows: pd.DataFrame, tmp_path: Path, option: str
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    # the label is mistyped too: the output path is checked before the data is read
    path = _csv(rows, tmp_path)
    base = ("--label", "nope", "--prediction", "yhat", "--protected", "sex")
    text = _one_error(_audit(path, *base, option, str(blocker / "out")))
    assert f"cannot write {option}" in text and "is a file, not a folder" in text
    text = _one_error(_audit(path, *base, option, str(tmp_path)))
    assert "it is a folder" in text
    both = _one_error(
        _audit(path, *base, "--json", str(tmp_path / "a"), "--html", str(tmp_path / "a"))
    )
    assert "--json and --html both write" in both


def test_a_new_output_folder_is_still_created(rows: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(rows, tmp_path)
    out = tmp_path / "new" / "deeper" / "audit.json"
    result = _audit(
        path, "--label", "y", "--prediction", "yhat", "--protected", "sex", "--json", str(out)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["n_rows"] == len(rows)
