"""Fixtures for the audit tests: real Adult data and count tables built with pandas.

The count tables here are built independently of ``ethica.data.count_outcomes`` (a
plain pandas ``groupby``), so the audit's science is tested on its own. Adult is the
copy shipped in the package (``ethica.data.load_adult``).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ethica.data import MISSING_LABEL, CountTable, load_adult

FEATURES = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def _adult(split: Literal["train", "test"]) -> pd.DataFrame:
    frame = load_adult(split)
    frame["outcome"] = frame["income"].eq(">50K").astype(np.int8)
    return frame


def adult_scored() -> pd.DataFrame:
    """Adult test with a logistic-regression score and decision (trained on Adult train).

    A fresh copy on every call: a test that adds or changes columns cannot change what
    the next test reads (the model is trained once per session).
    """
    return _adult_scored_once().copy()


@cache
def _adult_scored_once() -> pd.DataFrame:
    train, test = _adult("train"), _adult("test")
    model = LogisticRegression(max_iter=1000)
    model.fit(np.log1p(train[FEATURES]), train["outcome"])
    test = test.copy()
    test["score"] = model.predict_proba(np.log1p(test[FEATURES]))[:, 1]
    test["decision"] = (test["score"] >= 0.5).astype(np.int8)
    return test


def count_table(
    frame: pd.DataFrame,
    protected: list[str],
    *,
    label: str = "outcome",
    prediction: str = "decision",
    score: str | None = None,
    bins: int = 10,
) -> CountTable:
    """Build a CountTable with a pandas groupby (the reference implementation for tests)."""
    data = pd.DataFrame(
        {a: frame[a].astype(object).where(frame[a].notna(), MISSING_LABEL).astype(str)
         for a in protected}
    )  # fmt: skip
    data["label"] = frame[label].to_numpy().astype(np.int8)
    data["prediction"] = frame[prediction].to_numpy().astype(np.int8)
    if score is None:
        data["score_bin"] = np.int16(-1)
        data["score_value"] = 0.0
        edges = None
    else:
        values = frame[score].to_numpy(dtype=float)
        data["score_bin"] = np.minimum((values * bins).astype(np.int16), bins - 1)
        data["score_value"] = values
        edges = tuple(float(e) for e in np.linspace(0.0, 1.0, bins + 1))
    cells = (
        data.groupby([*protected, "label", "prediction", "score_bin"], observed=True)
        .agg(n=("score_value", "size"), score_sum=("score_value", "sum"))
        .reset_index()
    )
    cells["n"] = cells["n"].astype(np.int64)
    order = {
        a: tuple(sorted(v for v in data[a].unique() if v != MISSING_LABEL))
        + ((MISSING_LABEL,) if (data[a] == MISSING_LABEL).any() else ())
        for a in protected
    }
    return CountTable(
        attributes=tuple(protected),
        cells=cells,
        group_order=order,
        n_rows=len(frame),
        score_bin_edges=edges,
        provenance={"label": label, "prediction": prediction, "score": score},
    )
