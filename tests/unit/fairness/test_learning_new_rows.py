"""The frontier's saved model scores new rows that have no label column."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import SchemaError
from ethica.workflows._learning import (
    LearningOptions,
    load_learning_data,
    predict_rows,
    run_frontier,
)


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    hours = rng.normal(40, 8, n) + np.where(sex == "m", 4, 0)
    job = rng.choice(["clerk", "engineer", "nurse"], n)
    label = (hours + 5 * (job == "engineer") + rng.normal(0, 5, n) > 45).astype(int)
    return pd.DataFrame({"sex": sex, "hours": hours, "job": job, "approved": label})


def test_saved_frontier_model_scores_rows_without_label(tmp_path: Path) -> None:
    options = LearningOptions(label="approved", protected="sex", seed=0)
    data = load_learning_data(_frame(), options)
    result = run_frontier(data, "demographic_parity", points=2, seed=0)
    path = tmp_path / "model.joblib"
    joblib.dump({"model": result.chosen_model, "encoding": data.encoding}, path)
    bundle = joblib.load(path)

    new_rows = _frame(n=50, seed=9).drop(columns=["approved", "sex"])
    csv = tmp_path / "new.csv"
    new_rows.to_csv(csv, index=False)
    decisions = predict_rows(bundle, csv)
    assert decisions.shape == (50,)
    assert set(np.unique(decisions)) <= {0, 1}
    with_label = _frame(n=50, seed=9)
    expected = result.chosen_model.predict(data.encoding.transform(with_label).X)
    assert np.array_equal(decisions, expected)
    # a missing feature column is still an error that names it
    with pytest.raises(SchemaError, match="hours"):
        predict_rows(bundle, new_rows.drop(columns=["hours"]))
