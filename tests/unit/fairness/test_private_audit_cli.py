"""``ethica audit --epsilon``: private audits from the command line (real CLI, real ledger)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica.cli import app
from ethica.privacy import Ledger, PureDP, Rows, UserLevel

runner = CliRunner()


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    n = 4000
    sex = rng.choice(["F", "M"], n)
    frame = pd.DataFrame(
        {
            "person": rng.integers(0, 2000, n),
            "sex": sex,
            "age": rng.integers(18, 80, n),
            "y": rng.binomial(1, 0.4, n),
            "yhat": rng.binomial(1, np.where(sex == "F", 0.25, 0.5)),
        }
    )
    path = tmp_path_factory.mktemp("private-cli") / "decisions.csv"
    frame.to_csv(path, index=False)
    return path


def _audit(source: Path, *args: str) -> Result:
    return runner.invoke(app, ["audit", str(source), "--label", "y", "--prediction", "yhat", *args])


def test_epsilon_runs_a_private_audit_and_writes_its_cost(decisions: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    page = tmp_path / "audit.html"
    result = _audit(
        decisions,
        "--protected",
        "sex",
        "--bins",
        "age=40",
        "--groups",
        "sex=F,M",
        "--epsilon",
        "0.5",
        "--json",
        str(out),
        "--html",
        str(page),
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["privacy"]["budget"]["epsilon"] == "1/2"
    assert doc["privacy"]["cells"] == 16
    assert doc["headline"]["verdict"] == "fail"  # selection 0.25 vs 0.5
    shown = _audit(decisions, "--protected", "sex", "--groups", "sex=F,M", "--epsilon", "1")
    assert shown.exit_code == 0, shown.output
    assert "Private audit: 8 noisy counts" in shown.output
    assert "as wide as an exact audit's" in " ".join(shown.output.split())
    assert "<svg" in page.read_text()


def test_ledger_and_user_level_unit(decisions: Path, tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    unit = UserLevel("person", max_groups_per_user=2, max_rows_per_group=1)
    with Ledger(path) as book:
        book.create_dataset("loans", PureDP(1), privacy_unit=unit)
    args = ["--protected", "sex", "--groups", "sex=F,M", "--ledger", str(path)]
    args += ["--dataset", "loans", "--privacy-unit", "user:person"]
    args += ["--max-cells-per-user", "2", "--max-rows-per-cell", "1"]
    first = _audit(decisions, *args, "--epsilon", "0.75")
    assert first.exit_code == 0, first.output
    assert "charged to loans" in first.output
    second = _audit(decisions, *args, "--epsilon", "0.5")  # only 1/4 left
    assert second.exit_code != 0
    assert "exceeds the budget" in second.output and "nothing was released" in second.output
    with Ledger(path) as book:
        assert book.status("loans").spent == PureDP(0.75)


def test_privacy_options_need_a_budget_and_declared_groups(decisions: Path, tmp_path: Path) -> None:
    alone = _audit(decisions, "--protected", "sex", "--groups", "sex=F,M")
    assert alone.exit_code != 0 and "add --epsilon" in alone.output
    undeclared = _audit(decisions, "--protected", "sex", "--epsilon", "1")
    assert undeclared.exit_code != 0 and "--groups sex=A,B" in undeclared.output
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("rows", PureDP(1), privacy_unit=Rows())
    wrong_unit = _audit(
        decisions,
        "--protected",
        "sex",
        "--groups",
        "sex=F,M",
        "--epsilon",
        "1",
        "--ledger",
        str(path),
        "--dataset",
        "rows",
        "--privacy-unit",
        "user:person",
    )
    assert wrong_unit.exit_code != 0 and "privacy unit" in wrong_unit.output
    with Ledger(path) as book:
        assert book.status("rows").spent.epsilon == 0
