"""Continual release of running totals as linear (matrix) mechanisms on the integers.

Every mechanism here measures ``m = R x + z`` and releases linear functions of ``m``:

* ``x`` is the stream of bounded integer values of one key, one per time bucket ``0..T-1``;
* ``R`` is an **integer, entrywise non-negative** strategy matrix whose row ``i`` only reads
  buckets up to its availability time ``tau_i`` (so measurement ``i`` can be taken at
  bucket ``tau_i``);
* ``z`` is i.i.d. exact discrete noise (discrete Laplace for pure DP, discrete Gaussian for
  zCDP: Canonne, Kamath & Steinke 2020) calibrated to the sensitivity of ``R x`` under the
  privacy unit (:func:`strategy_sensitivity`); because ``R x`` is an integer vector, adding
  integer noise is the plain discrete Laplace/Gaussian mechanism, and its cost is exact;
* the running total at bucket ``t`` is ``W[t] @ m`` and the bucket's own value ``D[t] @ m``,
  where ``W[t]`` and ``D[t]`` use only measurements with ``tau_i <= t`` and ``W R = A``
  (``A`` the lower-triangular matrix of ones), ``D R = I``: the estimates are unbiased, and
  computing them is post-processing, whatever the floating-point arithmetic does.

The error of ``W[t] @ m`` is ``W[t] @ z``: variance ``Var(z_1) * ||W[t]||²`` (exact).

Mechanisms
----------
``naive``
    ``R = I``: each bucket's value with its own noise; running totals add the noisy values
    (``||W[t]||² = t + 1``).
``tree``
    The binary tree mechanism (Dwork, Naor, Pitassi & Rothblum 2010; Chan, Shi & Song 2011):
    ``R`` measures every dyadic interval that ends within the horizon; the running total at
    ``t`` adds the ``popcount(t + 1)`` nodes of the dyadic decomposition of ``[0, t]``, the
    bucket's value is its leaf.
``ls-tree``
    The same measurements, estimated by least squares from every node available at ``t``
    (Honaker 2015, "Efficient use of differentially private binary trees"; Hay, Rastogi,
    Miklau & Suciu 2010): ``W[t] = e^T (M_t^T M_t)^{-1} M_t^T`` for the available nodes
    ``M_t``; the minimum-variance unbiased linear estimate from those measurements.
``factorization``
    The square-root factorisation ``A = L R`` with ``L = R = sqrt(A)``, the lower-triangular
    Toeplitz matrix of ``c_k = binom(2k, k) / 4**k`` (Fichtenberger, Henzinger & Upadhyay
    2023; Henzinger, Upadhyay & Upadhyay 2023). Discrete noise needs an integer ``R x``, so
    ethica uses the **fixed-point strategy** ``R~ = round(2**s c_k)`` (``s = 16`` bits, a
    Toeplitz integer matrix with ``R~_00 = 2**s``, hence invertible) and releases
    ``W = A R~^{-1}`` applied to ``m = R~ x + z``. Privacy is that of ``R~ x + z`` alone: the
    sensitivity is computed exactly from the integers of ``R~``, and ``W`` (computed in
    floating point from the public ``R~``) is post-processing. ``W R~ = A`` up to
    floating-point error (~1e-12 relative), so the estimate is unbiased up to that error;
    ``W`` differs from ``sqrt(A) / 2**s`` by at most the 2**-17 rounding of ``c_k``.

A mechanism is *online*: the measurements of bucket ``t`` are drawn at ``t`` and never
redrawn, so the whole stream is one release of ``m``, whose cost is charged once for the
horizon (:mod:`ethica.privacy.stream._stream`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy.release._sensitivity import Sensitivity

__all__ = [
    "FACTOR_BITS",
    "MAX_HORIZON",
    "MAX_LS_HORIZON",
    "MECHANISMS",
    "Strategy",
    "build_strategy",
    "combine",
    "measure",
    "strategy_sensitivity",
    "window_norms",
]

MECHANISMS = ("naive", "tree", "ls-tree", "factorization")
FACTOR_BITS = 16
MAX_HORIZON = 4096
"""Longest horizon (buckets): keeps every exact sensitivity sum inside 64-bit integers."""
MAX_LS_HORIZON = 2048
"""Longest horizon for ``ls-tree`` (one dense least-squares solve per tree height)."""


@dataclass(frozen=True, eq=False)
class Strategy:
    """One mechanism at one horizon: ``R`` (integers), availability, and estimate weights.

    Attributes
    ----------
    name
        One of :data:`MECHANISMS`.
    matrix
        ``R``, shape ``(n, T)``, non-negative ``int64``.
    available
        ``tau``, shape ``(n,)``: the bucket at which measurement ``i`` is taken.
    running
        ``W``, shape ``(T, n)``: running-total weights (zero on measurements after ``t``).
    daily
        ``D``, shape ``(T, n)``: weights of each bucket's own value.
    integer_weights
        Whether ``W`` and ``D`` hold only 0 and 1 (the estimate is a sum of noise draws, whose
        law is known exactly).
    """

    name: str
    matrix: NDArray[np.int64]
    available: NDArray[np.int64]
    running: NDArray[np.float64]
    daily: NDArray[np.float64]
    integer_weights: bool

    @property
    def horizon(self) -> int:
        """``T``, the number of buckets."""
        return int(self.matrix.shape[1])

    def running_norms(self) -> NDArray[np.float64]:
        """``||W[t]||²`` for each ``t``: running-total variance per unit noise variance."""
        return np.asarray((self.running**2).sum(axis=1))

    def daily_norms(self) -> NDArray[np.float64]:
        """``||D[t]||²`` for each ``t``."""
        return np.asarray((self.daily**2).sum(axis=1))


def build_strategy(name: str, horizon: int) -> Strategy:
    """The strategy ``name`` for ``horizon`` buckets (cached)."""
    if name not in MECHANISMS:
        raise InvalidParameterError(
            f"mechanism must be one of {', '.join(MECHANISMS)}; got {name!r}."
        )
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not horizon >= 1:
        raise InvalidParameterError(f"horizon must be an integer >= 1, got {horizon!r}.")
    limit = MAX_LS_HORIZON if name == "ls-tree" else MAX_HORIZON
    if horizon > limit:
        raise InvalidParameterError(
            f"horizon {horizon} exceeds the largest supported for {name!r} ({limit} buckets); "
            "use coarser buckets or start a new stream for the next period."
        )
    return _build(name, horizon)


@lru_cache(maxsize=16)
def _build(name: str, horizon: int) -> Strategy:
    if name == "naive":
        return _naive(horizon)
    if name == "factorization":
        return _factorization(horizon)
    return _tree(horizon, least_squares=name == "ls-tree")


def _naive(horizon: int) -> Strategy:
    eye = np.eye(horizon)
    return Strategy(
        "naive",
        np.eye(horizon, dtype=np.int64),
        np.arange(horizon, dtype=np.int64),
        np.tril(np.ones((horizon, horizon))),
        eye,
        True,
    )


def _tree_nodes(horizon: int) -> list[tuple[int, int]]:
    """Dyadic intervals ``[j 2^l, (j+1) 2^l - 1]`` that end within the horizon, by end."""
    nodes = []
    level = 0
    while (1 << level) <= horizon:
        size = 1 << level
        nodes += [(j * size, (j + 1) * size - 1) for j in range(horizon // size)]
        level += 1
    return sorted(nodes, key=lambda n: (n[1], -(n[1] - n[0])))


def _tree(horizon: int, *, least_squares: bool) -> Strategy:
    nodes = _tree_nodes(horizon)
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    matrix = np.zeros((n, horizon), dtype=np.int64)
    for i, (a, b) in enumerate(nodes):
        matrix[i, a : b + 1] = 1
    available = np.array([b for _, b in nodes], dtype=np.int64)
    running = np.zeros((horizon, n))
    daily = np.zeros((horizon, n))
    if not least_squares:
        for t in range(horizon):
            start, length = 0, t + 1
            for level in range(length.bit_length() - 1, -1, -1):
                if length >> level & 1:
                    running[t, index[(start, start + (1 << level) - 1)]] = 1
                    start += 1 << level
            daily[t, index[(t, t)]] = 1
        return Strategy("tree", matrix, available, running, daily, True)
    # The nodes available at t are the complete subtrees of the maximal dyadic blocks of
    # [0, t] (its binary decomposition); their measurements involve disjoint buckets, so the
    # least-squares problem separates: the running total adds each block's least-squares
    # total, and bucket t (the last leaf of the last block) is estimated within its block.
    for t in range(horizon):
        start, length = 0, t + 1
        for level in range(length.bit_length() - 1, -1, -1):
            if not length >> level & 1:
                continue
            total, last = _complete_tree_weights(level)
            for (a, b), w_total, w_last in zip(_tree_nodes(1 << level), total, last, strict=True):
                i = index[(start + a, start + b)]
                running[t, i] = w_total
                if start + (1 << level) - 1 == t:
                    daily[t, i] = w_last
            start += 1 << level
    return Strategy("ls-tree", matrix, available, running, daily, False)


@lru_cache(maxsize=32)
def _complete_tree_weights(level: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Least-squares weights, over the nodes of a complete tree on ``2**level`` buckets (in
    :func:`_tree_nodes` order), of the total and of the last bucket."""
    size = 1 << level
    nodes = _tree_nodes(size)
    sub = np.zeros((len(nodes), size))
    for i, (a, b) in enumerate(nodes):
        sub[i, a : b + 1] = 1.0
    rhs = np.zeros((size, 2))
    rhs[:, 0] = 1.0
    rhs[-1, 1] = 1.0
    weights = sub @ np.linalg.solve(sub.T @ sub, rhs)
    return tuple(weights[:, 0].tolist()), tuple(weights[:, 1].tolist())


