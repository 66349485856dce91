"""Adult encoded with declared, public ranges for the private-learning tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

NUMERIC = {
    "age": (17.0, 90.0),
    "education_num": (1.0, 16.0),
    "capital_gain": (0.0, 99999.0),
    "capital_loss": (0.0, 4356.0),
    "hours_per_week": (1.0, 99.0),
}


def encode(
    frame: pd.DataFrame, categorical: tuple[str, ...], columns: pd.Index | None = None
) -> pd.DataFrame:
    """Numeric columns scaled into [0, 1] by declared ranges, categories one-hot: every row
    has norm at most ``sqrt(len(NUMERIC) + len(categorical))``."""
    numeric = pd.DataFrame(
        {
            name: (frame[name].astype(float).clip(lo, hi) - lo) / (hi - lo)
            for name, (lo, hi) in NUMERIC.items()
        }
    )
    dummies = pd.get_dummies(frame[list(categorical)].astype(str), dtype=float)
    encoded = pd.concat([numeric, dummies], axis=1)
    return encoded if columns is None else encoded.reindex(columns=columns, fill_value=0.0)


def income(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """1 for income above 50K (train and test spellings alike)."""
    flags = frame["income"].astype(str).str.startswith(">50K").to_numpy()
    return np.asarray(flags, dtype=np.int64)
