"""`ethica release SPEC.yaml` and `ethica plan`, through CliRunner, on real files.

A release is charged only to a dataset registered beforehand (`ethica budget create`) under
the same privacy unit and budget kind; nothing creates a budget implicitly (issue 9,
finding 6), and refusals show exact numbers, never rounded up (finding 11).
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy import Ledger, PureDP

runner = CliRunner()

SPEC = """\
title: Adult people counts
source: adult.csv
dataset: adult
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


def _flat(text: str) -> str:
    return " ".join(text.split())


def _create(ledger: Path, *options: str, name: str = "adult") -> None:
    result = runner.invoke(app, ["budget", "create", name, *options, "--ledger", str(ledger)])
    assert result.exit_code == 0, result.output


@pytest.fixture
def workdir(tmp_path: Path, adult_train: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "default-ledger.sqlite3"))
    adult_train.head(5000).to_csv(tmp_path / "adult.csv", index=False)
    return tmp_path


def _spec(workdir: Path, text: str = SPEC.replace("FORMAT", "csv")) -> Path:
    path = workdir / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_release_writes_tables_metadata_and_report(workdir: Path, fmt: str) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "2", "--privacy-unit", "rows")
    spec = _spec(workdir, SPEC.replace("FORMAT", fmt))
    out = workdir / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out), "--ledger", str(ledger)])
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
    with Ledger(ledger) as book:
        (status,) = book.datasets()
        (record,) = book.history("adult")
    assert status.name == "adult" and status.spent == PureDP(1)
    assert record.status == "released"


def test_release_spec_typo_names_line_and_key(workdir: Path) -> None:
    spec = _spec(workdir, SPEC.replace("FORMAT", "csv").replace("keys:", "kyes:"))
    result = runner.invoke(app, ["release", str(spec), "--out", str(workdir / "out")])
    assert result.exit_code == 2
    assert "line 11" in result.output and "unknown key 'kyes'" in result.output
    assert "did you mean 'keys'" in result.output
    assert not (workdir / "out").exists()


