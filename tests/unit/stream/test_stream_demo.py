"""The supermarket demo's workflow: a released year with intervals and its price."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ethica.privacy import Ledger
from ethica.workflows._stream_demo import supermarket_section, supermarket_year


def test_supermarket_stream_releases_every_day_and_states_the_price(tmp_path: Path) -> None:
    result = supermarket_year(days=20, rho=50.0, folder=tmp_path, mechanism="tree")
    frame = result.to_frame()
    assert len(frame) == 20 and list(frame["day"])[:2] == ["2026-01-01", "2026-01-02"]
    assert (frame["running_half_width"] > 0).all()
    assert np.allclose(frame["true_running"], np.cumsum(result.truth_daily))
    # at rho = 50 the tree's running totals are within a few dozen of the truth
    assert (frame["running"] - frame["true_running"]).abs().max() < 100
    section = supermarket_section(result)
    assert section["title"].startswith("The supermarket") and "28 days" in section["text"]
    assert result.event_level_budget["rho_float"] < 50.0 / 28 + 1e-9
    assert Ledger(tmp_path / "ledger.sqlite3").status("supermarket").charges == 21
