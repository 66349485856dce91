"""``sample_rows``: a seeded sample drawn in the engine (rows, or whole users)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from ethica.data import resolve_table
from ethica.data._sampling import sample_rows


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(2_000), rng.integers(1, 5, 2_000))
    frame = pd.DataFrame({"user": users.astype(float), "x": np.arange(len(users))})
    frame.loc[::97, "user"] = np.nan  # missing ids
    return frame


def _table() -> ibis.Table:
    return resolve_table(_frame())


def test_rows_sample_is_reproducible_and_seeded() -> None:
    table = _table()
    a = sample_rows(table, size=300, seed=1)
    b = sample_rows(table, size=300, seed=1)
    c = sample_rows(table, size=300, seed=2)
    assert len(a) == 300 and set(a["x"]) == set(b["x"])
    assert len(set(a["x"]) & set(c["x"])) < 60  # ~300 * 300 / 5,000 expected in common


def test_user_sample_keeps_every_row_of_each_chosen_user() -> None:
    table = _table()
    full = _frame()
    sample = sample_rows(table, size=150, seed=3, user_column="user")
    assert sample["user"].nunique() == 150 and sample["user"].notna().all()
    sizes = full.groupby("user").size()
    assert (sample.groupby("user").size() == sizes[sample["user"].unique()]).all()


def test_a_table_with_few_users_is_kept_whole() -> None:
    table = _table()
    everything = sample_rows(table, size=5_000, seed=0, user_column="user")
    assert len(everything) == len(_frame())  # missing ids included
