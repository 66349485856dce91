"""Fixtures for the privacy tests.

``adult_ages`` reads the real UCI Adult data from /work/shared/data; switch it to
``ethica.datasets.load_adult()`` once the shipped copy lands.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

ADULT = Path("/work/shared/data/adult/adult.data")


@pytest.fixture(scope="session")
def adult_ages() -> np.ndarray:
    """The ``age`` column of the 32,561 Adult training rows."""
    with ADULT.open(newline="") as handle:
        ages = [int(row[0]) for row in csv.reader(handle) if row and row[0].strip()]
    return np.array(ages, dtype=np.int64)
