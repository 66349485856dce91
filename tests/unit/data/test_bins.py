"""Bins: a frozen spec with validated edges or quantiles and readable labels."""

from __future__ import annotations

import dataclasses

import pytest

from ethica import InvalidParameterError
from ethica.data import Bins


def test_labels_from_edges() -> None:
    assert Bins("age", edges=[25, 45, 65]).labels() == ("< 25", "[25, 45)", "[45, 65)", ">= 65")
    assert Bins("income", edges=[0.5]).labels() == ("< 0.5", ">= 0.5")
    assert Bins("x", edges=[2.0, 37.25]).labels() == ("< 2", "[2, 37.25)", ">= 37.25")


def test_quantiles_as_count_or_probabilities() -> None:
    assert Bins("age", quantiles=4).quantiles == (0.25, 0.5, 0.75)
    assert Bins("age", quantiles=[0.1, 0.9]).quantiles == (0.1, 0.9)
    with pytest.raises(InvalidParameterError, match=r"depend on the data"):
        Bins("age", quantiles=4).labels()
    assert Bins("age", quantiles=2).labels([40.5]) == ("< 40.5", ">= 40.5")


def test_frozen_and_comparable() -> None:
    spec = Bins("age", edges=[30])
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.column = "other"  # type: ignore[misc]
    assert spec == Bins("age", edges=(30,))
    assert hash(spec) == hash(Bins("age", edges=[30]))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "exactly one of edges= or quantiles="),
        ({"edges": [1], "quantiles": 2}, "exactly one of edges= or quantiles="),
        ({"edges": []}, "must not be empty"),
        ({"edges": [3, 2]}, r"strictly increasing, got \[3, 2\]"),
        ({"edges": [1, float("nan")]}, "finite numbers, got nan"),
        ({"edges": ["a"]}, "finite numbers, got 'a'"),
        ({"quantiles": 1}, "at least 2 bins"),
        ({"quantiles": [0.5, 1.0]}, r"strictly between 0 and 1, got \[0.5, 1.0\]"),
        ({"quantiles": [0.7, 0.2]}, "quantiles must be strictly increasing"),
    ],
)
def test_invalid_specs(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        Bins("age", **kwargs)  # type: ignore[arg-type]


def test_column_must_be_a_name() -> None:
    with pytest.raises(InvalidParameterError, match=r"needs a column name, got ''"):
        Bins("", edges=[1])
