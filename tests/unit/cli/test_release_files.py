"""``ethica release`` writes whole files or none: a failure leaves no partial output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica.cli import _release, app

runner = CliRunner()

SPEC = """\
title: Adult people counts
source: adult.csv
budget: {epsilon: 1}
format: csv
queries:
  - name: people
    count: {}
  - name: people by sex
    count: {by: [sex], keys: {sex: [Female, Male]}}
"""


@pytest.fixture
def spec(tmp_path: Path, adult_train: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "ledger.sqlite3"))
    adult_train.head(2000).to_csv(tmp_path / "adult.csv", index=False)
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_release_lists_every_file_it_wrote(spec: Path) -> None:
    out = spec.parent / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["01_people.csv", "02_people_by_sex.csv", "release.json", "report.html"]
    for name in files:
        assert f"{name}" in result.output.replace("\n", "")
    assert result.output.count("wrote") == 4


def test_a_report_that_fails_to_draw_writes_no_file(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(_release, "render_page", broken)
    out = spec.parent / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 1
    assert "template exploded" in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_a_table_that_fails_midway_leaves_no_partial_file(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = pd.DataFrame.to_csv
    calls: list[int] = []

    def fail_on_second_table(frame: pd.DataFrame, path: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            Path(path).write_text("sex,value\nFemale,", encoding="utf-8")
            raise OSError("No space left on device")
        original(frame, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_second_table)
    out = spec.parent / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["01_people.csv"]
    assert pd.read_csv(out / "01_people.csv")["value"].size == 1
