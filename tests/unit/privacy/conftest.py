"""Fixtures for the privacy tests.

``adult_ages`` is the ``age`` column of the shipped UCI Adult training split (equal, row
for row, to the raw ``adult.data``: tests/unit/data/test_datasets.py), so the tests run on
a fresh clone without the raw files.
"""

from __future__ import annotations

import numpy as np
import pytest

from ethica.datasets import load_adult


@pytest.fixture(scope="session")
def adult_ages() -> np.ndarray:
    """The ``age`` column of the 32,561 Adult training rows."""
    return load_adult("train")["age"].to_numpy(dtype=np.int64)
