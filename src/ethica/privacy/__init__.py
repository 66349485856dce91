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

The rooms below, each a subpackage: ``noise/`` (samplers, selection), ``budget/`` (budgets,
accounting, the ledger), ``release/`` (privacy units, queries, :class:`Session`, intervals,
consistency, spec files), ``testing/`` (the empirical privacy auditor,
:func:`ethica.privacy.testing.audit`), ``learning/`` (:class:`DPLogisticRegression`,
:class:`DPLinearRegression`, :func:`privacy_cost_by_group`), ``stream/`` (time series and
continual release: :class:`Stream`, :class:`UserWindow`, :func:`plan_stream`). Names load on
first use, so ``import ethica.privacy`` is cheap.

A typical release::

    cost = laplace_cost(sensitivity=1, scale=2)          # PureDP(1/2)
    with Ledger().charge("adult", cost, "row count") as charge:
        noisy = true_count + int(discrete_laplace(2, 1)[0])
        charge.set_output(noisy)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ethica._lazy import lazy_attributes

if TYPE_CHECKING:
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
    from ethica.privacy.learning import (
        DPExponentiatedGradient,
        DPLinearRegression,
        DPLogisticRegression,
        DPThresholdOptimizer,
        privacy_cost_by_group,
        private_frontier,
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
    from ethica.privacy.stream import Stream, UserWindow, plan_stream
    from ethica.privacy.synth import synthesize

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "DPExponentiatedGradient": "ethica.privacy.learning",
    "DPLinearRegression": "ethica.privacy.learning",
    "DPLogisticRegression": "ethica.privacy.learning",
    "DPThresholdOptimizer": "ethica.privacy.learning",
    "privacy_cost_by_group": "ethica.privacy.learning",
    "private_frontier": "ethica.privacy.learning",
    "Stream": "ethica.privacy.stream",
    "UserWindow": "ethica.privacy.stream",
    "plan_stream": "ethica.privacy.stream",
    "ZCDP": "ethica.privacy.budget",
    "ApproxDP": "ethica.privacy.budget",
    "Batch": "ethica.privacy.release",
    "BoundsEstimate": "ethica.privacy.release",
    "Budget": "ethica.privacy.budget",
    "ChargeHandle": "ethica.privacy.budget",
    "ChargeRecord": "ethica.privacy.budget",
    "Count": "ethica.privacy.release",
    "DatasetStatus": "ethica.privacy.budget",
    "Histogram": "ethica.privacy.release",
    "Ledger": "ethica.privacy.budget",
    "Mean": "ethica.privacy.release",
    "PureDP": "ethica.privacy.budget",
    "Quantiles": "ethica.privacy.release",
    "Release": "ethica.privacy.release",
    "ReleasedTable": "ethica.privacy.release",
    "Rows": "ethica.privacy.release",
    "Session": "ethica.privacy.release",
    "Sum": "ethica.privacy.release",
    "UserLevel": "ethica.privacy.release",
    "Variance": "ethica.privacy.release",
    "bernoulli_exp": "ethica.privacy.noise",
    "budget_from_dict": "ethica.privacy.budget",
    "default_ledger_path": "ethica.privacy.budget",
    "discrete_gaussian": "ethica.privacy.noise",
    "discrete_laplace": "ethica.privacy.noise",
    "error_table": "ethica.privacy.release",
    "exponential_cost": "ethica.privacy.budget",
    "exponential_mechanism": "ethica.privacy.noise",
    "gaussian_cost": "ethica.privacy.budget",
    "gaussian_half_width": "ethica.privacy.release",
    "gaussian_sigma": "ethica.privacy.budget",
    "laplace_cost": "ethica.privacy.budget",
    "laplace_half_width": "ethica.privacy.release",
    "laplace_scale": "ethica.privacy.budget",
    "make_consistent": "ethica.privacy.release",
    "output_hash": "ethica.privacy.budget",
    "parallel_composition": "ethica.privacy.budget",
    "permute_and_flip": "ethica.privacy.noise",
    "plan_budget": "ethica.privacy.release",
    "private_quantile": "ethica.privacy.noise",
    "pure_to_approx": "ethica.privacy.budget",
    "pure_to_zcdp": "ethica.privacy.budget",
    "sequential_composition": "ethica.privacy.budget",
    "synthesize": "ethica.privacy.synth",
    "zcdp_to_approx": "ethica.privacy.budget",
}

__getattr__, __dir__ = lazy_attributes("ethica.privacy", globals(), _LAZY)

__all__ = [
    "ZCDP",
    "ApproxDP",
    "Batch",
    "BoundsEstimate",
    "Budget",
    "ChargeHandle",
    "ChargeRecord",
    "Count",
    "DPExponentiatedGradient",
    "DPLinearRegression",
    "DPLogisticRegression",
    "DPThresholdOptimizer",
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
    "Stream",
    "Sum",
    "UserLevel",
    "UserWindow",
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
    "plan_stream",
    "privacy_cost_by_group",
    "private_frontier",
    "private_quantile",
    "pure_to_approx",
    "pure_to_zcdp",
    "sequential_composition",
    "synthesize",
    "zcdp_to_approx",
]
