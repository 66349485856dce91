"""Private model training: scikit-learn estimators that spend a dataset's privacy budget.

- :class:`DPLogisticRegression`: objective perturbation (Chaudhuri, Monteleoni & Sarwate
  2011; pure DP) or DP-SGD (Abadi et al. 2016; discrete Gaussian noise on a fixed-point grid,
  accounted with Google's ``dp-accounting``).
- :class:`DPLinearRegression`: sufficient-statistics perturbation (noisy ``X^T X`` and
  ``X^T y`` with declared bounds, exact discrete noise).
- :class:`DPThresholdOptimizer`: fair post-processing when the protected attribute is private
  (Jagielski et al. 2019): group thresholds chosen from a noisy score histogram.
- :class:`DPExponentiatedGradient`: fair classification by the reduction of Agarwal et al.
  (2018) with a private protected attribute (Jagielski et al. 2019): exponential-mechanism
  best responses over a finite public class (:func:`stump_hypotheses`,
  :func:`public_hypotheses`), violations measured from noisy counts.
- :func:`private_frontier`: the three-way frontier error × unfairness × epsilon of the DP
  fair learners, with Wilson and Newcombe intervals.
- :func:`privacy_cost_by_group`: who pays for privacy — accuracy, FPR and FNR by protected
  group for each model, with Wilson intervals (Bagdasaryan, Poursaeed & Shmatikov 2019).

Every estimator takes ``epsilon``/``delta`` (or ``budget=``), declared bounds (never read
from the data) and optionally ``ledger=``/``dataset=``: the budget is charged before the data
is read, and a failure after the charge raises :class:`~ethica.ReleaseFailedError`.
"""

from __future__ import annotations

from ethica.privacy.learning._fair_postprocessing import DPThresholdOptimizer
from ethica.privacy.learning._fair_reduction import DPExponentiatedGradient
from ethica.privacy.learning._hypotheses import public_hypotheses, stump_hypotheses
from ethica.privacy.learning._linear import DPLinearRegression
from ethica.privacy.learning._logistic import DPLogisticRegression
from ethica.privacy.learning._private_frontier import (
    PrivateFrontierPoint,
    PrivateFrontierResult,
    private_frontier,
)
from ethica.privacy.learning._who_pays import GroupCost, PrivacyCostResult, privacy_cost_by_group

__all__ = [
    "DPExponentiatedGradient",
    "DPLinearRegression",
    "DPLogisticRegression",
    "DPThresholdOptimizer",
    "GroupCost",
    "PrivacyCostResult",
    "PrivateFrontierPoint",
    "PrivateFrontierResult",
    "privacy_cost_by_group",
    "private_frontier",
    "public_hypotheses",
    "stump_hypotheses",
]
