"""ethica.fairness: audit a model's outputs for discrimination, and learn fair models.

Public names load on first use (module ``__getattr__``, PEP 562): the audit needs only
NumPy, SciPy and the data layer, while the learners pull in scikit-learn, so neither
``import ethica.fairness`` nor ``ethica --help`` pays for what it does not use.
To add a public name, add it to :data:`_LAZY` (name -> defining module) and ``__all__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ethica.fairness._audit import audit, audit_counts
    from ethica.fairness._audit_result import (
        AuditResult,
        CalibrationBin,
        DefinitionResult,
        Disparity,
        Estimate,
        GroupMetrics,
        Interval,
        Spread,
    )
    from ethica.fairness._constraints import (
        BoundConstraint,
        DemographicParity,
        EqualizedOdds,
        EqualOpportunity,
        ErrorRateParity,
        FairnessConstraint,
        FalsePositiveRateParity,
        TruePositiveRateParity,
        constraint_from_name,
    )
    from ethica.fairness._frontier import FrontierPoint, FrontierResult, frontier, hypervolume
    from ethica.fairness._gerryfair import GerryFairClassifier
    from ethica.fairness._metric_frame import MetricFrame
    from ethica.fairness._postprocessing import RejectOptionClassifier, ThresholdOptimizer
    from ethica.fairness._proxies import ProxyFeature, ProxyResult, proxy_analysis
    from ethica.fairness._reductions import ExponentiatedGradient, GridSearch
    from ethica.fairness._rich_subgroups import (
        RichSubgroup,
        RichSubgroupAuditor,
        audit_conjunctions,
        audit_rich_subgroups,
    )

#: Public name -> the private module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("audit", "audit_counts"), "ethica.fairness._audit"),
    **dict.fromkeys(
        (
            "AuditResult",
            "CalibrationBin",
            "DefinitionResult",
            "Disparity",
            "Estimate",
            "GroupMetrics",
            "Interval",
            "Spread",
        ),
        "ethica.fairness._audit_result",
    ),
    **dict.fromkeys(
        (
            "BoundConstraint",
            "DemographicParity",
            "EqualizedOdds",
            "EqualOpportunity",
            "TruePositiveRateParity",
            "ErrorRateParity",
            "FairnessConstraint",
            "FalsePositiveRateParity",
            "constraint_from_name",
        ),
        "ethica.fairness._constraints",
    ),
    **dict.fromkeys(
        ("FrontierPoint", "FrontierResult", "frontier", "hypervolume"), "ethica.fairness._frontier"
    ),
    "GerryFairClassifier": "ethica.fairness._gerryfair",
    "MetricFrame": "ethica.fairness._metric_frame",
    **dict.fromkeys(
        ("RejectOptionClassifier", "ThresholdOptimizer"), "ethica.fairness._postprocessing"
    ),
    **dict.fromkeys(("ProxyFeature", "ProxyResult", "proxy_analysis"), "ethica.fairness._proxies"),
    **dict.fromkeys(("ExponentiatedGradient", "GridSearch"), "ethica.fairness._reductions"),
    **dict.fromkeys(
        ("RichSubgroup", "RichSubgroupAuditor", "audit_conjunctions", "audit_rich_subgroups"),
        "ethica.fairness._rich_subgroups",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ethica.fairness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AuditResult",
    "BoundConstraint",
    "CalibrationBin",
    "DefinitionResult",
    "DemographicParity",
    "Disparity",
    "EqualOpportunity",
    "EqualizedOdds",
    "ErrorRateParity",
    "Estimate",
    "ExponentiatedGradient",
    "FairnessConstraint",
    "FalsePositiveRateParity",
    "FrontierPoint",
    "FrontierResult",
    "GerryFairClassifier",
    "GridSearch",
    "GroupMetrics",
    "Interval",
    "MetricFrame",
    "ProxyFeature",
    "ProxyResult",
    "RejectOptionClassifier",
    "RichSubgroup",
    "RichSubgroupAuditor",
    "Spread",
    "ThresholdOptimizer",
    "TruePositiveRateParity",
    "audit",
    "audit_conjunctions",
    "audit_counts",
    "audit_rich_subgroups",
    "constraint_from_name",
    "frontier",
    "hypervolume",
    "proxy_analysis",
]