def test_an_unregistered_dataset_is_refused_and_nothing_is_created(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    spec = _spec(workdir)
    result = runner.invoke(
        app, ["release", str(spec), "--out", str(workdir / "out"), "--ledger", str(ledger)]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output
    flat = _flat(result.output)
    assert "dataset 'adult' is not registered" in flat
    # the fix, spelled out with the spec's budget kind and unit
    assert "ethica budget create adult --epsilon 1 --privacy-unit rows" in flat
    assert lines[0].startswith("error:")
    assert not (workdir / "out").exists()
    with Ledger(ledger) as book:
        assert book.datasets() == []  # the old CLI auto-created 'adult' with the spec's budget


def test_the_dataset_is_named_in_the_spec_or_on_the_command_line(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "1", "--privacy-unit", "rows", name="visits")
    spec = _spec(workdir, SPEC.replace("FORMAT", "csv").replace("dataset: adult\n", ""))
    base = ["release", str(spec), "--ledger", str(ledger)]
    unnamed = runner.invoke(app, [*base, "--out", str(workdir / "a")])
    assert unnamed.exit_code == 2
    assert "add `dataset: NAME` to the spec or pass --dataset NAME" in _flat(unnamed.output)
    named = runner.invoke(app, [*base, "--out", str(workdir / "b"), "--dataset", "visits"])
    assert named.exit_code == 0, named.output
    with Ledger(ledger) as book:
        assert book.status("visits").spent == PureDP(1)
    conflict = _spec(workdir, SPEC.replace("FORMAT", "csv"))
    result = runner.invoke(
        app, ["release", str(conflict), "--dataset", "visits", "--ledger", str(ledger)]
    )
    assert result.exit_code == 2
    assert "names dataset 'adult' but --dataset says 'visits'" in _flat(result.output)


def test_a_copy_of_the_file_gets_no_fresh_budget(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "1", "--privacy-unit", "rows")
    first = runner.invoke(
        app, ["release", str(_spec(workdir)), "--out", str(workdir / "a"), "--ledger", str(ledger)]
    )
    assert first.exit_code == 0, first.output
    shutil.copy(workdir / "adult.csv", workdir / "copy.csv")
    copy = _spec(workdir, SPEC.replace("FORMAT", "csv").replace("adult.csv", "copy.csv"))
    second = runner.invoke(
        app, ["release", str(copy), "--out", str(workdir / "b"), "--ledger", str(ledger)]
    )
    assert second.exit_code == 2
    assert "nothing was released" in second.output
    assert not (workdir / "b").exists()
    with Ledger(ledger) as book:
        assert [d.charges for d in book.datasets()] == [1]


def test_another_privacy_unit_is_refused_before_any_charge(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "5", "--privacy-unit", "rows")
    spec = _spec(
        workdir,
        SPEC.replace("FORMAT", "csv").replace(
            "budget:", "privacy_unit: {user: education, max_groups_per_user: 2}\nbudget:"
        ),
    )
    result = runner.invoke(
        app, ["release", str(spec), "--out", str(workdir / "out"), "--ledger", str(ledger)]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "privacy unit" in _flat(result.output)
    assert not (workdir / "out").exists()
    with Ledger(ledger) as book:
        assert book.status("adult").charges == 0


def test_a_ledger_of_another_budget_kind_is_one_line_not_a_type_error(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--rho", "1", "--privacy-unit", "rows")
    result = runner.invoke(
        app,
        ["release", str(_spec(workdir)), "--out", str(workdir / "o"), "--ledger", str(ledger)],
    )
    assert result.exit_code == 2
    assert "TypeError" not in result.output and "internal error" not in result.output
    flat = _flat(result.output)
    assert "holds a ZCDP budget (ρ=1)" in flat and "spends PureDP (ε=1)" in flat
    with Ledger(ledger) as book:
        assert book.status("adult").charges == 0


def test_a_refusal_never_rounds_the_remainder_up(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    hair = Fraction(1, 10) - Fraction(1, 10**12)
    _create(ledger, "--epsilon", str(hair), "--privacy-unit", "rows")
    spec = _spec(workdir, SPEC.replace("FORMAT", "csv").replace("epsilon: 1", "epsilon: 0.1"))
    result = runner.invoke(
        app, ["release", str(spec), "--out", str(workdir / "o"), "--ledger", str(ledger)]
    )
    assert result.exit_code == 2
    flat = _flat(result.output)
    # it used to read "asks for PureDP(epsilon=0.1) but only PureDP(epsilon=0.1) remains"
    assert "asks for ε=1/10 but 'adult' has only ε=0.09999999999… left" in flat
    assert "nothing was released and nothing was charged" in flat


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
    assert out["sensitivity"] == {"l1": "1", "l2_squared": "1"}
    widths = [row["half_width"] for row in out["curve"]]
    assert widths == sorted(widths, reverse=True)
    assert figure.read_text().startswith("<svg")


def test_plan_asks_the_library_for_the_sum_sensitivity() -> None:
    from ethica.privacy import Sum, UserLevel
    from ethica.privacy.release._plan import plan_sensitivity

    options = ["--statistic", "sum", "--bound", "2.5", "--max-groups", "5", "--max-rows", "2"]
    result = runner.invoke(app, ["plan", *options, "--json", "-"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    planned = plan_sensitivity(Sum("value", 0, 2.5, by="cell"), UserLevel("user", 5, 2))
    assert out["sensitivity"] == planned.sensitivity.to_dict()
    assert Fraction(out["sensitivity"]["l1"]) >= 5 * 2 * 1000  # k m B, B = 1000 grid units
    assert Fraction(out["grid"]) == Fraction(2.5 / 1000)


def test_plan_translates_the_kind_flag_into_the_budget_type() -> None:
    from ethica.privacy import ZCDP, plan_budget

    result = runner.invoke(app, ["plan", "--kind", "zcdp", "--epsilons", "0.1,1", "--json", "-"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["budget"]["kind"] == "ZCDP"
    assert Fraction(out["budget"]["rho"]) == plan_budget(1, 1, 25, 0.95, ZCDP).rho
    assert [row["rho"] for row in out["curve"]] == [0.1, 1.0]
    bad = runner.invoke(app, ["plan", "--kind", "gauss"])
    assert bad.exit_code != 0 and "--kind must be pure or zcdp, got 'gauss'" in bad.output


def test_plan_bad_target() -> None:
    result = runner.invoke(app, ["plan", "--target", "about twenty"])
    assert result.exit_code == 2
    assert "not an error target" in result.output


def test_keys_are_released_as_written_and_typed_by_the_schema(tmp_path: Path) -> None:
    """A CSV has no schema: its columns are the text written, so keys are too (NO stays NO,
    1 is "1"); a Parquet file's schema types the keys (03 on an integer column is 3)."""
    rows = [("NO", 1), ("SE", 2), ("DK", 3)] * 1000
    frame = pd.DataFrame(rows, columns=["country", "code"])
    frame.to_csv(tmp_path / "nordic.csv", index=False)
    frame.to_parquet(tmp_path / "nordic.parquet", index=False)
    ledger = tmp_path / "l.sqlite3"
    _create(ledger, "--epsilon", "4", "--privacy-unit", "rows", name="nordic")
    for kind in ("csv", "parquet"):
        spec = tmp_path / f"{kind}.yaml"
        spec.write_text(
            f"source: nordic.{kind}\ndataset: nordic\nbudget: {{epsilon: 2}}\nqueries:\n"
            "  - name: by country\n    count: {by: [country], keys: {country: [NO, SE]}}\n"
            "  - name: by code\n    count: {by: [code], keys: {code: [1, 03]}}\n",
            encoding="utf-8",
        )
        out = tmp_path / f"out-{kind}"
        args = ["release", str(spec), "--out", str(out), "--ledger", str(ledger)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        by_country = pd.read_csv(out / "01_by_country.csv", keep_default_na=False)
        assert list(by_country["country"]) == ["NO", "SE"]  # Norway was released as False
        assert (by_country["value"] > 900).all()  # the keys matched the rows (1000 each)
        meta = json.loads((out / "release.json").read_text())
        assert meta["tables"][0]["keys"] == [["NO"], ["SE"]]
        code_keys = [k[0] for k in meta["tables"][1]["keys"]]
        values = meta["tables"][1]["values"]
        if kind == "csv":  # as written: "03" is not "3", so it matches no row
            assert code_keys == ["1", "03"] and values[0] > 900 and values[1] < 100
        else:  # integer keys for an integer column, not "1"
            assert code_keys == [1, 3] and min(values) > 900


def test_a_dataset_without_a_recorded_unit_names_set_unit(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    with Ledger(ledger) as book:
        book.create_dataset("adult", PureDP(2))  # as a ledger from before units were stored
    spec = _spec(workdir)
    args = ["release", str(spec), "--out", str(workdir / "o"), "--ledger", str(ledger)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "`ethica budget set-unit adult --privacy-unit rows`" in _flat(result.output)
    fixed = runner.invoke(
        app, ["budget", "set-unit", "adult", "--privacy-unit", "rows", "--ledger", str(ledger)]
    )
    assert fixed.exit_code == 0, fixed.output
    assert runner.invoke(app, args).exit_code == 0


def _mean_notes(out: Path) -> dict[str, object]:
    meta = json.loads((out / "release.json").read_text())
    notes: dict[str, object] = meta["tables"][2]["notes"]
    return notes


def test_the_spec_asks_for_a_bounding_report(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "2", "--privacy-unit", "rows")
    spec = _spec(workdir, SPEC.replace("FORMAT", "csv") + "bounding_share: 1/10\n")
    out = workdir / "out"
    result = runner.invoke(app, ["release", str(spec), "--out", str(out), "--ledger", str(ledger)])
    assert result.exit_code == 0, result.output
    clamped = _mean_notes(out)["values_clamped"]
    assert isinstance(clamped, dict)
    below, above = clamped["below"], clamped["above"]
    assert clamped["budget"] == PureDP(Fraction(1, 10)).to_dict()  # one clamp vector: all of it
    assert below["ci_low"] <= below["value"] <= below["ci_high"]
    flat = _flat(result.output)
    assert "what bounding did" in flat
    assert (
        f"bounding report, mean hours: values clamped below {below['value']} "
        f"[{below['ci_low']}, {below['ci_high']}], above {above['value']}" in flat
    )
    with Ledger(ledger) as book:
        (status,) = book.datasets()
    assert status.spent == PureDP(1)  # the report is paid out of the budget asked for


def test_bounding_share_on_the_command_line_and_a_conflict(workdir: Path) -> None:
    ledger = workdir / "l.sqlite3"
    _create(ledger, "--epsilon", "2", "--privacy-unit", "rows")
    base = ["release", "--ledger", str(ledger)]
    plain = _spec(workdir)
    without = runner.invoke(app, [*base, str(plain), "--out", str(workdir / "a")])
    assert without.exit_code == 0, without.output
    assert "bounding report" not in without.output
    assert str(_mean_notes(workdir / "a")["values_clamped"]).startswith("not released")
    flag = [*base, str(plain), "--out", str(workdir / "b"), "--bounding-share", "0.1"]
    with_flag = runner.invoke(app, flag)
    assert with_flag.exit_code == 0, with_flag.output
    assert "bounding report, mean hours" in _flat(with_flag.output)
    assert isinstance(_mean_notes(workdir / "b")["values_clamped"], dict)
    conflict = _spec(workdir, SPEC.replace("FORMAT", "csv") + "bounding_share: 1/10\n")
    refused = runner.invoke(
        app, [*base, str(conflict), "--out", str(workdir / "c"), "--bounding-share", "1/5"]
    )
    assert refused.exit_code == 2
    assert "bounding_share: 1/10 but --bounding-share says 1/5" in _flat(refused.output)
    bad = runner.invoke(
        app, [*base, str(plain), "--out", str(workdir / "d"), "--bounding-share", "2"]
    )
    assert bad.exit_code == 2
    assert "--bounding-share must be a fraction strictly between 0 and 1" in _flat(bad.output)
    with Ledger(ledger) as book:
        (status,) = book.datasets()
    assert status.spent == PureDP(2) and status.charges == 2  # refusals cost nothing
    assert not (workdir / "c").exists() and not (workdir / "d").exists()
