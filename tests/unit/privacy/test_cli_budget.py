"""``ethica budget create/show/history`` through ``typer.testing.CliRunner``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy import Ledger, PureDP

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_create_show_history(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    code, out = _run("budget", "create", "adult", "--epsilon", "1/2", "--ledger", str(path))
    assert code == 0 and "adult" in out and "ε=1/2" in out
    code, _ = _run("budget", "create", "census", "--rho", "0.1", "--ledger", str(path))
    assert code == 0
    code, _ = _run(
        "budget", "create", "german", "--epsilon", "1", "--delta", "1e-9", "--ledger", str(path)
    )
    assert code == 0
    with Ledger(path, principal="bob") as book:
        assert book.status("census").total.rho == Fraction(1, 10)  # decimal text is exact
        with book.charge("adult", PureDP(Fraction(1, 8)), "count by sex") as charge:
            charge.set_output([1, 2])
    code, out = _run("budget", "show", "--ledger", str(path))
    assert code == 0
    for word in ("adult", "census", "german", "ZCDP", "ApproxDP", "ε=3/8", "ρ=1/10"):
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
    code, _ = _run("budget", "create", "adult", "--epsilon", "2")
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
    code, out = _run("budget", "create", "d", *args, "--ledger", str(tmp_path / "l.sqlite3"))
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
