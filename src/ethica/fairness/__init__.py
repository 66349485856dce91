"""ethica.fairness: audit a model's outputs for discrimination, and learn fair models."""

from __future__ import annotations

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
    constraint_from_name,
)
from ethica.fairness._frontier import FrontierPoint, FrontierResult, frontier, hypervolume
from ethica.fairness._gerryfair import GerryFairClassifier
from ethica.fairness._postprocessing import RejectOptionClassifier, ThresholdOptimizer
from ethica.fairness._proxies import ProxyFeature, ProxyResult, proxy_analysis
from ethica.fairness._reductions import ExponentiatedGradient, GridSearch
from ethica.fairness._rich_subgroups import (
    RichSubgroup,
    RichSubgroupAuditor,
    audit_conjunctions,
    audit_rich_subgroups,
)

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
    "ProxyFeature",
    "ProxyResult",
    "RejectOptionClassifier",
    "RichSubgroup",
    "RichSubgroupAuditor",
    "Spread",
    "ThresholdOptimizer",
    "audit",
    "audit_conjunctions",
    "audit_counts",
    "audit_rich_subgroups",
    "constraint_from_name",
    "frontier",
    "hypervolume",
    "proxy_analysis",
]