def sqrt_coefficients(count: int) -> list[Fraction]:
    """``c_k = binom(2k, k) / 4**k`` for ``k < count``: the first column of ``sqrt(A)``
    (the Taylor coefficients of ``(1 - x)**(-1/2)``), exactly."""
    return [Fraction(math.comb(2 * k, k), 4**k) for k in range(count)]


def _factorization(horizon: int) -> Strategy:
    scale = 1 << FACTOR_BITS
    # round(2**s * binom(2k,k) / 4**k), half up, in integers
    coeffs = [(math.comb(2 * k, k) * scale * 2 + 4**k) // (2 * 4**k) for k in range(horizon)]
    first = np.array(coeffs, dtype=np.int64)
    lags = np.subtract.outer(np.arange(horizon), np.arange(horizon))
    matrix = np.where(lags >= 0, first[np.clip(lags, 0, None)], 0).astype(np.int64)
    # inverse series of R~ (post-processing, floating point), then W = A R~^-1
    inverse = np.zeros(horizon)
    r = first.astype(np.float64)
    inverse[0] = 1.0 / r[0]
    for k in range(1, horizon):
        inverse[k] = -np.dot(r[1 : k + 1], inverse[k - 1 :: -1][:k]) / r[0]
    cumulative = np.cumsum(inverse)
    clipped = np.clip(lags, 0, None)
    running = np.where(lags >= 0, cumulative[clipped], 0.0)
    daily = np.where(lags >= 0, inverse[clipped], 0.0)
    return Strategy(
        "factorization",
        matrix,
        np.arange(horizon, dtype=np.int64),
        running,
        daily,
        False,
    )


def strategy_sensitivity(
    strategy: Strategy, *, window: int, per_cell: Fraction | int, max_keys: int
) -> Sensitivity:
    """Exact L1 and squared L2 sensitivity of ``R x`` (all keys) under the window unit.

    Neighbouring streams differ by one user's rows in ``window`` consecutive buckets. After
    per-bucket bounding that changes, in each of those buckets, at most ``max_keys`` keys by
    at most ``per_cell = max_rows * B`` units each (``B`` a row's largest units), and nothing
    else. Write ``u_j = |delta_j|`` (key ``j``'s change over time) and ``v = R 1_I c`` for the
    window ``I``. Because ``R >= 0`` entrywise, ``|R delta_j| <= R u_j`` and both norms grow
    with ``u``, so

    * ``Δ1 = max_I max_keys * ||R c 1_I||_1`` (the ``<= max_keys`` changed keys per bucket
      each add at most ``c`` to a column sum), and
    * ``Δ2² = max_I max_keys * ||R c 1_I||_2²``: ``Σ_j u_j^T G u_j`` with ``G = R^T R >= 0``
      is at most ``Σ_{s,t in I} G_st Σ_j u_js u_jt <= c * max_keys * c * 1_I^T G 1_I``.

    Both are attained (every changed key at ``+c`` on every bucket of the worst window), so
    they are the sensitivities, not just bounds. The maximum runs over every window of
    ``min(window, T)`` consecutive buckets within the horizon (a window reaching past either
    end changes a subset of one of these). Computed in exact integers.
    """
    l1, l2 = window_norms(strategy, window)
    best_l1, best_l2 = max(l1), max(l2)
    c = Fraction(per_cell)
    return Sensitivity(max_keys * c * best_l1, max_keys * c * c * best_l2)


def window_norms(strategy: Strategy, window: int) -> tuple[list[int], list[int]]:
    """``||R 1_I||_1`` and ``||R 1_I||_2²`` for every window ``I`` of ``min(window, T)``
    consecutive buckets, by start (exact integers); :func:`strategy_sensitivity` takes the
    largest, and the worst neighbour of an audit adds a user on the argmax."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InvalidParameterError(f"window must be an integer >= 1 bucket, got {window!r}.")
    horizon = strategy.horizon
    width = min(window, horizon)
    prefix = np.concatenate(
        [np.zeros((strategy.matrix.shape[0], 1), dtype=np.int64), np.cumsum(strategy.matrix, 1)],
        axis=1,
    )
    l1, l2 = [], []
    for a in range(horizon - width + 1):
        v = prefix[:, a + width] - prefix[:, a]
        l1.append(int(v.sum()))
        l2.append(int(np.dot(v, v)))
    return l1, l2


_INT64_SAFE = 2**62


def measure(
    rows: NDArray[np.int64], x: NDArray[np.int64], draws: NDArray[np.int64]
) -> NDArray[Any]:
    """``rows @ x + draws`` in exact integers (the measurement ``m = R x + z``).

    ``R`` of the factorisation has entries up to ``2**16``, so ``R x`` can leave int64 on sums
    the engine produces without overflow; numpy would wrap silently. The product is taken in
    int64 when a bound on it (row sums of ``|R|`` times ``max |x|``, plus the draws) stays below
    ``2**62``, else in Python integers (an object array).
    """
    x = np.asarray(x, dtype=np.int64)
    draws = np.asarray(draws, dtype=np.int64)
    row_sum = int(np.abs(rows).sum(axis=-1).max()) if rows.size else 0
    largest = max((int(np.abs(x).max()) if x.size else 0), 1)
    noise = int(np.abs(draws).max()) if draws.size else 0
    if row_sum * largest + noise < _INT64_SAFE:
        return np.asarray(rows @ x + draws.reshape((rows @ x).shape))
    exact = np.asarray(rows, dtype=np.int64).astype(object) @ x.astype(object)
    return np.asarray(exact + draws.astype(object).reshape(np.shape(exact)), dtype=object)


def combine(weights: NDArray[Any], m: NDArray[Any], integer: bool) -> NDArray[np.float64]:
    """``weights @ m`` as floats: exact integer sums first when the weights are integers (and
    ``m`` may hold Python integers beyond int64), float arithmetic otherwise."""
    if integer:
        whole = np.rint(np.asarray(weights, dtype=np.float64)).astype(np.int64)
        if np.asarray(m).dtype == object:
            return np.asarray(whole.astype(object) @ m, dtype=np.float64)
        return np.asarray(whole @ m, dtype=np.float64)
    return np.asarray(np.asarray(weights, dtype=np.float64) @ np.asarray(m, dtype=np.float64))
