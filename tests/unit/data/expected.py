"""Reference counts computed row by row with plain pandas, to check count_outcomes against."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

MISSING = "(missing)"
KEYS = ["label", "prediction", "score_bin"]


def interval_labels(edges: Sequence[int]) -> list[str]:
    """Labels for integer edges, written out independently of ethica's formatter."""
    inner = [f"[{a}, {b})" for a, b in itertools.pairwise(edges)]
    return [f"< {edges[0]}", *inner, f">= {edges[-1]}"]


def pandas_counts(
    frame: pd.DataFrame,
    *,
    label: str,
    protected: Mapping[str, Sequence[int] | None],
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    positive: object = 1,
    score_bins: int = 10,
) -> pd.DataFrame:
    """Per-cell counts (and score sums) of ``frame`` by a pandas groupby over its rows."""
    out = pd.DataFrame(index=frame.index)
    for column, edges in protected.items():
        if edges is None:
            values = frame[column].astype(object).where(frame[column].notna(), MISSING)
            out[column] = values.astype(str)
        else:
            cut = pd.cut(
                frame[column],
                bins=[-np.inf, *edges, np.inf],
                right=False,
                labels=interval_labels(edges),
            )
            out[column] = cut.astype(object).where(cut.notna(), MISSING).astype(str)
    out["label"] = (frame[label] == positive).astype("int8")
    if prediction is not None:
        out["prediction"] = (frame[prediction] == positive).astype("int8")
    else:
        out["prediction"] = (frame[score] >= threshold).astype("int8")
    if score is not None:
        out["score_bin"] = np.minimum(np.floor(frame[score] * score_bins), score_bins - 1).astype(
            "int16"
        )
        out["score"] = frame[score].astype(float)
    else:
        out["score_bin"] = np.int16(-1)
        out["score"] = 0.0
    keys = [*protected, *KEYS]
    grouped = out.groupby(keys, dropna=False, sort=True)
    result = grouped.agg(n=("score", "size"), score_sum=("score", "sum")).reset_index()
    return result.sort_values(keys, ignore_index=True)


def assert_same_counts(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Cells equal: identical keys and counts, score sums to 1e-9."""
    keys = [c for c in expected.columns if c not in ("n", "score_sum")]
    left = actual.sort_values(keys, ignore_index=True)
    right = expected.sort_values(keys, ignore_index=True)
    assert list(left.columns) == list(right.columns)
    for key in keys:
        assert left[key].astype(str).tolist() == right[key].astype(str).tolist(), key
    assert left["n"].tolist() == right["n"].tolist()
    np.testing.assert_allclose(left["score_sum"], right["score_sum"], rtol=1e-9, atol=1e-9)
