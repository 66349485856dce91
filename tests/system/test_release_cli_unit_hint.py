"""The refusal of an unregistered dataset spells a user-level unit as `--privacy-unit user:COL`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from ethica.cli import app

SPEC = """\
source: visits.csv
dataset: visits
privacy_unit: {user: pid, max_groups_per_user: 1}
budget: {rho: 1/2}
queries:
  - count: {}
"""


def test_the_fix_names_the_user_column(tmp_path: Path) -> None:
    pd.DataFrame({"pid": [1, 1, 2], "x": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "visits.csv", index=False
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    ledger = tmp_path / "l.sqlite3"
    result = CliRunner().invoke(
        app, ["release", str(spec), "--out", str(tmp_path / "out"), "--ledger", str(ledger)]
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "ethica budget create visits --rho 1/2 --privacy-unit user:pid" in flat
    assert not (tmp_path / "out").exists()
