"""Consistency post-processing: non-negative, integer, hierarchically additive, total-keeping."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ethica.privacy import Batch, Count, PureDP, Session, make_consistent
from ethica.privacy.release._consistency import (
    Margin,
    _least_squares,
    _membership,
    consistent_counts,
)


def _hierarchy(
    shape: tuple[int, int, int], truth: np.ndarray, noise: np.ndarray
) -> tuple[list[tuple[object, ...]], list[Margin]]:
    """Leaves (region, sub, block); margins: total, region, region×sub, leaves."""
    leaves: list[tuple[object, ...]] = list(itertools.product(*(range(n) for n in shape)))
    frame = pd.DataFrame(leaves, columns=["r", "s", "b"]).assign(y=truth)
    margins = []
    offset = 0
    for columns in ((), (0,), (0, 1), (0, 1, 2)):
        names = [["r", "s", "b"][c] for c in columns]
        if names:
            cells = frame.groupby(names)["y"].sum()
            keys = [k if isinstance(k, tuple) else (k,) for k in cells.index]
            values = cells.to_numpy(dtype=float)
        else:
            keys, values = [()], np.array([frame["y"].sum()], dtype=float)
        n = len(keys)
        margins.append(
            Margin(columns, tuple(keys), values + noise[offset : offset + n], np.full(n, 4.0))
        )
        offset += n
    return leaves, margins


shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), scale=st.floats(0.0, 30.0))
def test_invariants(shape: tuple[int, int, int], seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    n_leaves = int(np.prod(shape))
    truth = rng.integers(0, 15, n_leaves)
    noise = rng.normal(0, scale, n_leaves + 64)
    leaves, margins = _hierarchy(shape, truth, noise)
    z, cells = consistent_counts(leaves, margins)
    assert z.dtype == np.int64 and (z >= 0).all()
    a = _membership(leaves, margins)
    fitted = _least_squares(
        a,
        np.concatenate([m.values for m in margins]),
        np.concatenate([m.variances for m in margins]),
    )
    assert cells[0][0] == round(fitted.sum())  # total kept
    assert np.all(np.abs(z - fitted) < 1)  # each leaf rounded up or down
    for margin, values in zip(margins, cells, strict=True):  # additive at every level
        for key, value in zip(margin.keys, values, strict=True):
            inside = [
                j for j, leaf in enumerate(leaves) if tuple(leaf[c] for c in margin.columns) == key
            ]
            assert value == z[inside].sum()


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_consistent_integer_input_is_unchanged(shape: tuple[int, int, int], seed: int) -> None:
    truth = np.random.default_rng(seed).integers(0, 50, int(np.prod(shape)))
    leaves, margins = _hierarchy(shape, truth, np.zeros(int(np.prod(shape)) + 64))
    z, _ = consistent_counts(leaves, margins)
    assert np.array_equal(z, truth)


def test_make_consistent_on_a_release(adult_train: pd.DataFrame) -> None:
    sexes = sorted(adult_train["sex"].unique())
    races = sorted(adult_train["race"].unique())
    batch = Batch(
        (
            Count(),
            Count(by="sex", keys={"sex": sexes}),
            Count(by=["sex", "race"], keys={"sex": sexes, "race": races}),
        )
    )
    release = Session(adult_train, privacy_unit="rows", budget=PureDP(0.1)).evaluate(
        batch, PureDP(0.1)
    )
    fixed = make_consistent(release)
    total, by_sex, by_both = (np.asarray(t.values) for t in fixed.tables)
    assert np.all(by_both >= 0) and np.all(by_both == np.round(by_both))
    assert by_sex.sum() == total[0]
    assert by_both.reshape(len(sexes), len(races)).sum(axis=1).tolist() == by_sex.tolist()
    assert fixed.post_processing and fixed.budget == release.budget
    assert abs(total[0] - len(adult_train)) < 200
