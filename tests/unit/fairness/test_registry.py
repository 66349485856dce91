"""One spelling per fairness definition: the registry resolves every alias in one place."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.fairness import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    FairnessConstraint,
    FalsePositiveRateParity,
    TruePositiveRateParity,
    constraint_from_name,
)
from ethica.fairness._definitions import DEFINITIONS as AUDITED
from ethica.fairness._registry import (
    CONSTRAINT_NAMES,
    DEFINITIONS,
    HARM_DEFINITIONS,
    canonical_name,
    constraint_name,
    title,
)

CONSTRAINT_MODULE = "ethica.fairness._constraints"
SPECS = [
    DemographicParity,
    EqualOpportunity,
    EqualizedOdds,
    FalsePositiveRateParity,
    ErrorRateParity,
]


def test_the_audit_judges_the_registry_definitions() -> None:
    assert AUDITED == DEFINITIONS
    assert set(HARM_DEFINITIONS.values()) <= set(DEFINITIONS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.__name__)
def test_constraint_names_are_the_audit_names(spec: type[FairnessConstraint]) -> None:
    assert spec.name in CONSTRAINT_NAMES and spec.name in DEFINITIONS
    assert constraint_from_name(spec.name) == spec()


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("equalized-odds", "equalized_odds"),
        ("EqualizedOdds", "equalized_odds"),
        ("true_positive_rate_parity", "equal_opportunity"),
        ("TruePositiveRateParity", "equal_opportunity"),
        ("equal-opportunity", "equal_opportunity"),
        ("calibration-within-groups", "calibration_within_groups"),
    ],
)
def test_aliases_resolve_to_one_canonical_name(alias: str, canonical: str) -> None:
    assert canonical_name(alias) == canonical


def test_true_positive_rate_parity_is_equal_opportunity() -> None:
    spec = TruePositiveRateParity(difference_bound=0.02)
    assert isinstance(spec, EqualOpportunity) and spec.name == "equal_opportunity"
    assert spec.events == EqualOpportunity.events and spec.with_bound(0.1).bound == 0.1
    assert constraint_from_name("TruePositiveRateParity", 0.02) == EqualOpportunity(0.02)


def test_unknown_name_lists_the_canonical_names() -> None:
    with pytest.raises(InvalidParameterError, match="unknown fairness definition 'fairness'"):
        canonical_name("fairness")


def test_audited_but_not_learnable_definition_says_so() -> None:
    with pytest.raises(InvalidParameterError, match="audited but cannot be imposed"):
        constraint_name("predictive_parity")


def _loaded_after(module: str, candidates: list[str]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}; print(*[m for m in {candidates!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_listing_the_names_loads_neither_numpy_nor_the_constraints() -> None:
    assert _loaded_after("ethica.fairness._registry", ["numpy", CONSTRAINT_MODULE]) == []


def test_cli_names_constraints_without_loading_the_constraint_module() -> None:
    assert _loaded_after("ethica.cli", [CONSTRAINT_MODULE, "sklearn"]) == []


def test_titles_are_the_canonical_words_whatever_the_spelling() -> None:
    assert title("equalized_odds") == title("equalized-odds") == "equalized odds"
    assert title("TruePositiveRateParity") == "equal opportunity"
