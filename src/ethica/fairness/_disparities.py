r"""Disparities between groups: group vs reference, and the max-min spread.

For each attribute set and metric, every judged group ``g`` is compared with the
reference group ``r`` of its attribute set:

- difference :math:`\hat p_g - \hat p_r` with Newcombe's hybrid score interval;
- ratio :math:`\hat p_g / \hat p_r` with the Miettinen-Nurminen score interval
  (defined as :math:`[L, \infty)` when the reference has no events);
- a two-sided test of :math:`p_g = p_r`: Fisher's exact test for small or rare
  tables and wherever the pooled z-test would be significant, the z-test elsewhere
  (the rule is :mod:`ethica.fairness._exact_tests`'s);
- Holm's adjustment across every test of the audit. Complementary metrics
  (tpr/fnr, fpr/tnr, ppv/fdr, npv/for) test the same hypothesis with the same
  p-value, so each such pair counts once in the Holm family;
- for selection rates, the four-fifths rule: a ratio below 0.8 is flagged
  (Equal Employment Opportunity Commission et al. (1978), Uniform Guidelines on
  Employee Selection Procedures, 29 C.F.R. § 1607.4(D)). The Guidelines compare
  with the highest-rate group; here the comparison is with the reference group,
  and the spread's ``min / max`` ratio gives the Guidelines' own figure.

The spread of a metric over the judged groups of an attribute set is
:math:`\Delta = \max_g p_g - \min_g p_g` and :math:`\rho = \min_g p_g / \max_g p_g`.
Which groups look extreme is itself chosen by the data, so an ordinary interval for
the two extreme groups undercovers (0.63 with 6 similar groups, 0.27 with 12). The
intervals here are simultaneous over all :math:`P = G(G-1)/2` pairs: Newcombe
intervals :math:`[L_{ij}, U_{ij}]` for :math:`p_i - p_j` and score intervals for
:math:`p_i / p_j`, each at level :math:`1 - \alpha/P` (Bonferroni). When all of them
cover, :math:`\Delta = \max_{ij}(p_i - p_j)` lies in
:math:`[\max(0, \max_{ij} L_{ij}), \max_{ij} U_{ij}]` (over ordered pairs), and
:math:`\rho = \min_{ij} p_i/p_j` in :math:`[\min_{ij} L^\rho_{ij},
\min(1, \min_{ij} U^\rho_{ij})]`, so each covers with probability at least
:math:`1 - \alpha`.

``base_rate`` describes the data, not the model, and is not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ethica._typing import BoolArray, FloatArray, IntArray
from ethica.fairness._audit_groups import GroupBlock
from ethica.fairness._audit_result import Disparity, Interval, Spread
from ethica.fairness._exact_tests import comparison_p_values
from ethica.fairness._intervals import (
    holm_adjust,
    newcombe_difference,
    score_ratio,
)
from ethica.fairness._rates import METRICS

__all__ = [
    "COMPARED_METRICS",
    "HYPOTHESIS_OF",
    "Comparison",
    "compare_to_reference",
    "disparities",
    "ratio_interval",
    "spread_intervals",
    "spreads",
]


#: Metrics compared between groups (every metric but the base rate).
COMPARED_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m != "base_rate")

# Each metric's hypothesis: complementary rates share one test.
HYPOTHESIS_OF: dict[str, str] = {
    "selection_rate": "selection_rate",
    "accuracy": "accuracy",
    "tpr": "tpr",
    "fnr": "tpr",
    "fpr": "fpr",
    "tnr": "fpr",
    "ppv": "ppv",
    "fdr": "ppv",
    "npv": "npv",
    "for": "npv",
}

#: The four-fifths rule's threshold on the ratio of selection rates.
FOUR_FIFTHS = 0.8


def optional(x: float) -> float | None:
    """Return ``x`` as a float, or ``None`` when it is ``nan`` or infinite."""
    return x if math.isfinite(x) else None


def interval(value: float, low: float, high: float) -> Interval:
    """Build an :class:`Interval`; an undefined value makes the whole interval ``None``."""
    if not math.isfinite(value):
        return Interval(None, None, None)
    return Interval(value, optional(low), optional(high))


def ratio_interval(value: float, low: float, high: float) -> Interval:
    r"""Build a ratio :class:`Interval` that may be unbounded above.

    With no events in the denominator group the ratio itself is infinite (or 0/0)
    and its value is ``None``, but the score interval is still defined: ``ci_low``
    is its lower limit and ``ci_high`` is ``None`` for :math:`+\infty`. Only a ratio
    with an empty sample (``nan`` limits) is wholly ``None``.
    """
    if math.isnan(low):
        return Interval(None, None, None)
    return Interval(optional(value), low, optional(high))


@dataclass(frozen=True)
class Comparison:
    """Judged groups of one attribute set against its reference, on several metrics.

    Arrays are ``(groups, metrics)``: ``x1``/``n1`` each group's numerators and
    denominators, ``x2``/``n2`` the reference's (broadcast), and
    ``difference``/``low``/``high`` the Newcombe interval of the difference.
    """

    groups: IntArray
    metrics: tuple[str, ...]
    x1: IntArray
    n1: IntArray
    x2: IntArray
    n2: IntArray
    difference: FloatArray
    low: FloatArray
    high: FloatArray


def compare_to_reference(
    block: GroupBlock,
    judged: BoolArray,
    reference: int,
    metrics: tuple[str, ...],
    confidence: float,
) -> Comparison:
    """Compare every judged non-reference group with the reference on ``metrics``.

    Nothing is compared when the reference group itself is not judged.
    """
    groups = np.flatnonzero(judged) if judged[reference] else np.zeros(0, dtype=np.int64)
    groups = groups[groups != reference]
    cols = [block.rates.column(m) for m in metrics]
    numerator, denominator = block.rates.numerator[:, cols], block.rates.denominator[:, cols]
    x1, n1 = numerator[groups], denominator[groups]
    x2 = np.broadcast_to(numerator[reference], x1.shape)
    n2 = np.broadcast_to(denominator[reference], n1.shape)
    diff, low, high = newcombe_difference(x1, n1, x2, n2, confidence)
    return Comparison(groups, metrics, x1, n1, x2, n2, diff, low, high)


def _holm_by_hypothesis(
    keys: list[tuple[tuple[str, ...], int, str]], p_values: list[float]
) -> list[float]:
    """Holm-adjust once per distinct hypothesis; complementary metrics share the result."""
    family: dict[tuple[tuple[str, ...], int, str], int] = {}
    family_p: list[float] = []
    member = []
    for key, p in zip(keys, p_values, strict=True):
        if key not in family:
            family[key] = len(family_p)
            family_p.append(p)
        member.append(family[key])
    adjusted = holm_adjust(np.asarray(family_p, dtype=np.float64)).tolist()
    return [adjusted[k] for k in member]


def disparities(
    blocks: list[GroupBlock],
    judged: list[BoolArray],
    references: list[int],
    confidence: float,
) -> tuple[Disparity, ...]:
    """Compare every judged group with its reference on every compared metric.

    ``significant`` is ``p_holm < 1 - confidence``, the Holm family being every
    distinct hypothesis (attribute set, group, metric up to complement) in the audit.
    """
    pending: list[tuple[GroupBlock, int, str, int, Interval, Interval]] = []
    keys: list[tuple[tuple[str, ...], int, str]] = []
    p_values: list[float] = []
    alpha = 1.0 - confidence
    for block, judged_groups, ref in zip(blocks, judged, references, strict=True):
        c = compare_to_reference(block, judged_groups, ref, COMPARED_METRICS, confidence)
        ratio = score_ratio(c.x1, c.n1, c.x2, c.n2, confidence)
        p = comparison_p_values(c.x1, c.n1, c.x2, c.n2, alpha)[0].tolist()
        d_v, d_lo, d_hi = (a.tolist() for a in (c.difference, c.low, c.high))
        r_v, r_lo, r_hi = (a.tolist() for a in ratio)
        for i, g in enumerate(c.groups.tolist()):
            for j, metric in enumerate(COMPARED_METRICS):
                diff = interval(d_v[i][j], d_lo[i][j], d_hi[i][j])
                ratio_iv = ratio_interval(r_v[i][j], r_lo[i][j], r_hi[i][j])
                pending.append((block, g, metric, ref, diff, ratio_iv))
                keys.append((block.attributes, g, HYPOTHESIS_OF[metric]))
                p_values.append(p[i][j])
    adjusted = _holm_by_hypothesis(keys, p_values)
    results: list[Disparity] = []
    for (block, g, metric, ref, diff, ratio_iv), p_value, p_adj in zip(
        pending, p_values, adjusted, strict=True
    ):
        p_holm = optional(p_adj)
        four_fifths = None
        if metric == "selection_rate" and ratio_iv.value is not None:
            four_fifths = ratio_iv.value < FOUR_FIFTHS
        elif metric == "selection_rate" and diff.value is not None and diff.value > 0:
            four_fifths = False  # the reference selects nobody, the group some: ratio +inf
        results.append(
            Disparity(
                attributes=block.attributes,
                metric=metric,
                group=block.labels[g],
                reference=block.labels[ref],
                difference=diff,
                ratio=ratio_iv,
                p_value=optional(p_value),
                p_holm=p_holm,
                significant=p_holm is not None and p_holm < alpha,
                four_fifths_violation=four_fifths,
            )
        )
    return tuple(results)


def spread_intervals(
    x: IntArray, n: IntArray, confidence: float
) -> tuple[tuple[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray, FloatArray]]:
    """Simultaneous intervals for ``max - min`` and ``min / max`` of the rates ``x / n``.

    The groups lie along the last axis (any leading axes are independent sets, e.g.
    simulation replicates); every group must have ``n > 0`` and there must be at
    least two. Returns ``(value, low, high)`` arrays for the difference and for the
    ratio (the ratio's value is ``nan`` when every rate is 0); the construction is
    in the module docstring.
    """
    groups = x.shape[-1]
    first, second = np.triu_indices(groups, k=1)
    level = 1.0 - (1.0 - confidence) / first.size
    xi, ni, xj, nj = x[..., first], n[..., first], x[..., second], n[..., second]
    _, d_low, d_high = newcombe_difference(xi, ni, xj, nj, level)
    _, r_low, r_high = score_ratio(xi, ni, xj, nj, level)
    rate = x / n
    top, bottom = rate.max(axis=-1), rate.min(axis=-1)
    # Ordered pairs: (j, i) has [-U, -L] for the difference and [1/U, 1/L] for the ratio.
    diff_low = np.maximum(0.0, np.max(np.maximum(d_low, -d_high), axis=-1))
    diff_high = np.minimum(1.0, np.max(np.maximum(d_high, -d_low), axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_low = np.min(np.minimum(r_low, 1.0 / r_high), axis=-1)
        ratio_high = np.minimum(1.0, np.min(np.minimum(r_high, 1.0 / r_low), axis=-1))
        ratio_value = np.where(top > 0, bottom / top, np.nan)
    return (top - bottom, diff_low, diff_high), (ratio_value, ratio_low, ratio_high)


def spreads(
    blocks: list[GroupBlock], judged: list[BoolArray], confidence: float
) -> tuple[Spread, ...]:
    """Return, per attribute set and compared metric, the spread of the rate over the groups.

    Only judged groups whose rate is defined take part; at least two are needed.
    The difference ``max - min`` and the ratio ``min / max`` have simultaneous
    intervals over all pairs of those groups (:func:`spread_intervals`), which cover
    the true spread whichever groups turn out extreme.
    """
    results: list[Spread] = []
    for block, judged_groups in zip(blocks, judged, strict=True):
        # Metrics with the same taking-part groups are computed together (one call).
        by_groups: dict[tuple[int, ...], list[str]] = {}
        for metric in COMPARED_METRICS:
            j = block.rates.column(metric)
            candidates = np.flatnonzero(judged_groups & (block.rates.denominator[:, j] > 0))
            if candidates.size >= 2:
                by_groups.setdefault(tuple(candidates.tolist()), []).append(metric)
        found: dict[str, Spread] = {}
        for members, metrics in by_groups.items():
            rows = np.asarray(members, dtype=np.int64)
            cols = np.array([block.rates.column(m) for m in metrics], dtype=np.int64)
            x = block.rates.numerator[np.ix_(rows, cols)].T
            n = block.rates.denominator[np.ix_(rows, cols)].T
            d, r = spread_intervals(x, n, confidence)
            rate = x / n
            for i, metric in enumerate(metrics):
                found[metric] = Spread(
                    attributes=block.attributes,
                    metric=metric,
                    max_group=block.labels[int(rows[np.argmax(rate[i])])],
                    min_group=block.labels[int(rows[np.argmin(rate[i])])],
                    difference=interval(*(float(v[i]) for v in d)),
                    ratio=Interval(optional(float(r[0][i])), float(r[1][i]), float(r[2][i])),
                )
        results.extend(found[m] for m in COMPARED_METRICS if m in found)
    return tuple(results)
