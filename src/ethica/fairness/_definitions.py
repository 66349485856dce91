r"""Named fairness definitions, each judged per attribute set at a tolerance.

Let :math:`\hat Y` be the decision, :math:`Y` the outcome, :math:`G` the group and
:math:`r` the reference group. A rate definition holds, up to tolerance
:math:`\tau`, when :math:`|m(g) - m(r)| \le \tau` for every judged group :math:`g`:

=========================== ================= =========================================
definition                  metric(s)         source
=========================== ================= =========================================
demographic_parity          selection_rate    Calders & Verwer (2010); Dwork et al. (2012)
equal_opportunity           tpr               Hardt, Price & Srebro (2016)
equalized_odds              tpr, fpr          Hardt, Price & Srebro (2016)
false_positive_rate_parity  fpr               Chouldechova (2017) ("predictive equality",
                                              Corbett-Davies et al. 2017)
predictive_parity           ppv               Chouldechova (2017)
error_rate_parity           accuracy          Berk et al. (2021) ("overall accuracy
                                              equality")
calibration_within_groups   score bins        Kleinberg, Mullainathan & Raghavan (2017)
=========================== ================= =========================================

Calibration within groups holds when, in every judged group and score bin,
:math:`|P(Y=1 \mid S \in b, G=g) - E[S \mid S \in b, G=g]| \le \tau`.

Verdicts. With the Newcombe interval of each group's difference from the
reference: **fail** when some interval lies wholly outside :math:`[-\tau, \tau]`,
**pass** when every interval lies within it, **inconclusive** otherwise (or when
nothing can be judged), **not_applicable** for calibration without a score.

The intervals are two one-sided tests (Schuirmann 1987) made simultaneous by
Bonferroni: with :math:`k` comparisons behind a verdict and :math:`\alpha = 1 -`
confidence, each is a two-sided :math:`1 - 2\alpha/k` interval
(:func:`verdict_level`), i.e. each of its limits is a one-sided
:math:`1 - \alpha/k` bound.

- *pass* rests on :math:`L_i > -\tau` and :math:`U_i < \tau` for every comparison:
  for a comparison whose true gap is :math:`\ge \tau` (or :math:`\le -\tau`),
  that one bound crosses with probability at most :math:`\alpha/k`, so a verdict
  with such a gap passes with probability at most :math:`\alpha/k \le \alpha`
  (the intersection-union principle, Berger 1982);
- *fail* rests on one bound beyond :math:`\pm\tau`: when every true gap is within
  :math:`\pm\tau`, each of the :math:`2k` one-sided bounds misses on the side
  that matters with probability at most :math:`\alpha/k`, and only one side of
  each comparison can be near its tolerance, so a false fail has probability
  about :math:`\alpha` (at most :math:`2\alpha` in the worst case of a gap equal
  to :math:`\pm\tau` with standard errors as large as :math:`\tau`).

The old rule (two-sided :math:`1-\alpha/k` intervals) was an equivalence test at
:math:`\alpha/(2k)`; this one passes with less data at the same guarantee
(measured size and power: ``docs/audit.md``).

References
----------
Calders, T. and Verwer, S. (2010). Three naive Bayes approaches for discrimination-free
classification. *Data Mining and Knowledge Discovery* 21(2), 277-292.
Dwork, C., Hardt, M., Pitassi, T., Reingold, O. and Zemel, R. (2012). Fairness through
awareness. *ITCS*.
Hardt, M., Price, E. and Srebro, N. (2016). Equality of opportunity in supervised
learning. *NeurIPS*.
Chouldechova, A. (2017). Fair prediction with disparate impact. *Big Data* 5(2), 153-163.
Corbett-Davies, S., Pierson, E., Feller, A., Goel, S. and Huq, A. (2017). Algorithmic
decision making and the cost of fairness. *KDD*.
Berk, R., Heidari, H., Jabbari, S., Kearns, M. and Roth, A. (2021). Fairness in criminal
justice risk assessments: the state of the art. *Sociological Methods & Research* 50(1).
Kleinberg, J., Mullainathan, S. and Raghavan, M. (2017). Inherent trade-offs in the fair
determination of risk scores. *ITCS*.
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. *Journal of
Pharmacokinetics and Biopharmaceutics* 15(6), 657-680.
Berger, R. L. (1982). Multiparameter hypothesis testing and acceptance sampling.
*Technometrics* 24(4), 295-300.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ethica._typing import BoolArray
from ethica.fairness._audit_groups import GroupBlock
from ethica.fairness._audit_result import DefinitionResult, Interval, group_label
from ethica.fairness._disparities import compare_to_reference, interval
from ethica.fairness._intervals import modified_wilson_interval
from ethica.fairness._registry import CALIBRATION, DEFINITIONS, RATE_DEFINITIONS

__all__ = ["DEFINITIONS", "judge_definitions", "verdict_level"]


def verdict_level(confidence: float, comparisons: int) -> float:
    """Two-sided level of each interval behind a verdict: ``1 - 2 * alpha / k``.

    Each limit is then a one-sided ``1 - alpha / k`` bound (two one-sided tests,
    Schuirmann 1987, Bonferroni over the ``k`` comparisons).
    """
    return 1.0 - 2.0 * (1.0 - confidence) / max(1, comparisons)


@dataclass(frozen=True)
class _Gap:
    """One judged comparison: which group, which metric, its simultaneous interval."""

    group: tuple[str, ...]
    metric: str
    value: float
    low: float
    high: float


def _verdict(
    gaps: list[_Gap], undefined: list[str], tolerance: float, level: float, against: str
) -> tuple[str, _Gap | None, str]:
    """Turn simultaneous intervals into a verdict, the worst gap, and the reason."""
    if not gaps:
        why = "; ".join(undefined) if undefined else f"no judged group besides {against}"
        return "inconclusive", None, f"nothing could be judged ({why})"
    failing = [g for g in gaps if g.low > tolerance or g.high < -tolerance]
    worst = max(failing or gaps, key=lambda g: abs(g.value))
    where = (
        f"{worst.metric} of {group_label(worst.group)} differs from {against} by "
        f"{worst.value:+.3f} [{worst.low:+.3f}, {worst.high:+.3f}]"
    )
    simultaneous = f"{level:.4g} intervals, two one-sided tests over {len(gaps)} comparison(s)"
    if failing:
        return "fail", worst, f"{where}, wholly beyond ±{tolerance:g} ({simultaneous})"
    if not undefined and all(-tolerance <= g.low and g.high <= tolerance for g in gaps):
        return "pass", worst, f"every interval lies within ±{tolerance:g}; largest: {where}"
    extra = f"; undefined: {'; '.join(undefined)}" if undefined else ""
    return (
        "inconclusive",
        worst,
        f"{where}: the interval crosses ±{tolerance:g} ({simultaneous}){extra}",
    )


def _rate_definition(
    name: str,
    block: GroupBlock,
    judged: BoolArray,
    reference: int,
    tolerance: float,
    confidence: float,
) -> DefinitionResult:
    metrics = RATE_DEFINITIONS[name]
    ref_label = block.labels[reference]
    compared = int(judged.sum()) - 1 if judged[reference] else 0
    level = verdict_level(confidence, compared * len(metrics))
    gaps: list[_Gap] = []
    undefined: list[str] = []
    c = compare_to_reference(block, judged, reference, metrics, level)
    for i, g in enumerate(c.groups.tolist()):
        for j, metric in enumerate(metrics):
            label = block.labels[g]
            if c.n1[i, j] == 0 or c.n2[i, j] == 0:
                who = group_label(label if c.n1[i, j] == 0 else ref_label)
                undefined.append(f"{metric} is undefined for {who}")
                continue
            gaps.append(
                _Gap(
                    label,
                    metric,
                    float(c.difference[i, j]),
                    float(c.low[i, j]),
                    float(c.high[i, j]),
                )
            )
    if not judged[reference]:
        undefined.append(f"reference group {group_label(ref_label)} is too small to judge")
    against = group_label(ref_label)
    verdict, worst, reason = _verdict(gaps, undefined, tolerance, level, against)
    return _result(name, metrics, block, tolerance, verdict, worst, reason)


def _result(
    name: str,
    metrics: tuple[str, ...],
    block: GroupBlock,
    tolerance: float,
    verdict: str,
    worst: _Gap | None,
    reason: str,
) -> DefinitionResult:
    return DefinitionResult(
        name=name,
        metrics=metrics,
        attributes=block.attributes,
        tolerance=tolerance,
        worst_group=None if worst is None else worst.group,
        worst_difference=Interval(None, None, None)
        if worst is None
        else interval(worst.value, worst.low, worst.high),
        verdict=verdict,
        reason=reason,
    )


def _calibration(
    block: GroupBlock,
    judged: BoolArray,
    min_group_size: int,
    tolerance: float,
    confidence: float,
) -> DefinitionResult:
    metrics = ("calibration",)
    cal = block.calibration
    if cal is None:
        reason = "no score column was given, so calibration cannot be judged"
        return _result(CALIBRATION, metrics, block, tolerance, "not_applicable", None, reason)
    cells = np.argwhere(judged[:, None] & (cal.n >= min_group_size))
    level = verdict_level(confidence, len(cells))
    rows, bins = cells[:, 0], cells[:, 1]
    n = cal.n[rows, bins]
    observed = cal.positives[rows, bins] / n
    mean_score = cal.score_sum[rows, bins] / n
    low, high = modified_wilson_interval(cal.positives[rows, bins], n, level)
    gaps = [
        _Gap(block.labels[r], f"observed rate in score bin {b + 1}", o - s, lo - s, hi - s)
        for r, b, o, s, lo, hi in zip(
            rows.tolist(),
            bins.tolist(),
            observed.tolist(),
            mean_score.tolist(),
            low.tolist(),
            high.tolist(),
            strict=True,
        )
    ]
    undefined = [] if gaps else [f"no group has a score bin with {min_group_size}+ rows"]
    verdict, worst, reason = _verdict(gaps, undefined, tolerance, level, "its mean score")
    return _result(CALIBRATION, metrics, block, tolerance, verdict, worst, reason)


def judge_definitions(
    blocks: list[GroupBlock],
    judged: list[BoolArray],
    references: list[int],
    *,
    tolerance: float,
    confidence: float,
    min_group_size: int,
) -> tuple[DefinitionResult, ...]:
    """Judge every named definition on every attribute set."""
    results = []
    for name in DEFINITIONS:
        for block, judged_groups, ref in zip(blocks, judged, references, strict=True):
            if name == CALIBRATION:
                results.append(
                    _calibration(block, judged_groups, min_group_size, tolerance, confidence)
                )
            else:
                results.append(
                    _rate_definition(name, block, judged_groups, ref, tolerance, confidence)
                )
    return tuple(results)
