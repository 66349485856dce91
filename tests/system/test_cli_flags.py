"""The library's notes name parameters; the command line shows the same notes with flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from ethica.cli import app

runner = CliRunner()


def _decisions(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "group": np.where(np.arange(n) < 380, "big", "small"),
            "outcome": rng.integers(0, 2, n),
            "decision": rng.integers(0, 2, n),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_a_small_group_note_names_the_flag_on_the_command_line(tmp_path: Path) -> None:
    source = _decisions(tmp_path / "d.csv")
    options = ["--label", "outcome", "--prediction", "decision", "--protected", "group"]
    shown = runner.invoke(app, ["audit", str(source), *options])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "Lower --min-group-size to judge them" in text and "min_group_size=" not in text
    document = runner.invoke(app, ["audit", str(source), *options, "--json", "-"])
    notes = " ".join(json.loads(document.stdout)["notes"])
    assert "Lower min_group_size= to judge them" in notes and "--" not in notes
