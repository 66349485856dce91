"""Fixtures for the attack tests: a seeded discrete Laplace sampler and the Adult data."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from ethica.data import load_adult


@pytest.fixture
def seeded_laplace() -> Callable[[Fraction, int], NDArray[np.int64]]:
    """Discrete Laplace of scale b as the difference of two geometric draws (seeded).

    ``G1 - G2`` with ``G ~ Geometric(1 - exp(-1/b))`` has ``P(z) ∝ exp(-|z|/b)``.
    For tests only: seeded noise gives no privacy.
    """
    rng = np.random.default_rng(20030609)

    def sample(scale: Fraction, size: int) -> NDArray[np.int64]:
        p = 1.0 - np.exp(-1.0 / float(scale))
        return (rng.geometric(p, size) - rng.geometric(p, size)).astype(np.int64)

    return sample


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """The UCI Adult training split (real data)."""
    return load_adult("train")
