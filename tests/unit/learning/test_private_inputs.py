"""With a ledger, a learner reads no value of X or y before its charge (contract rule 1).

Refusals before the charge look at the schema only (dtype, shapes); NaN and inf rows are
dropped after the charge (a row-local rule), and no message ever shows a value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import Ledger, PureDP
from ethica.privacy.learning import DPLinearRegression, DPLogisticRegression


def _ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.create_dataset("d", PureDP(5))
    return ledger


def _data(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (n, 2))
    return X, (X[:, 0] > 0).astype(float)


def test_nan_and_inf_rows_are_dropped_after_the_charge(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    X, y = _data()
    X[3, 0], X[5, 1], y[7] = np.nan, np.inf, np.nan
    DPLinearRegression(
        epsilon=1, bounds_X=(-1, 1), bounds_y=(0, 1), ledger=ledger, dataset="d"
    ).fit(X, y)
    DPLogisticRegression(classes=(0, 1), epsilon=1, ledger=ledger, dataset="d").fit(X, y)
    assert [c.status for c in ledger.history("d")] == ["released", "released"]


@pytest.mark.parametrize(
    "X",
    [
        np.array([[0.5, "Alice"]] * 4, dtype=object),
        pd.DataFrame({"a": [0.5] * 4, "name": ["Alice"] * 4}),
        [[0.5, 0.1]] * 4,
    ],
    ids=["object array", "text column", "list"],
)
def test_a_schema_that_needs_values_read_is_refused_for_free_without_them(
    tmp_path: Path, X: object
) -> None:
    ledger = _ledger(tmp_path)
    y = np.array([0.0, 1.0, 0.0, 1.0])
    for model in (
        DPLinearRegression(
            epsilon=1, bounds_X=(-1, 1), bounds_y=(0, 1), ledger=ledger, dataset="d"
        ),
        DPLogisticRegression(classes=(0, 1), epsilon=1, ledger=ledger, dataset="d"),
    ):
        with pytest.raises(InvalidParameterError, match="Nothing was charged") as refused:
            model.fit(X, y)
        assert "Alice" not in str(refused.value)
    assert ledger.history("d") == []
