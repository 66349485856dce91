"""Budgets: typed exact privacy losses, their accounting, and the persistent ledger.

:class:`PureDP`, :class:`ZCDP`, :class:`ApproxDP` (exact rationals); conversions and
mechanism costs in :mod:`._accounting`; :class:`Ledger`, the SQLite record of every charge
against a registered dataset.
"""

from __future__ import annotations

from ethica.privacy.budget._accounting import (
    exponential_cost,
    gaussian_cost,
    gaussian_sigma,
    laplace_cost,
    laplace_scale,
    parallel_composition,
    pure_to_approx,
    pure_to_zcdp,
    sequential_composition,
    zcdp_to_approx,
)
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP, budget_from_dict
from ethica.privacy.budget._ledger import (
    ChargeHandle,
    ChargeRecord,
    DatasetStatus,
    Ledger,
    default_ledger_path,
    output_hash,
)

__all__ = [
    "ZCDP",
    "ApproxDP",
    "Budget",
    "ChargeHandle",
    "ChargeRecord",
    "DatasetStatus",
    "Ledger",
    "PureDP",
    "budget_from_dict",
    "default_ledger_path",
    "exponential_cost",
    "gaussian_cost",
    "gaussian_sigma",
    "laplace_cost",
    "laplace_scale",
    "output_hash",
    "parallel_composition",
    "pure_to_approx",
    "pure_to_zcdp",
    "sequential_composition",
    "zcdp_to_approx",
]
