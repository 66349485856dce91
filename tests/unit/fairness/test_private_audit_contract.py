"""The privacy contract on ``ethica.audit(..., privacy=...)``: rules not covered elsewhere.

* a failure after the charge keeps the charge (``failed``) and says nothing about the data;
* a budget belongs to a registered dataset and its privacy unit (refused for free);
* the result says what its intervals cover.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ethica
from ethica._exceptions import InvalidParameterError, LedgerError, ReleaseFailedError
from ethica.privacy import Ledger, PureDP, Rows, UserLevel

_CALL: dict[str, object] = {
    "label": "y",
    "prediction": "yhat",
    "protected": ["g"],
    "groups": {"g": ["a", "b"]},
    "privacy": PureDP(1),
}


def _ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.create_dataset("loans", PureDP(2), privacy_unit=Rows())
    return ledger


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 400
    return pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], n),
            "y": rng.binomial(1, 0.4, n),
            "yhat": rng.binomial(1, 0.5, n),
            "person": rng.integers(0, 100, n),
        }
    )


def test_a_failure_after_the_charge_keeps_it_and_is_generic(tmp_path: Path) -> None:
    """A gzip CSV cut in the middle: its header (read for free) is fine, the engine's read
    fails after the charge. The charge stands and the message carries no engine text."""
    path = tmp_path / "decisions.csv.gz"
    text = "g,y,yhat\n" + "".join(
        f"{'ab'[i % 2]},{i % 3 == 0:d},{i % 5 == 0:d}\n" for i in range(20_000)
    )
    packed = gzip.compress(text.encode())
    path.write_bytes(packed[: len(packed) // 2])
    ledger = _ledger(tmp_path)
    with pytest.raises(ReleaseFailedError) as caught:
        ethica.audit(str(path), ledger=ledger, dataset="loans", **_CALL)  # type: ignore[arg-type]
    message = str(caught.value).lower()
    for leak in ("gzip", "decisions", "duckdb", "line", "error:"):
        assert leak not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert ledger.status("loans").spent == PureDP(1)
    assert [c.status for c in ledger.history("loans")] == ["failed"]


def test_a_budget_belongs_to_a_registered_dataset_and_its_unit(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    ledger = _ledger(tmp_path)
    with pytest.raises(InvalidParameterError, match="privacy unit rows"):
        ethica.audit(
            frame,
            ledger=ledger,
            dataset="loans",
            privacy_unit=UserLevel("person", max_groups_per_user=1, max_rows_per_group=1),
            **_CALL,  # type: ignore[arg-type]
        )
    with pytest.raises(LedgerError, match="register it first"):
        ethica.audit(frame, ledger=ledger, dataset="other", **_CALL)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="both ledger= and dataset="):
        ethica.audit(frame, ledger=ledger, **_CALL)  # type: ignore[arg-type]
    assert ledger.status("loans").spent.to_dict()["epsilon"] == "0"
    assert ledger.history("loans") == []
    assert [d.name for d in ledger.datasets()] == ["loans"]


def test_the_result_says_what_its_intervals_cover(frame: pd.DataFrame) -> None:
    result = ethica.audit(frame, **_CALL)  # type: ignore[arg-type]
    notes = " ".join(result.notes)
    assert "Intervals cover sampling and noise" in notes
    assert "noisy counts" in notes
    assert list(result.to_dict()["notes"]) == list(result.notes)
