"""ethica: socially aware algorithm design.

Audit whether a model's *outputs* discriminate, train models whose outputs meet a
fairness constraint and see the price in accuracy, release population statistics
under differential privacy with an error bar on every number, and see the attacks
that make the guarantee necessary.

The exceptions load with the package; ``audit``, ``AuditResult``, ``Bins`` and
``datasets`` load on first use, so ``ethica --help`` and ``import ethica`` stay fast
(the learning stack pulls in scikit-learn and SciPy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    ReleaseFailedError,
    ReplayedRequestError,
    SchemaError,
    SmallGroupWarning,
)

if TYPE_CHECKING:
    from ethica import datasets
    from ethica.data import Bins
    from ethica.fairness import AuditResult, audit

#: Public names loaded on first use: name -> module that defines it.
_LAZY = {
    "AuditResult": "ethica.fairness",
    "Bins": "ethica.data",
    "audit": "ethica.fairness",
}


def __getattr__(name: str) -> Any:
    if name == "datasets":
        return importlib.import_module("ethica.datasets")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ethica' has no attribute {name!r}")


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
    "ReleaseFailedError",
    "ReplayedRequestError",
    "SchemaError",
    "SmallGroupWarning",
    "__version__",
    "audit",
    "datasets",
]
