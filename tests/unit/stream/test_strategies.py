"""Mechanisms for running totals: unbiased online weights, exact sensitivities, variances."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ZCDP, PureDP
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise, Noise
from ethica.privacy.stream import (
    MECHANISMS,
    UserWindow,
    build_strategy,
    strategy_sensitivity,
    stream_noise,
)
from ethica.privacy.stream._strategies import FACTOR_BITS, sqrt_coefficients

LAWS: dict[str, type[Noise]] = {"laplace": LaplaceNoise, "gaussian": GaussianNoise}


@pytest.mark.parametrize("name", MECHANISMS)
@pytest.mark.parametrize("horizon", [1, 7, 64, 100])
def test_weights_are_online_and_unbiased(name: str, horizon: int) -> None:
    s = build_strategy(name, horizon)
    assert s.matrix.dtype == np.int64 and (s.matrix >= 0).all()
    ones = np.tril(np.ones((horizon, horizon)))
    assert np.abs(s.running @ s.matrix - ones).max() < 1e-9
    assert np.abs(s.daily @ s.matrix - np.eye(horizon)).max() < 1e-9
    for t in range(horizon):
        late = s.available > t
        assert not s.running[t, late].any() and not s.daily[t, late].any()
        # a measurement available at t reads nothing after t
        assert not s.matrix[s.available == t, t + 1 :].any()


def test_tree_uses_popcount_nodes_and_leaves() -> None:
    s = build_strategy("tree", 365)
    counts = (s.running != 0).sum(axis=1)
    assert [int(c) for c in counts] == [bin(t + 1).count("1") for t in range(365)]
    assert ((s.daily != 0).sum(axis=1) == 1).all()


def test_factorization_is_the_fixed_point_square_root() -> None:
    s = build_strategy("factorization", 50)
    c = sqrt_coefficients(50)
    column = s.matrix[:, 0]
    for k in range(50):
        assert abs(Fraction(int(column[k]), 2**FACTOR_BITS) - c[k]) <= Fraction(
            1, 2 ** (FACTOR_BITS + 1)
        )
    # sqrt(A) squared is A: sum_{j<=k} c_j c_{k-j} = 1
    assert all(sum(c[j] * c[k - j] for j in range(k + 1)) == 1 for k in range(50))
    # W is close to sqrt(A) / 2**s (post-processing of the integer measurements)
    assert np.allclose(s.running[:, 0] * 2**FACTOR_BITS, [float(v) for v in c], atol=1e-3)


def test_ls_tree_matches_dense_least_squares() -> None:
    horizon = 23
    s = build_strategy("ls-tree", horizon)
    dense = s.matrix.astype(float)
    for t in range(horizon):
        rows = np.flatnonzero(s.available <= t)
        sub = dense[rows, : t + 1]
        weights = sub @ np.linalg.solve(sub.T @ sub, np.ones(t + 1))
        assert np.allclose(s.running[t, rows], weights)


def _brute_sensitivity(
    matrix: np.ndarray, window: int, c: int, keys: int, max_keys: int
) -> tuple[int, int]:
    """Max over every change of <= max_keys keys per bucket by |delta| <= c in one window."""
    horizon = matrix.shape[1]
    best1 = best2 = 0
    width = min(window, horizon)
    for a in range(horizon - width + 1):
        cells = [(k, t) for k in range(keys) for t in range(a, a + width)]
        for values in itertools.product(range(-c, c + 1), repeat=len(cells)):
            delta = np.zeros((horizon, keys), dtype=np.int64)
            for (k, t), v in zip(cells, values, strict=True):
                delta[t, k] = v
            if ((delta != 0).sum(axis=1) > max_keys).any():
                continue
            out = matrix @ delta
            best1 = max(best1, int(np.abs(out).sum()))
            best2 = max(best2, int((out * out).sum()))
    return best1, best2


@pytest.mark.parametrize("name", ["naive", "tree", "factorization"])
def test_sensitivity_equals_brute_force_over_every_window_change(name: str) -> None:
    s = build_strategy(name, 5)
    matrix = s.matrix if name != "factorization" else (s.matrix >> (FACTOR_BITS - 2))
    from dataclasses import replace

    small = replace(s, matrix=matrix)
    for window, c, keys, max_keys in [(2, 1, 2, 1), (2, 2, 1, 1), (3, 1, 2, 2)]:
        sens = strategy_sensitivity(small, window=window, per_cell=c, max_keys=max_keys)
        assert (int(sens.l1), int(sens.l2_squared)) == _brute_sensitivity(
            matrix, window, c, keys, max_keys
        )


def test_sensitivity_is_the_worst_of_every_sliding_window() -> None:
    """Windows slide (they overlap): every start position is a neighbour, aligned or not."""
    s = build_strategy("ls-tree", 40)
    sens = strategy_sensitivity(s, window=5, per_cell=1, max_keys=1)
    values = []
    for a in range(36):
        inside = np.zeros(40, dtype=np.int64)
        inside[a : a + 5] = 1
        values.append(int(((s.matrix @ inside) ** 2).sum()))
    assert sens.l2_squared == max(values)
    assert len(set(values)) > 1  # alignment matters, so no single window stands for all


def test_window_sensitivity_grows_with_the_window() -> None:
    s = build_strategy("naive", 30)
    assert strategy_sensitivity(s, window=28, per_cell=1, max_keys=1).l1 == 28
    assert strategy_sensitivity(s, window=28, per_cell=1, max_keys=1).l2_squared == 28
    tree = build_strategy("tree", 365)
    assert strategy_sensitivity(tree, window=1, per_cell=1, max_keys=1).l1 == 9  # levels


def test_horizon_limits_and_names_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="mechanism"):
        build_strategy("fancy", 10)
    with pytest.raises(InvalidParameterError, match="horizon"):
        build_strategy("naive", 0)
    with pytest.raises(InvalidParameterError, match="exceeds"):
        build_strategy("ls-tree", 5000)


@pytest.mark.parametrize("name", MECHANISMS)
@pytest.mark.parametrize("kind", ["laplace", "gaussian"])
def test_analytic_variance_matches_simulation(name: str, kind: str) -> None:
    """Var(W[t] z) = Var(z_1) ||W[t]||², checked on simulated exact noise (4 sd tolerance)."""
    s = build_strategy(name, 64)
    noise = LAWS[kind](Fraction(3))
    reps = 4000
    z = noise.draw(reps * s.matrix.shape[0]).reshape(reps, -1).astype(float)
    errors = z @ s.running.T  # (reps, T)
    analytic = noise.variance() * s.running_norms()
    empirical = errors.var(axis=0, ddof=0)
    # the sample variance's sd is about var * sqrt(2 / reps) (kurtosis of a sum <= Laplace's)
    tolerance = 5 * analytic * math.sqrt(5 / reps)
    assert (np.abs(empirical - analytic) <= tolerance).all()


def test_noise_is_calibrated_to_the_budget_exactly() -> None:
    s = build_strategy("tree", 365)
    unit = UserWindow("u", window=28)
    noise, sens = stream_noise(s, unit, PureDP(2))
    assert noise.kind == "laplace" and noise.parameter == sens.l1 / 2
    noise, sens = stream_noise(s, unit, ZCDP(Fraction(1, 2)))
    assert noise.kind == "gaussian" and noise.parameter**2 >= sens.l2_squared / (2 * Fraction(1, 2))
