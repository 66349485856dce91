"""Intervals on every released point of a stream.

A released point is ``truth + W[t] @ z`` with ``z`` i.i.d. discrete noise
(:mod:`._strategies`). Two cases:

* **Exact** (``naive`` and ``tree``: ``W[t]`` holds ``n`` ones): the error is the sum ``S_n``
  of ``n`` i.i.d. draws. Its law is computed from the characteristic function: discrete
  Laplace has ``phi(θ) = (1 - p)² / (1 - 2 p cos θ + p²)`` with ``p = exp(-1/scale)``
  (Inusah & Kozubowski 2006); the discrete Gaussian's is the DFT of its pmf (truncated at
  ``40 sigma``, mass beyond below ``e**-800``). ``P(S_n = x)`` is the inverse DFT of
  ``phi**n`` on a grid of ``N >= 2 (40 sd(S_n) + 40 scale)`` points (the wrapped mass is below
  ``e**-40``), and the half-width is the smallest integer ``k`` with ``P(|S_n| <= k) >=
  confidence + 1e-9`` (a margin far above the transform's rounding error), so coverage is at
  least the level stated. For ``n = 1`` ethica's exact bounds are used
  (:mod:`ethica.privacy.release._accuracy`).
* **Normal** (``ls-tree`` and ``factorization``: real weights): ``± q sqrt(Var)`` with the
  exact variance ``Var = Var(z_1) ||W[t]||²``. The error is a weighted sum of independent
  symmetric draws; for the discrete Gaussian ``q = z_{(1+c)/2}`` (the normal law, which a sum
  of discrete Gaussians follows closely); for the heavier-tailed discrete Laplace ``q`` is the
  Cornish-Fisher quantile ``z + (z³ - 3z) γ / 24`` with the sum's exact excess kurtosis
  ``γ = κ4 Σ w⁴ / (Var(z_1) Σ w²)²`` (a single Laplace draw has ``γ ≈ 3``; the plain normal
  quantile would cover only ~93.5% there). Both are approximations, stated as ``"normal"``
  in every release, widened by the continuity correction ``max |w_i| / 2`` (the error is a
  sum of lattice variables of spacing ``|w_i|``; without it a single discrete draw of
  ``sigma = 2`` would be covered only ~92% of the time); their coverage is tested by
  simulation over repeated streams.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._noise import Noise
from ethica.privacy.stream._strategies import Strategy

__all__ = ["normal_half_width", "point_half_widths", "sum_half_width"]

_MARGIN = 1e-9


def normal_half_width(variance: float, confidence: float) -> float:
    """``z_{(1 + confidence) / 2} * sqrt(variance)``."""
    z = NormalDist().inv_cdf(0.5 + check_confidence(confidence) / 2)
    return z * math.sqrt(variance)


def sum_half_width(noise: Noise, count: int, confidence: float) -> int:
    """Smallest ``k`` with ``P(|S| <= k) >= confidence`` for ``S`` the sum of ``count``
    i.i.d. draws of ``noise`` (module docstring)."""
    if count == 1:
        return noise.half_width(confidence)
    return _sum_half_width(noise.kind, noise.parameter, count, check_confidence(confidence))


@lru_cache(maxsize=4096)
def _sum_half_width(kind: str, parameter: object, count: int, confidence: float) -> int:
    scale = float(parameter)  # type: ignore[arg-type]
    if kind == "laplace":
        p = math.exp(-1 / scale)
        sd = math.sqrt(count * 2 * p) / (1 - p)
    else:
        sd = math.sqrt(count) * scale
    reach = 40 * sd + 40 * scale + 64
    size = 1 << math.ceil(math.log2(2 * reach))
    theta = 2 * math.pi * np.fft.fftfreq(size)
    if kind == "laplace":
        phi = (1 - p) ** 2 / (1 - 2 * p * np.cos(theta) + p * p)
    else:
        x = np.arange(-math.ceil(40 * scale) - 1, math.ceil(40 * scale) + 2)
        w = np.exp(-(x * x) / (2 * scale * scale))
        pmf = np.zeros(size)
        pmf[x % size] = w / w.sum()
        phi = np.fft.fft(pmf).real  # symmetric pmf: real characteristic function
    law = np.fft.ifft(phi**count).real
    half = law[: size // 2]  # P(S = x) for x >= 0; the law is symmetric
    cumulative = half[0] + 2 * np.cumsum(half[1:])  # P(|S| <= k) for k = 1, 2, ...
    within = np.concatenate([[half[0]], cumulative])
    hits = np.flatnonzero(within >= confidence + _MARGIN)
    return int(hits[0])


def point_half_widths(
    strategy: Strategy, noise: Noise, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Half-widths of the running total and of the bucket's value at every bucket."""
    if strategy.integer_weights:
        running = np.array(
            [sum_half_width(noise, int(n), confidence) for n in _counts(strategy.running)],
            dtype=np.float64,
        )
        daily = np.array(
            [sum_half_width(noise, int(n), confidence) for n in _counts(strategy.daily)],
            dtype=np.float64,
        )
        return running, daily
    variance = noise.variance()
    z = NormalDist().inv_cdf(0.5 + check_confidence(confidence) / 2)
    out = []
    for weights in (strategy.running, strategy.daily):
        norms = (weights**2).sum(axis=1)
        quantile = np.full(norms.shape, z)
        if noise.kind == "laplace":  # heavy tails: Cornish-Fisher with the exact kurtosis
            excess = _laplace_fourth_cumulant(noise.parameter) * (weights**4).sum(axis=1)
            scale = (variance * norms) ** 2
            excess = np.divide(excess, scale, out=np.zeros_like(excess), where=scale > 0)
            quantile = z + (z**3 - 3 * z) * excess / 24
        # continuity correction: the error lives on lattices of spacing |w_i|
        out.append(quantile * np.sqrt(variance * norms) + np.abs(weights).max(axis=1) / 2)
    return out[0], out[1]


def _laplace_fourth_cumulant(scale: object) -> float:
    """``E X**4 - 3 (E X**2)**2`` of discrete Laplace (closed-form moments of the geometric
    magnitude, ``p = exp(-1/scale)``)."""
    p = math.exp(-1 / float(scale))  # type: ignore[arg-type]
    second = 2 * p / (1 - p) ** 2
    fourth = 2 * p * (1 + 11 * p + 11 * p * p + p**3) / ((1 - p) ** 4 * (1 + p))
    return fourth - 3 * second * second


def _counts(weights: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray((weights != 0).sum(axis=1), dtype=np.int64)
