"""Differentially private partition selection: which private keys may be released.

With private keys, the key set itself depends on the data: a cell present only because of
one user would reveal that user. Laplace thresholding (Korolova, Kenthapadi, Mishra &
Ntoulas 2009; Wilson et al. 2020, Sec. 4) releases a cell only when its noisy count clears
a threshold ``τ``.

Let one user touch at most ``k`` cells with at most ``m`` rows each, and let the count
noise be discrete Laplace of scale ``t``. A cell that exists only in a neighbouring table
has true count at most ``m``, and is released with probability
``P(X >= τ - m) = p**(τ-m) / (1 + p) <= exp(-(τ - m) / t)`` (``p = exp(-1/t)``). A union
bound over the user's ``k`` cells gives ``(epsilon, delta)``-DP for

    ``τ = m + ceil(t ln(k / delta))``,

on top of the counts' own ``epsilon`` (the same noisy counts are released). Cells never
seen in the data are never released.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

__all__ = ["laplace_threshold", "select_partitions"]


def laplace_threshold(scale: Fraction, delta: Fraction, max_partitions: int, max_rows: int) -> int:
    """The threshold ``τ = m + ceil(t ln(k / delta))`` (module docstring)."""
    slack = float(scale) * (math.log(max_partitions) - math.log(float(delta)))
    return max_rows + max(0, math.ceil(slack * (1 + 1e-12)) + 1)


def select_partitions(noisy_counts: NDArray[np.int64], threshold: int) -> NDArray[np.bool_]:
    """Mask of the cells whose noisy count reaches ``threshold``."""
    return np.asarray(noisy_counts >= threshold, dtype=bool)
