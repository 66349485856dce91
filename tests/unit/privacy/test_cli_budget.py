"""``ethica budget create/show/history`` through ``typer.testing.CliRunner``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.cli._budget import exact_text
from ethica.privacy import ZCDP, Ledger, PureDP

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_create_show_history(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    rows = ("--privacy-unit", "rows")
    code, out = _run("budget", "create", "adult", "--epsilon", "1/2", *rows, "--ledger", str(path))
    assert code == 0 and "adult" in out and "ε=1/2" in out and "privacy unit rows" in out
    code, _ = _run(
        "budget",
        "create",
        "census",
        "--rho",
        "0.1",
        "--privacy-unit",
        "user:pid",
        "--ledger",
        str(path),
    )
    assert code == 0
    code, out = _run(
        "budget",
        "create",
        "german",
        "--epsilon",
        "1",
        "--delta",
        "1e-9",
        *rows,
        "--ledger",
        str(path),
    )
    assert code == 0 and "δ=1/1000000000" in out
    with Ledger(path, principal="bob") as book:
        assert book.status("census").total == ZCDP(Fraction(1, 10))  # decimal text is exact
        with book.charge("adult", PureDP(Fraction(1, 8)), "count by sex") as charge:
            charge.set_output([1, 2])
    code, out = _run("budget", "show", "--ledger", str(path))
    assert code == 0
    for word in ("adult", "census", "german", "ZCDP", "ApproxDP", "ε=3/8", "ρ=1/10", "user:pid"):
        assert word in out
    code, out = _run("budget", "show", "adult", "--ledger", str(path))
    assert code == 0 and "census" not in out
    code, out = _run("budget", "history", "adult", "--ledger", str(path))
    assert code == 0 and "count by sex" in out and "bob" in out and "released" in out
    code, out = _run("budget", "history", "adult", "--json", "--ledger", str(path))
    records = json.loads(out)
    assert records[0]["cost"]["epsilon"] == "1/8" and records[0]["status"] == "released"


def test_env_var_selects_the_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "env.sqlite3"))
    code, _ = _run("budget", "create", "adult", "--epsilon", "2", "--privacy-unit", "rows")
    assert code == 0
    code, out = _run("budget", "show")
    assert code == 0 and "adult" in out
    assert (tmp_path / "env.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--epsilon", "0"], ["epsilon", "> 0"]),
        (["--epsilon", "-1"], ["epsilon", "> 0"]),
        (["--epsilon", "nan"], ["--epsilon", "not a finite number"]),
        (["--rho", "inf"], ["--rho", "not a finite number"]),
        (["--epsilon", "1", "--delta", "1"], ["delta", "(0, 1)"]),
        (["--epsilon", "1", "--rho", "1"], ["exactly one"]),
        ([], ["exactly one"]),
        (["--rho", "1", "--delta", "1e-9"], ["--delta goes with --epsilon"]),
    ],
)
def test_bad_budgets_are_one_red_line_exit_2(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    code, out = _run(
        "budget",
        "create",
        "d",
        *args,
        "--privacy-unit",
        "rows",
        "--ledger",
        str(tmp_path / "l.sqlite3"),
    )
    assert code == 2
    flat = " ".join(out.split())
    assert "error:" in flat and all(w in flat for w in words)
    assert "Traceback" not in out


def test_foreign_ledger_and_unknown_dataset_exit_2(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.txt"
    foreign.write_text("not a ledger")
    code, out = _run("budget", "show", "--ledger", str(foreign))
    assert code == 2 and "untouched" in " ".join(out.split())
    assert foreign.read_text() == "not a ledger"
    code, out = _run("budget", "history", "nope", "--ledger", str(tmp_path / "l.sqlite3"))
    assert code == 2 and "no dataset 'nope'" in " ".join(out.split())


def test_empty_ledger_says_how_to_start(tmp_path: Path) -> None:
    code, out = _run("budget", "show", "--ledger", str(tmp_path / "l.sqlite3"))
    assert code == 0 and "budget create" in " ".join(out.split())


def test_the_privacy_unit_is_required_and_stored(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    result = runner.invoke(app, ["budget", "create", "v", "--epsilon", "1", "--ledger", str(path)])
    assert result.exit_code == 2 and "--privacy-unit" in result.output
    code, _ = _run(
        "budget",
        "create",
        "v",
        "--epsilon",
        "1",
        "--privacy-unit",
        "user:person_id",
        "--ledger",
        str(path),
    )
    assert code == 0
    with Ledger(path) as book:
        assert book.status("v").privacy_unit == {"kind": "user", "column": "person_id"}


@pytest.mark.parametrize("unit", ["users", "user:", "user:pid:5:2", "row"])
def test_a_bad_privacy_unit_is_one_red_line(tmp_path: Path, unit: str) -> None:
    code, out = _run(
        "budget",
        "create",
        "v",
        "--epsilon",
        "1",
        "--privacy-unit",
        unit,
        "--ledger",
        str(tmp_path / "l.sqlite3"),
    )
    assert code == 2 and "Traceback" not in out
    assert "error:" in out and "'rows' or 'user:COLUMN'" in " ".join(out.split())
    with Ledger(tmp_path / "l.sqlite3") as book:
        assert book.datasets() == []


def test_show_json_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("a", PureDP(Fraction(1, 10)), privacy_unit={"kind": "rows"})
        book.create_dataset("b", ZCDP(1), privacy_unit={"kind": "user", "column": "pid"})
        book.record_charge("a", PureDP(Fraction(1, 30)), "count")
    code, out = _run("budget", "show", "--json", "--ledger", str(path))
    assert code == 0
    shown = {d["name"]: d for d in json.loads(out)}
    assert shown["a"]["remaining"]["epsilon"] == "1/15"
    assert shown["a"]["privacy_unit"] == {"kind": "rows"}
    assert shown["b"]["total"] == {**ZCDP(1).to_dict()}
    code, out = _run("budget", "show", "a", "--json", "--ledger", str(path))
    assert [d["name"] for d in json.loads(out)] == ["a"]


def test_a_remainder_a_hair_below_is_never_shown_rounded_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: each value on one line
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("a", PureDP(Fraction(1, 5)), privacy_unit={"kind": "rows"})
        book.record_charge("a", PureDP(Fraction(1, 10) + Fraction(1, 10**15)), "count")
    code, out = _run("budget", "show", "a", "--ledger", str(path))
    assert code == 0
    assert "ε=0.09999999999…" in out  # it used to show ε=0.1
    assert "ε=0.1 " not in out and "ε=0.1\n" not in out


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(3, 8), "3/8"),
        (Fraction(1, 10**9), "1/1000000000"),
        (Fraction(1, 10) - Fraction(1, 10**12), "0.09999999999…"),
        (Fraction(2, 3) + Fraction(1, 10**20), "0.6666666666…"),
        (Fraction(10**20 + 1, 3), "3.333333333E+19…"),
    ],
)
def test_exact_text_is_never_rounded_up(value: Fraction, text: str) -> None:
    assert exact_text(value) == text
    if text.endswith("…"):
        assert Fraction(text[:-1].replace("E+", "e")) <= value


def test_set_unit_records_the_unit_of_an_old_dataset_once(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("old", PureDP(1))  # as a ledger from before units were stored
    code, out = _run("budget", "show", "old", "--ledger", str(path))
    assert code == 0 and "(none recorded)" in out
    code, out = _run(
        "budget", "set-unit", "old", "--privacy-unit", "user:pid", "--ledger", str(path)
    )
    assert code == 0 and "user:pid" in out
    code, out = _run("budget", "set-unit", "old", "--privacy-unit", "rows", "--ledger", str(path))
    assert code == 2 and "never changed" in " ".join(out.split())
    with Ledger(path) as book:
        assert book.status("old").privacy_unit == {"kind": "user", "column": "pid"}
