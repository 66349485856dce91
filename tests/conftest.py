"""Shared fixtures for the whole suite.

- ``spark``: one real local SparkSession (``local[2]``) for the session, stopped at the end.
  Spark starts in ~15 s, so keep Spark tests few and mark them ``@pytest.mark.spark``.
- ``adult_train``, ``adult_test``, ``german``: fresh copies of the shipped UCI data sets
  (``ethica.datasets``), so a test may modify its copy freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pandas as pd
import pytest

from ethica.datasets import load_adult, load_german

_CACHE: dict[str, pd.DataFrame] = {}


def _cached(name: Literal["train", "test", "german"]) -> pd.DataFrame:
    if name not in _CACHE:
        _CACHE[name] = load_german() if name == "german" else load_adult(name)
    return _CACHE[name].copy()


@pytest.fixture
def adult_train() -> pd.DataFrame:
    """The Adult training split (32,561 rows), as shipped."""
    return _cached("train")


@pytest.fixture
def adult_test() -> pd.DataFrame:
    """The Adult test split (16,281 rows), as shipped."""
    return _cached("test")


@pytest.fixture
def german() -> pd.DataFrame:
    """The German credit data (1,000 rows), decoded, as shipped."""
    return _cached("german")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A real SparkSession on ``local[2]``, shared by the session and stopped at its end."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("ethica-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
