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

__all__ = [
    "AuditResult",
    "CalibrationBin",
    "DefinitionResult",
    "Disparity",
    "Estimate",
    "GroupMetrics",
    "Interval",
    "Spread",
    "audit",
    "audit_counts",
]
