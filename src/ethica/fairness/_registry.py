r"""One name per fairness definition, and the one place where other spellings resolve.

The audit judges every definition below; fair learning can impose the ones with a
linear constraint (:data:`CONSTRAINT_NAMES`). Both, the CLI and the fairlearn-compatible
classes spell each definition the same way: the *canonical* name, in snake_case, as
fairlearn's ``ThresholdOptimizer`` strings and the audit's reports do.

=========================== ================= ============ =============================
canonical name              audit metric(s)   learnable    other spellings accepted
=========================== ================= ============ =============================
demographic_parity          selection_rate    yes          ``DemographicParity``
equal_opportunity           tpr               yes          ``true_positive_rate_parity``,
                                                           ``TruePositiveRateParity``,
                                                           ``EqualOpportunity``
equalized_odds              tpr, fpr          yes          ``EqualizedOdds``
false_positive_rate_parity  fpr               yes          ``FalsePositiveRateParity``
error_rate_parity           accuracy          yes          ``ErrorRateParity``
predictive_parity           ppv               no           ``PredictiveParity``
calibration_within_groups   score bins        no           ``CalibrationWithinGroups``
=========================== ================= ============ =============================

Every name is also accepted with hyphens for underscores (``equalized-odds``, the
spelling of ethica before 0.3). ``equal_opportunity`` is the name Hardt, Price and
Srebro (2016) gave the definition; ``true_positive_rate_parity`` is fairlearn's.

This module imports nothing heavy (no NumPy, no scikit-learn), so ``ethica --help``
can list the names without loading the learners.

References
----------
Hardt, M., Price, E. and Srebro, N. (2016). Equality of opportunity in supervised
learning. *NeurIPS*.
Agarwal, A., Beygelzimer, A., Dudík, M., Langford, J. and Wallach, H. (2018). A
reductions approach to fair classification. *ICML*.
"""

from __future__ import annotations

from ethica._exceptions import InvalidParameterError

__all__ = [
    "ALIASES",
    "CALIBRATION",
    "CONSTRAINT_NAMES",
    "DEFINITIONS",
    "HARM_DEFINITIONS",
    "RATE_DEFINITIONS",
    "canonical_name",
    "constraint_name",
    "title",
]

#: Rate definitions: canonical name -> the audit metrics it rests on.
RATE_DEFINITIONS: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equal_opportunity": ("tpr",),
    "equalized_odds": ("tpr", "fpr"),
    "false_positive_rate_parity": ("fpr",),
    "predictive_parity": ("ppv",),
    "error_rate_parity": ("accuracy",),
}

#: The calibration definition (judged on score bins, not on a rate).
CALIBRATION = "calibration_within_groups"

#: Every definition the audit judges, in report order.
DEFINITIONS: tuple[str, ...] = (*RATE_DEFINITIONS, CALIBRATION)

#: The definitions fair learning can impose (linear parity constraints), in CLI order.
CONSTRAINT_NAMES: tuple[str, ...] = (
    "demographic_parity",
    "equal_opportunity",
    "equalized_odds",
    "false_positive_rate_parity",
    "error_rate_parity",
)

#: The audit's ``harm=`` choices and the definition each leads the summary with.
HARM_DEFINITIONS: dict[str, str] = {
    "selection": "demographic_parity",
    "false-negative": "equal_opportunity",
    "false-positive": "false_positive_rate_parity",
    "calibration": CALIBRATION,
}


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


#: Other spellings -> canonical name: the field's (fairlearn's) names and the class names.
ALIASES: dict[str, str] = {
    **{_class_name(name): name for name in DEFINITIONS},
    "true_positive_rate_parity": "equal_opportunity",
    "TruePositiveRateParity": "equal_opportunity",
}


def canonical_name(name: str) -> str:
    """The canonical name of a definition given in any accepted spelling.

    Raises
    ------
    InvalidParameterError
        ``name`` is no spelling of a definition (the message lists the names).
    """
    if not isinstance(name, str):
        raise InvalidParameterError(
            f"a fairness definition is named by a string, got {name!r}; choose one of "
            f"{list(DEFINITIONS)}."
        )
    found = ALIASES.get(name, name.replace("-", "_"))
    if found not in DEFINITIONS:
        raise InvalidParameterError(
            f"unknown fairness definition {name!r}; choose one of {list(DEFINITIONS)} "
            f"(or {sorted(k for k in ALIASES if k.islower())})."
        )
    return found


def constraint_name(name: str) -> str:
    """The canonical name of a definition that fair learning can impose.

    Raises
    ------
    InvalidParameterError
        ``name`` is unknown, or names a definition that has no linear constraint
        (``predictive_parity``, ``calibration_within_groups``).
    """
    found = ALIASES.get(name, name.replace("-", "_")) if isinstance(name, str) else None
    if found not in CONSTRAINT_NAMES:
        why = " is audited but cannot be imposed while learning" if found in DEFINITIONS else ""
        raise InvalidParameterError(
            f"unknown constraint {name!r}{why}; choose one of {list(CONSTRAINT_NAMES)} "
            "(or fairlearn's 'true_positive_rate_parity')."
        )
    return str(found)


def title(name: str) -> str:
    """A definition's name as prose: ``"equalized_odds"`` -> ``"equalized odds"``.

    Any accepted spelling gives the canonical name's words; another name keeps its own.
    """
    found = ALIASES.get(name, name.replace("-", "_"))
    return found.replace("_", " ")
