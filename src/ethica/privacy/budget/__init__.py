"""Budgets: typed exact privacy losses, their accounting, and the persistent ledger.

:class:`PureDP`, :class:`ZCDP`, :class:`ApproxDP` (exact rationals); conversions and
mechanism costs in :mod:`._accounting`; :class:`Ledger`, the SQLite record of every charge
against a registered dataset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ethica._lazy import lazy_attributes

if TYPE_CHECKING:
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

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "ZCDP": "ethica.privacy.budget._budgets",
    "ApproxDP": "ethica.privacy.budget._budgets",
    "Budget": "ethica.privacy.budget._budgets",
    "ChargeHandle": "ethica.privacy.budget._ledger",
    "ChargeRecord": "ethica.privacy.budget._ledger",
    "DatasetStatus": "ethica.privacy.budget._ledger",
    "Ledger": "ethica.privacy.budget._ledger",
    "PureDP": "ethica.privacy.budget._budgets",
    "budget_from_dict": "ethica.privacy.budget._budgets",
    "default_ledger_path": "ethica.privacy.budget._ledger",
    "exponential_cost": "ethica.privacy.budget._accounting",
    "gaussian_cost": "ethica.privacy.budget._accounting",
    "gaussian_sigma": "ethica.privacy.budget._accounting",
    "laplace_cost": "ethica.privacy.budget._accounting",
    "laplace_scale": "ethica.privacy.budget._accounting",
    "output_hash": "ethica.privacy.budget._ledger",
    "parallel_composition": "ethica.privacy.budget._accounting",
    "pure_to_approx": "ethica.privacy.budget._accounting",
    "pure_to_zcdp": "ethica.privacy.budget._accounting",
    "sequential_composition": "ethica.privacy.budget._accounting",
    "zcdp_to_approx": "ethica.privacy.budget._accounting",
}

__getattr__, __dir__ = lazy_attributes("ethica.privacy.budget", globals(), _LAZY)

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
