"""`ethica release SPEC.yaml` and `ethica plan`, through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy import Ledger

runner = CliRunner()

SPEC = """\
title: Adult people counts
source: adult.csv
budget: {epsilon: 1}
consistent: true
format: FORMAT
queries:
  - name: people
    count: {}
  - name: people by sex
    count: {by: [sex], keys: {sex: [Female, Male]}}
  - name: mean hours
    mean: {column: hours_per_week, lower: 0, upper: 99}
"""


@pytest.fixture
def workdir(tmp_path: Path, adult_train: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "default-ledger.sqlite3"))
    adult_train.head(5000).to_csv(tmp_path / "adult.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_release_writes_tables_metadata_and_report(workdir: Path, fmt: str) -> None:
    spec = workdir / "spec.yaml"
    spec.write_text(SPEC.replace("FORMAT", fmt), encoding="utf-8")
    out = workdir / "out"
    result = runner.invoke(
        app, ["release", str(spec), "--out", str(out), "--ledger", str(workdir / "l.sqlite3")]
    )
    assert result.exit_code == 0, result.output
    tables = sorted(out.glob(f"*.{fmt}"))
    assert len(tables) == 3
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    by_sex = read(tables[1])
    assert set(by_sex["sex"]) == {"Female", "Male"}
    assert (by_sex["ci_low"] <= by_sex["ci_high"]).all()
    total = read(tables[0])["value"].iloc[0]
    assert by_sex["value"].sum() == total  # consistent
    meta = json.loads((out / "release.json").read_text())
    assert meta["budget"]["kind"] == "PureDP"
    assert meta["tables"][0]["mechanism"] == "discrete Laplace"
    assert "scale" in next(iter(meta["tables"][0]["noise"]))
    html = (out / "report.html").read_text()
    assert "Relative error per group" in html and "<svg" in html
    status = Ledger(workdir / "l.sqlite3").datasets()[0]
    assert status.charges == 1


def test_release_spec_typo_names_line_and_key(workdir: Path) -> None:
    spec = workdir / "spec.yaml"
    spec.write_text(SPEC.replace("FORMAT", "csv").replace("keys:", "kyes:"), encoding="utf-8")
    result = runner.invoke(app, ["release", str(spec), "--out", str(workdir / "out")])
    assert result.exit_code == 2
    assert "line 10" in result.output and "unknown key 'kyes'" in result.output
    assert "did you mean 'keys'" in result.output
    assert not (workdir / "out").exists()


def test_release_over_budget_is_refused(workdir: Path) -> None:
    spec = workdir / "spec.yaml"
    spec.write_text(SPEC.replace("FORMAT", "csv"), encoding="utf-8")
    first = runner.invoke(app, ["release", str(spec), "--out", str(workdir / "a")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["release", str(spec), "--out", str(workdir / "b")])
    assert second.exit_code == 2
    assert "nothing was released" in second.output
    assert not (workdir / "b").exists()
    history = Ledger(workdir / "default-ledger.sqlite3").datasets()
    assert [d.charges for d in history] == [1]


def test_plan_supermarket(tmp_path: Path) -> None:
    figure = tmp_path / "curve.svg"
    result = runner.invoke(
        app, ["plan", "--target", "±25 at 95%", "--figure", str(figure), "--json", "-"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["confidence"] == 0.95
    epsilon = out["budget"]["epsilon_float"]
    assert 0.1 < epsilon < 0.13  # ≈ ln(40)/25 for a count
    widths = [row["half_width"] for row in out["curve"]]
    assert widths == sorted(widths, reverse=True)
    assert figure.read_text().startswith("<svg")


def test_plan_bad_target() -> None:
    result = runner.invoke(app, ["plan", "--target", "about twenty"])
    assert result.exit_code == 2
    assert "not an error target" in result.output
