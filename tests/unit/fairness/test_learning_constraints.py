"""Constraint specs: immutability, bounds, and the linear maps checked against direct counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.fairness._constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    FairnessConstraint,
    FalsePositiveRateParity,
    constraint_from_name,
)

ALL = [DemographicParity, EqualOpportunity, EqualizedOdds, FalsePositiveRateParity, ErrorRateParity]

RNG = np.random.default_rng(7)
Y = RNG.integers(0, 2, 400).astype(np.int8)
A = np.where(RNG.random(400) < 0.3, "f", "m")
H = RNG.random(400)


@pytest.mark.parametrize("cls", ALL)
def test_binding_returns_a_new_object_and_leaves_the_spec_alone(
    cls: type[FairnessConstraint],
) -> None:
    spec = cls(difference_bound=0.05)
    before = dataclasses.asdict(spec)
    bound = spec.bind(Y, A)
    assert bound is not spec and bound.spec == spec
    assert dataclasses.asdict(spec) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.difference_bound = 0.2  # type: ignore[misc]
    assert cls(difference_bound=0.05) == spec  # value semantics


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad", [-0.01, 1.5])
def test_bounds_outside_unit_interval_are_rejected(
    cls: type[FairnessConstraint], bad: float
) -> None:
    with pytest.raises(InvalidParameterError, match=r"outside \[0, 1\]"):
        cls(difference_bound=bad)
    with pytest.raises(InvalidParameterError, match=r"outside \[0, 1\]"):
        cls(ratio_bound=bad)


def test_two_bounds_or_zero_ratio_are_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="give only one"):
        DemographicParity(difference_bound=0.1, ratio_bound=0.8)
    with pytest.raises(InvalidParameterError, match="constrains nothing"):
        DemographicParity(ratio_bound=0.0)


def test_one_group_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"single group \['m'\]"):
        DemographicParity().bind(Y, np.full(400, "m"))


def test_non_binary_labels_and_length_mismatch_are_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="labels coded 0/1"):
        DemographicParity().bind(np.arange(400) % 3, A)
    with pytest.raises(InvalidParameterError, match="one protected value per row"):
        DemographicParity().bind(Y, A[:10])


def test_group_without_positive_labels_cannot_be_measured() -> None:
    labels = np.where(A == "f", 0, Y).astype(np.int8)
    with pytest.raises(InvalidParameterError, match="'f' has no rows with label 1"):
        EqualOpportunity().bind(labels, A)


def _rate(mask: np.ndarray, values: np.ndarray) -> float:
    return float(values[mask].mean())


@pytest.mark.parametrize(
    ("cls", "events"),
    [
        (DemographicParity, [None]),
        (EqualOpportunity, [1]),
        (FalsePositiveRateParity, [0]),
        (EqualizedOdds, [0, 1]),
    ],
)
def test_violations_match_direct_rates(
    cls: type[FairnessConstraint], events: list[int | None]
) -> None:
    bound = cls(difference_bound=0.02).bind(Y, A)
    expected = []
    for sign in (1, -1):
        for event in events:
            in_event = np.ones(400, bool) if event is None else event == Y
            overall = _rate(in_event, H)
            for group in ("f", "m"):
                expected.append(sign * (_rate(in_event & (group == A), H) - overall) - 0.02)
    np.testing.assert_allclose(bound.violations(H), expected, atol=1e-12)


def test_error_rate_parity_uses_the_error() -> None:
    bound = ErrorRateParity(difference_bound=0.0).bind(Y, A)
    errors = np.abs(H - Y)
    cells, events = bound.cell_values(H)
    np.testing.assert_allclose(cells, [errors[A == "f"].mean(), errors[A == "m"].mean()])
    np.testing.assert_allclose(events, [errors.mean()])


def test_ratio_form() -> None:
    bound = DemographicParity(ratio_bound=0.8).bind(Y, A)
    f, m, overall = H[A == "f"].mean(), H[A == "m"].mean(), H.mean()
    np.testing.assert_allclose(
        bound.violations(H),
        [0.8 * f - overall, 0.8 * m - overall, 0.8 * overall - f, 0.8 * overall - m],
    )


@pytest.mark.parametrize("cls", ALL)
def test_cost_gradient_is_the_gradient_of_the_weighted_violations(
    cls: type[FairnessConstraint],
) -> None:
    bound = cls(difference_bound=0.01).bind(Y, A)
    multipliers = RNG.random(bound.n_constraints)
    gradient = bound.cost_gradient(multipliers)
    step = np.zeros(400)
    for i in (0, 17, 123, 399):
        step[:] = 0
        step[i] = 1.0
        finite = multipliers @ (bound.violations(H + step) - bound.violations(H))
        assert gradient[i] == pytest.approx(finite, abs=1e-12)


def test_disparity_is_the_largest_between_group_gap() -> None:
    bound = EqualizedOdds().bind(Y, A)
    tpr = [H[(g == A) & (Y == 1)].mean() for g in "fm"]
    fpr = [H[(g == A) & (Y == 0)].mean() for g in "fm"]
    expected = max(abs(tpr[0] - tpr[1]), abs(fpr[0] - fpr[1]))
    assert bound.disparity(H) == pytest.approx(expected)


def test_intersections_of_two_columns_are_groups() -> None:
    other = np.where(RNG.random(400) < 0.5, "old", "young")
    bound = DemographicParity().bind(Y, np.column_stack([A, other]))
    assert bound.group_names == ("f, old", "f, young", "m, old", "m, young")


def test_a_name_and_bound_give_the_spec() -> None:
    assert constraint_from_name("equalized-odds", 0.05) == EqualizedOdds(difference_bound=0.05)


def test_with_bound_keeps_the_kind_of_bound() -> None:
    assert EqualizedOdds(difference_bound=0.05).with_bound(0.1) == EqualizedOdds(
        difference_bound=0.1
    )
    assert DemographicParity(ratio_bound=0.8).with_bound(0.9).ratio_bound == 0.9


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="unknown constraint 'parity-of-vibes'"):
        constraint_from_name("parity-of-vibes")
