"""Differential privacy core: exact noise, typed budgets and accounting, a persistent ledger.

Samplers (exact, integer arithmetic, random bits only from the OS CSPRNG):
:func:`discrete_laplace`, :func:`discrete_gaussian`, :func:`bernoulli_exp`;
selection: :func:`permute_and_flip`, :func:`exponential_mechanism`, :func:`private_quantile`.

Budgets (immutable, exact): :class:`PureDP`, :class:`ZCDP`, :class:`ApproxDP`; ``+`` is
sequential composition within a kind; conversions :func:`pure_to_zcdp`,
:func:`pure_to_approx`, :func:`zcdp_to_approx`; :func:`parallel_composition`.
Mechanism costs: :func:`laplace_cost`, :func:`gaussian_cost`, :func:`exponential_cost`,
and the inverses :func:`laplace_scale`, :func:`gaussian_sigma`.

Ledger: :class:`Ledger` (SQLite) with :meth:`Ledger.charge` (a context manager) or the
two-phase :meth:`Ledger.record_charge` / :meth:`Ledger.complete` / :meth:`Ledger.fail`.

A typical release::

    cost = laplace_cost(sensitivity=1, scale=2)          # PureDP(1/2)
    with Ledger().charge("adult", cost, "row count") as charge:
        noisy = true_count + int(discrete_laplace(2, 1)[0])
        charge.set_output(noisy)
"""

from __future__ import annotations

from ethica.privacy.budget import (
    ZCDP,
    ApproxDP,
    Budget,
    ChargeHandle,
    ChargeRecord,
    DatasetStatus,
    Ledger,
    PureDP,
    budget_from_dict,
    default_ledger_path,
    exponential_cost,
    gaussian_cost,
    gaussian_sigma,
    laplace_cost,
    laplace_scale,
    output_hash,
    parallel_composition,
    pure_to_approx,
    pure_to_zcdp,
    sequential_composition,
    zcdp_to_approx,
)
from ethica.privacy.noise import (
    bernoulli_exp,
    discrete_gaussian,
    discrete_laplace,
    exponential_mechanism,
    permute_and_flip,
    private_quantile,
)
from ethica.privacy.release import (
    Batch,
    BoundsEstimate,
    Count,
    Histogram,
    Mean,
    Quantiles,
    Release,
    ReleasedTable,
    Rows,
    Session,
    Sum,
    UserLevel,
    Variance,
    error_table,
    gaussian_half_width,
    laplace_half_width,
    make_consistent,
    plan_budget,
)

__all__ = [
    "ZCDP",
    "ApproxDP",
    "Batch",
    "BoundsEstimate",
    "Budget",
    "ChargeHandle",
    "ChargeRecord",
    "Count",
    "DatasetStatus",
    "Histogram",
    "Ledger",
    "Mean",
    "PureDP",
    "Quantiles",
    "Release",
    "ReleasedTable",
    "Rows",
    "Session",
    "Sum",
    "UserLevel",
    "Variance",
    "bernoulli_exp",
    "budget_from_dict",
    "default_ledger_path",
    "discrete_gaussian",
    "discrete_laplace",
    "error_table",
    "exponential_cost",
    "exponential_mechanism",
    "gaussian_cost",
    "gaussian_half_width",
    "gaussian_sigma",
    "laplace_cost",
    "laplace_half_width",
    "laplace_scale",
    "make_consistent",
    "output_hash",
    "parallel_composition",
    "permute_and_flip",
    "plan_budget",
    "private_quantile",
    "pure_to_approx",
    "pure_to_zcdp",
    "sequential_composition",
    "zcdp_to_approx",
]
