"""``ethica release`` checks its outputs before charging, writes whole files or none, and
marks the charge released only once every file exists (issue 9, finding 8).

If writing fails after the noise was drawn, the charge stands (``failed``) and the noisy
results stay recoverable from the ledger, by the command the error names.
"""

from __future__ import annotations

import json
import shlex
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica.cli import _release, app
from ethica.privacy import ApproxDP, Ledger, PureDP

runner = CliRunner()

SPEC = """\
title: Adult people counts
source: adult.csv
dataset: adult
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
    ledger = tmp_path / "ledger.sqlite3"
    monkeypatch.setenv("ETHICA_LEDGER", str(ledger))
    adult_train.head(2000).to_csv(tmp_path / "adult.csv", index=False)
    with Ledger(ledger) as book:
        book.create_dataset("adult", PureDP(5), privacy_unit={"kind": "rows"})
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def _charges(spec: Path) -> list[Any]:
    with Ledger(spec.parent / "ledger.sqlite3") as book:
        return book.history("adult")


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output and "internal error" not in output
    assert output.strip().startswith("error:") and len(output.strip().splitlines()) == 1
    return " ".join(output.split())


def test_release_lists_every_file_it_wrote(spec: Path) -> None:
    out = spec.parent / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["01_people.csv", "02_people_by_sex.csv", "release.json", "report.html"]
    for name in files:
        assert f"{name}" in result.output.replace("\n", "")
    assert result.output.count("wrote") == 4


def test_the_charge_is_released_only_after_the_files_exist(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = _release.write_release

    def spy(*args: Any) -> list[tuple[str, Path]]:
        seen.extend(r.status for r in _charges(spec))  # while the files are being written
        return real(*args)

    monkeypatch.setattr(_release, "write_release", spy)
    result = runner.invoke(app, ["release", str(spec), "--out", str(spec.parent / "out")])
    assert result.exit_code == 0, result.output
    assert seen == ["charged"]  # the old CLI had marked it released before writing
    assert [r.status for r in _charges(spec)] == ["released"]


@pytest.mark.parametrize(
    ("make_out", "words"),
    [
        (lambda d: d / "existing.txt", "is an existing file, not a directory"),
        (lambda d: d / "existing.txt" / "sub", "existing.txt is a file, not a directory"),
        (lambda d: Path("/sys/ethica-release-out"), "is not writable"),
        (lambda d: d / "out", "release.json, but that is a directory"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_charge(
    spec: Path, make_out: Any, words: str
) -> None:
    (spec.parent / "existing.txt").write_text("keep me", encoding="utf-8")
    (spec.parent / "out" / "release.json").mkdir(parents=True)
    out = make_out(spec.parent)
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert words in _one_error_line(result.output)
    assert _charges(spec) == []  # the old CLI charged first, then failed to write
    assert (spec.parent / "existing.txt").read_text(encoding="utf-8") == "keep me"


def test_consistent_without_a_count_table_is_refused_before_any_charge(spec: Path) -> None:
    spec.write_text(
        SPEC.split("queries:")[0]
        + "consistent: true\nqueries:\n  - mean: {column: age, lower: 0, upper: 100}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["release", str(spec), "--out", str(spec.parent / "out")])
    assert result.exit_code == 2
    assert "consistent: true needs at least one count" in _one_error_line(result.output)
    assert _charges(spec) == []
    assert not (spec.parent / "out").exists()


def _recover(output: str) -> dict[str, Any]:
    """Run the command the error names and return the stored release of the failed charge."""
    flat = " ".join(output.split())
    command = flat.split("run `", 1)[1].split("`", 1)[0]
    charge_id = int(flat.split("'output' of charge ", 1)[1].split(".", 1)[0])
    args = shlex.split(command)
    assert args[:3] == ["ethica", "budget", "history"]
    listed = runner.invoke(app, args[1:])
    assert listed.exit_code == 0, listed.output
    (record,) = [r for r in json.loads(listed.output) if r["id"] == charge_id]
    assert record["status"] == "failed"
    output_json: dict[str, Any] = record["output"]
    return output_json


def test_a_report_that_fails_to_draw_keeps_the_noisy_results(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(_release, "render_page", broken)
    out = spec.parent / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    flat = _one_error_line(result.output)
    assert "template exploded" in flat and "The charge stands (status 'failed')" in flat
    assert not out.exists() or list(out.iterdir()) == []
    (record,) = _charges(spec)
    assert record.status == "failed" and record.cost == PureDP(1)  # the old CLI said released
    stored = _recover(result.output)
    assert [t["name"] for t in stored["tables"]] == ["people", "people by sex"]
    assert len(stored["tables"][1]["values"]) == 2


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
    assert result.exit_code == 2
    assert "No space left on device" in _one_error_line(result.output)
    assert sorted(p.name for p in out.iterdir()) == ["01_people.csv"]
    assert pd.read_csv(out / "01_people.csv")["value"].size == 1
    written = pd.read_csv(out / "01_people.csv")["value"].iloc[0]
    assert _recover(result.output)["tables"][0]["values"] == [written]


def test_a_post_processing_failure_after_the_noise_keeps_the_results(tmp_path: Path) -> None:
    # Three rows with private keys: no cell clears the partition-selection threshold, so the
    # finest count table is empty and make_consistent cannot run. That is known only after
    # the noise is drawn (it depends on the noisy counts), so the charge stands, recoverably.
    pd.DataFrame({"place": ["a", "b", "c"]}).to_csv(tmp_path / "tiny.csv", index=False)
    ledger = tmp_path / "l.sqlite3"
    with Ledger(ledger) as book:
        book.create_dataset("tiny", ApproxDP(1, Fraction(1, 10**9)), privacy_unit={"kind": "rows"})
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "source: tiny.csv\ndataset: tiny\nbudget: {epsilon: 1, delta: 1e-9}\nconsistent: true\n"
        "queries:\n  - count: {by: [place]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out), "--ledger", str(ledger)])
    assert result.exit_code == 2
    flat = _one_error_line(result.output)
    assert "making it consistent or writing it" in flat and "The charge stands" in flat
    assert not out.exists()
    stored = _recover(result.output)
    assert stored["tables"][0]["keys"] == []  # the noisy (empty) release, as drawn
