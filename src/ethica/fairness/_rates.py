r"""The audit's rates: proportions of the confusion counts of a group.

For a group with true positives :math:`TP`, false positives :math:`FP`, false
negatives :math:`FN`, true negatives :math:`TN` and :math:`n = TP+FP+FN+TN`:

============== ======================= ==============================
metric         definition              conditional probability
============== ======================= ==============================
selection_rate (TP+FP)/n               P(Ŷ=1)
tpr            TP/(TP+FN)              P(Ŷ=1 | Y=1)
fpr            FP/(FP+TN)              P(Ŷ=1 | Y=0)
tnr            TN/(FP+TN)              P(Ŷ=0 | Y=0)
fnr            FN/(TP+FN)              P(Ŷ=0 | Y=1)
ppv            TP/(TP+FP)              P(Y=1 | Ŷ=1)
npv            TN/(TN+FN)              P(Y=0 | Ŷ=0)
fdr            FP/(TP+FP)              P(Y=0 | Ŷ=1)
for            FN/(TN+FN)              P(Y=1 | Ŷ=0)
accuracy       (TP+TN)/n               P(Ŷ=Y)
base_rate      (TP+FN)/n               P(Y=1)
============== ======================= ==============================

Each comes with its Wilson interval, modified next to 0 and 1 (Brown, Cai &
DasGupta 2001; :func:`~ethica.fairness._intervals.modified_wilson_interval`).
A rate whose denominator is zero is undefined, with the reason, never ``nan``. The
group-conditional versions of these rates are the building blocks of the fairness
definitions surveyed by Verma, S. and Rubin, J. (2018), "Fairness definitions
explained", *FairWare*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ethica._typing import FloatArray, IntArray
from ethica.fairness._audit_result import Estimate
from ethica.fairness._intervals import modified_wilson_interval

__all__ = ["CELLS", "METRICS", "RateTable", "rate_table"]

#: Column order of a confusion-count array.
CELLS: tuple[str, ...] = ("tp", "fp", "fn", "tn")


@dataclass(frozen=True)
class _Rate:
    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]


_ALL = CELLS
_ACTUAL_POS, _ACTUAL_NEG = ("tp", "fn"), ("fp", "tn")
_PRED_POS, _PRED_NEG = ("tp", "fp"), ("fn", "tn")

_RATES: tuple[_Rate, ...] = (
    _Rate("selection_rate", _PRED_POS, _ALL),
    _Rate("tpr", ("tp",), _ACTUAL_POS),
    _Rate("fpr", ("fp",), _ACTUAL_NEG),
    _Rate("tnr", ("tn",), _ACTUAL_NEG),
    _Rate("fnr", ("fn",), _ACTUAL_POS),
    _Rate("ppv", ("tp",), _PRED_POS),
    _Rate("npv", ("tn",), _PRED_NEG),
    _Rate("fdr", ("fp",), _PRED_POS),
    _Rate("for", ("fn",), _PRED_NEG),
    _Rate("accuracy", ("tp", "tn"), _ALL),
    _Rate("base_rate", _ACTUAL_POS, _ALL),
)

_UNDEFINED_BECAUSE: dict[tuple[str, ...], str] = {
    _ALL: "no rows in this group",
    _ACTUAL_POS: "no actual positives in this group",
    _ACTUAL_NEG: "no actual negatives in this group",
    _PRED_POS: "no predicted positives in this group",
    _PRED_NEG: "no predicted negatives in this group",
}

#: Metric names, in JSON order.
METRICS: tuple[str, ...] = tuple(rate.name for rate in _RATES)


def _mask(parts: tuple[str, ...]) -> list[int]:
    return [int(cell in parts) for cell in CELLS]


_NUMERATOR_MASK = np.array([_mask(r.numerator) for r in _RATES], dtype=np.int64).T
_DENOMINATOR_MASK = np.array([_mask(r.denominator) for r in _RATES], dtype=np.int64).T
_REASONS: tuple[str, ...] = tuple(_UNDEFINED_BECAUSE[r.denominator] for r in _RATES)


@dataclass(frozen=True)
class RateTable:
    """Every metric of every group of one attribute set, as ``(groups, metrics)`` arrays."""

    numerator: IntArray
    denominator: IntArray
    value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray

    def column(self, metric: str) -> int:
        """Return the column index of ``metric``."""
        return METRICS.index(metric)

    def estimates(self, row: int) -> dict[str, Estimate]:
        """Return the metrics of group ``row`` as :class:`Estimate` objects."""
        num, den = self.numerator[row].tolist(), self.denominator[row].tolist()
        val, low, high = (a[row].tolist() for a in (self.value, self.ci_low, self.ci_high))
        return {
            name: Estimate(val[j], low[j], high[j], num[j], den[j])
            if den[j] > 0
            else Estimate(None, None, None, num[j], den[j], _REASONS[j])
            for j, name in enumerate(METRICS)
        }


def rate_table(confusion: IntArray, confidence: float) -> RateTable:
    """Compute every metric with its (modified) Wilson interval from ``(groups, 4)`` counts.

    Parameters
    ----------
    confusion
        Counts in the column order of :data:`CELLS` (tp, fp, fn, tn), one row per group.
    confidence
        Coverage of the intervals.
    """
    numerator = confusion @ _NUMERATOR_MASK
    denominator = confusion @ _DENOMINATOR_MASK
    with np.errstate(divide="ignore", invalid="ignore"):
        value = numerator / denominator
    low, high = modified_wilson_interval(numerator, denominator, confidence)
    return RateTable(numerator, denominator, value, low, high)
