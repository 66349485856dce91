"""Private selection: permute-and-flip, the exponential mechanism, and quantiles.

Given candidates ``r`` with utilities ``q_r`` of sensitivity ``Δ`` (changing one person
changes every ``q_r`` by at most ``Δ``):

* :func:`permute_and_flip` (McKenna & Sheldon 2020, "Permute-and-Flip: A new mechanism for
  differentially private selection", NeurIPS): visit the candidates in a uniformly random
  order and stop at the first ``r`` whose coin ``Bernoulli(exp(epsilon (q_r - q*) / (2Δ)))``
  lands heads (``q*`` the best utility, whose coin always lands heads). epsilon-DP, and never
  worse in expected utility than the exponential mechanism. Flipping every coin up front and
  returning the first head in the random order is the same distribution (coins are
  independent of the order), which vectorises the mechanism.
* :func:`exponential_mechanism` (McSherry & Talwar 2007): ``P(r) ∝ exp(epsilon q_r / (2Δ))``,
  epsilon-DP. Sampled exactly by rejection: a uniform proposal ``r`` is accepted with
  probability ``exp(-epsilon (q* - q_r) / (2Δ))``.
* :func:`private_quantile`: permute-and-flip over a finite candidate grid with utility
  ``u(c) = -| #{x_i < c} - q n |`` (sensitivity 1 under adding, removing or replacing one
  value), as in Smith (2011) and McKenna & Sheldon (2020, Section 6).

Utilities are converted to exact rationals; every coin is an exact
:func:`~ethica.privacy.bernoulli_exp` trial and every permutation exactly uniform, with random
bits only from ``os.urandom``. Proof obligation: each function's output has exactly the stated
distribution, so the stated epsilon holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy._params import to_rational
from ethica.privacy.noise._bernoulli import bernoulli_exp_array
from ethica.privacy.noise._random import random_uint64, uniform_below

__all__ = ["exponential_mechanism", "permute_and_flip", "private_quantile", "random_permutation"]

_INT64_SAFE = 1 << 62


def random_permutation(n: int) -> NDArray[np.int64]:
    """A uniformly random permutation of ``0..n-1``: sort distinct random 64-bit keys.

    Keys are redrawn until all are distinct, so the order is exactly uniform.
    """
    while True:
        keys = random_uint64(n)
        order = np.argsort(keys, kind="stable")
        if n < 2 or np.all(keys[order][1:] != keys[order][:-1]):
            return order.astype(np.int64)


def _exact_scores(scores: ArrayLike | Sequence[object]) -> list[Fraction]:
    values = list(np.asarray(scores, dtype=object).ravel())
    if not values:
        raise InvalidParameterError("scores is empty; pass at least one candidate's utility.")
    return [to_rational(v, "score", signed=True) for v in values]


def _gaps(
    scores: ArrayLike | Sequence[object], epsilon: object, sensitivity: object
) -> tuple[NDArray[np.int64] | NDArray[np.object_], int]:
    """Integer numerators and common denominator of ``epsilon (q* - q_r) / (2Δ)``."""
    eps = to_rational(epsilon, "epsilon")
    delta = to_rational(sensitivity, "sensitivity")
    exact = _exact_scores(scores)
    best = max(exact)
    gammas = [eps * (best - q) / (2 * delta) for q in exact]
    den = math.lcm(*(g.denominator for g in gammas))
    nums = [g.numerator * (den // g.denominator) for g in gammas]
    big = den >= _INT64_SAFE or max(nums) >= _INT64_SAFE
    return np.array(nums, dtype=object if big else np.int64), den


def permute_and_flip(
    scores: ArrayLike | Sequence[object], epsilon: object, sensitivity: object = 1
) -> int:
    """Index of the candidate chosen by permute-and-flip (McKenna & Sheldon 2020).

    Parameters
    ----------
    scores
        Utility of each candidate (higher is better), exact rationals or floats.
    epsilon
        Privacy parameter; the release costs ``PureDP(epsilon)``.
    sensitivity
        Largest change of any utility when one person's data changes.
    """
    nums, den = _gaps(scores, epsilon, sensitivity)
    order = random_permutation(len(nums))
    heads = bernoulli_exp_array(nums[order], den)
    return int(order[int(np.argmax(heads))])


def exponential_mechanism(
    scores: ArrayLike | Sequence[object], epsilon: object, sensitivity: object = 1
) -> int:
    """Index ``r`` drawn with probability ∝ ``exp(epsilon q_r / (2Δ))`` (McSherry & Talwar 2007).

    Exact rejection sampling from a uniform proposal; costs ``PureDP(epsilon)``.
    """
    nums, den = _gaps(scores, epsilon, sensitivity)
    n = len(nums)
    batch = max(64, n)
    while True:
        proposals = uniform_below(n, batch)
        accepted = proposals[bernoulli_exp_array(nums[proposals], den)]
        if accepted.size:
            return int(accepted[0])


def private_quantile(values: ArrayLike, q: object, candidates: ArrayLike, epsilon: object) -> float:
    """A candidate near the ``q``-quantile of ``values``, epsilon-DP (permute-and-flip).

    Parameters
    ----------
    values
        The data (one value per person).
    q
        The quantile, ``0 <= q <= 1`` (0.5 for the median).
    candidates
        The public grid of possible answers (must not depend on the data).
    epsilon
        The release costs ``PureDP(epsilon)``.
    """
    level = to_rational(q, "q", positive=False)
    if level > 1:
        raise InvalidParameterError(f"q must lie in [0, 1], got {q!r}; use 0.5 for the median.")
    data = np.sort(np.asarray(values, dtype=float).ravel())
    grid = np.asarray(candidates, dtype=float).ravel()
    if grid.size == 0:
        raise InvalidParameterError("candidates is empty; pass the public grid of answers.")
    ranks = np.searchsorted(data, grid, side="left")
    target = level * data.size
    utilities = [-abs(int(r) - target) for r in ranks]
    return float(grid[permute_and_flip(utilities, epsilon, 1)])
