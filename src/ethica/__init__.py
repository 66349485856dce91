"""ethica: socially aware algorithm design.

Audit whether a model's *outputs* discriminate, train models whose outputs meet a
fairness constraint and see the price in accuracy, release population statistics
under differential privacy with an error bar on every number, and see the attacks
that make the guarantee necessary.
"""

from __future__ import annotations

from ethica import datasets
from ethica._exceptions import (
    BudgetExceededError,
    ConvergenceWarning,
    DataSourceError,
    EthicaError,
    EthicaWarning,
    HighCardinalityWarning,
    InfeasibleError,
    InvalidParameterError,
    LedgerError,
    MissingExtraError,
    NotFittedError,
    SchemaError,
    SmallGroupWarning,
)
from ethica.data import Bins
from ethica.fairness import AuditResult, audit

__version__ = "0.1.0"

__all__ = [
    "AuditResult",
    "Bins",
    "BudgetExceededError",
    "ConvergenceWarning",
    "DataSourceError",
    "EthicaError",
    "EthicaWarning",
    "HighCardinalityWarning",
    "InfeasibleError",
    "InvalidParameterError",
    "LedgerError",
    "MissingExtraError",
    "NotFittedError",
    "SchemaError",
    "SmallGroupWarning",
    "__version__",
    "audit",
    "datasets",
]
