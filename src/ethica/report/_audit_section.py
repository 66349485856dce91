"""The audit's report section: verdicts first, then the rates behind them.

Reads only an :class:`ethica.fairness.AuditResult`; never the rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ethica.report._figures import (
    PAGE_WIDTH,
    chart_to_svg,
    heatmap_chart,
    interval_chart,
    line_chart,
)
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.fairness import AuditResult, DefinitionResult, Disparity, GroupMetrics

__all__ = [
    "HARM_METRICS",
    "MIN_HEADLINE_DENOMINATOR",
    "audit_section",
    "definition_sentence",
    "group_label",
    "headline_gap",
    "headline_sentence",
    "impossibility_sentence",
    "other_failures_sentence",
    "set_label",
]

#: A gap leads a headline only when each of its two rates rests on at least this many people
#: in its denominator (the group's rows for a selection rate, its actual positives for a true
#: positive rate, its positive decisions for a precision...). Below it one person moves the
#: rate by more than 3 points and the interval spans much of [0, 1]: a 61.7-point gap on 0 of
#: 3 positives says little. Such gaps stay in the tables, marked, but never lead the page.
MIN_HEADLINE_DENOMINATOR = 30

#: What each rate's denominator counts, for sentences ("rests on 3 actual positives").
DENOMINATORS = {
    "selection_rate": "people",
    "base_rate": "people",
    "accuracy": "people",
    "tpr": "actual positives",
    "fnr": "actual positives",
    "fpr": "actual negatives",
    "tnr": "actual negatives",
    "ppv": "positive decisions",
    "fdr": "positive decisions",
    "npv": "negative decisions",
    "for": "negative decisions",
}

#: The rates a reader looks at first for each harm (the first is the harm's own).
HARM_METRICS: dict[str, tuple[str, ...]] = {
    "selection": ("selection_rate", "tpr", "fpr", "ppv"),
    "false-negative": ("fnr", "tpr", "selection_rate", "ppv"),
    "false-positive": ("fpr", "fdr", "selection_rate", "tpr"),
    "calibration": ("ppv", "npv", "selection_rate", "base_rate"),
}

METRIC_TITLES = {
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
    "tnr": "true negative rate",
    "fnr": "false negative rate",
    "ppv": "precision (PPV)",
    "npv": "NPV",
    "fdr": "false discovery rate",
    "for": "false omission rate",
    "accuracy": "accuracy",
    "base_rate": "base rate",
}

TABLE_METRICS = ("selection_rate", "base_rate", "tpr", "fpr", "fnr", "ppv", "accuracy")


def set_label(attributes: Sequence[str]) -> str:
    """``("sex", "race")`` -> ``"sex × race"``."""
    return " × ".join(attributes)


def group_label(group: Sequence[str]) -> str:
    """``("Female", "Black")`` -> ``"Female × Black"``."""
    return " × ".join(group)


def _attribute_sets(result: AuditResult) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(g.attributes for g in result.groups))


def _rates_frame(
    groups: Sequence[GroupMetrics],
    metrics: Sequence[str],
    highlight: tuple[str, tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    rows = []
    for group in groups:
        for metric in metrics:
            estimate = group.metrics[metric]
            if estimate.value is None:
                continue
            rows.append(
                {
                    "metric": METRIC_TITLES[metric],
                    "group": group_label(group.group),
                    "value": estimate.value,
                    "ci_low": estimate.ci_low,
                    "ci_high": estimate.ci_high,
                    "n": group.n,
                    "judged": group.judged,
                    "highlight": highlight is not None and (metric, group.group) == highlight,
                }
            )
    return pd.DataFrame(rows)


def _rates_figure(
    result: AuditResult,
    attributes: tuple[str, ...],
    highlight: tuple[str, tuple[str, ...]] | None = None,
) -> str:
    metrics = list(HARM_METRICS[result.harm])
    if highlight is not None and highlight[0] not in metrics:
        metrics[-1] = highlight[0]
    groups = [g for g in result.groups if g.attributes == attributes]
    frame = _rates_frame(groups, metrics, highlight)
    if frame.empty:
        return ""
    overall = {METRIC_TITLES[m]: result.overall.metrics[m].value for m in metrics}
    frame["overall"] = frame["metric"].map(overall)
    chart = interval_chart(
        frame,
        facet="metric",
        category="group",
        reference="overall",
        facet_order=[METRIC_TITLES[m] for m in metrics],
        width=_facet_width(groups, len(metrics)),
    )
    return chart_to_svg(chart)


def _facet_width(groups: Sequence[GroupMetrics], facets: int) -> int:
    """Panel width that fills the page: the page less each panel's group labels."""
    longest = max((len(group_label(g.group)) for g in groups), default=10)
    labels = 5 * longest + 20
    return max(150, (PAGE_WIDTH - facets * (labels + 20)) // facets)


def _heatmap_figure(
    result: AuditResult,
    attributes: tuple[str, ...],
    metric: str,
    outlined: Sequence[tuple[str, ...]] = (),
) -> str:
    rows = [
        {
            attributes[0]: g.group[0],
            attributes[1]: g.group[1],
            "value": g.metrics[metric].value,
            "n": g.metrics[metric].denominator,
            "judged": g.judged,
            "outlined": g.group in outlined,
        }
        for g in result.groups
        if g.attributes == attributes
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return ""
    order = _single_orders(result)
    chart = heatmap_chart(
        frame,
        x=attributes[0],
        y=attributes[1],
        value_title=METRIC_TITLES[metric],
        x_order=order.get(attributes[0]),
        y_order=order.get(attributes[1]),
        n_title=DENOMINATORS.get(metric, "n"),
    )
    return chart_to_svg(chart)


def _single_orders(result: AuditResult) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for g in result.groups:
        if len(g.attributes) == 1:
            order.setdefault(g.attributes[0], []).append(g.group[0])
    return order


def _calibration_figure(result: AuditResult, attributes: tuple[str, ...]) -> str:
    rows = [
        {
            "group": group_label(g.group),
            "mean score": b.mean_score,
            "observed positive rate": b.observed.value,
            "n": b.n,
        }
        for g in result.groups
        if g.attributes == attributes and g.judged
        for b in g.calibration
        if b.mean_score is not None and b.observed.value is not None
    ]
    if not rows:
        return ""
    chart = line_chart(
        pd.DataFrame(rows),
        x="mean score",
        y="observed positive rate",
        series="group",
        width=PAGE_WIDTH // 2,
        height=300,
    )
    return chart_to_svg(chart)


def _metrics_of(result: AuditResult) -> dict[tuple[tuple[str, ...], tuple[str, ...]], GroupMetrics]:
    return {(g.attributes, g.group): g for g in result.groups}


def _denominators(result: AuditResult, d: Disparity) -> tuple[int, int]:
    groups = _metrics_of(result)
    return (
        groups[(d.attributes, d.group)].metrics[d.metric].denominator,
        groups[(d.attributes, d.reference)].metrics[d.metric].denominator,
    )


def headline_gap(result: AuditResult) -> tuple[Disparity | None, Disparity | None]:
    """The gap the headline cites, and the larger gap it passed over for its small base.

    Among the disparities (group against reference, Newcombe interval at the audit's
    confidence) on the headline definition's metrics, the largest in absolute value whose
    two rates each rest on at least :data:`MIN_HEADLINE_DENOMINATOR` people in their
    denominators: on the headline's attribute set first, else on any. The second value is
    the largest gap of the headline's attribute set that was passed over (``None`` if none).
    """
    h = result.headline()

    def candidates(same_set: bool) -> list[Disparity]:
        found = [
            d
            for d in result.disparities
            if d.metric in h.metrics
            and d.difference.value is not None
            and (d.attributes == h.attributes) == same_set
        ]
        return sorted(found, key=lambda d: -abs(d.difference.value or 0.0))

    own = candidates(True)
    passed_over = None
    for d in own:
        if min(_denominators(result, d)) >= MIN_HEADLINE_DENOMINATOR:
            return d, passed_over
        passed_over = passed_over or d
    others = [
        d for d in candidates(False) if min(_denominators(result, d)) >= MIN_HEADLINE_DENOMINATOR
    ]
    return (others[0] if others else None), passed_over


def _points(value: float) -> str:
    return f"{100 * value:+.1f}".replace("-", "−")


def _gap_text(result: AuditResult, d: Disparity) -> str:
    low, high = d.difference.ci_low, d.difference.ci_high
    n_group, n_reference = _denominators(result, d)
    noun = DENOMINATORS.get(d.metric, "people")
    interval = (
        f"{100 * result.confidence:.0f}% CI {_points(low)} to {_points(high)}"
        if low is not None and high is not None
        else "no interval"
    )
    return (
        f"{METRIC_TITLES.get(d.metric, d.metric)} of {group_label(d.group)} against "
        f"{group_label(d.reference)}: {_points(d.difference.value or 0.0)} points ({interval}; "
        f"{n_group:,} and {n_reference:,} {noun})"
    )


def headline_sentence(result: AuditResult) -> str:
    """The headline: the chosen harm's verdict, and the largest gap that rests on enough people.

    The cited gap always carries its interval and its denominators; a larger gap resting on
    fewer than :data:`MIN_HEADLINE_DENOMINATOR` people is named as too small to lead.
    """
    h = result.headline()
    if h.verdict == "not_applicable":
        return f"{h.name.replace('_', ' ').capitalize()} cannot be judged: {h.reason}"
    verdicts = {"fail": "fails", "pass": "passes", "inconclusive": "is inconclusive for"}
    sentence = (
        f"Protecting against {result.harm.replace('-', ' ')} harm: the model "
        f"{verdicts.get(h.verdict, h.verdict)} {h.name.replace('_', ' ')} by "
        f"{set_label(h.attributes)} at a tolerance of {100 * h.tolerance:.1f} points."
    )
    gap, passed_over = headline_gap(result)
    if gap is not None:
        where = "" if gap.attributes == h.attributes else f" (by {set_label(gap.attributes)})"
        sentence += f" The largest gap{where} is in {_gap_text(result, gap)}."
    if passed_over is not None:
        small = min(_denominators(result, passed_over))
        sentence += (
            f" A larger gap, {_points(passed_over.difference.value or 0.0)} points in "
            f"{METRIC_TITLES.get(passed_over.metric, passed_over.metric)} for "
            f"{group_label(passed_over.group)}, rests on only {small:,} "
            f"{DENOMINATORS.get(passed_over.metric, 'people')} (a headline needs "
            f"{MIN_HEADLINE_DENOMINATOR} on each side) and is left to the tables."
        )
    return sentence


def _worst_metric(d: DefinitionResult) -> str:
    """The metric of a definition's worst gap (``tpr`` or ``fpr`` for equalized odds), read
    from the audit's reason; for calibration, the score bin (``observed rate in score bin 3``).
    """
    if d.name == "calibration_within_groups":
        found = re.search(r"observed rate in score bin \d+", d.reason)
        return found.group(0) if found else "calibration"
    names = "|".join(re.escape(m) for m in d.metrics)
    found = re.search(rf"\b({names}) of ", d.reason)
    return found.group(1) if found else d.metrics[0]


def _worst_denominator(result: AuditResult, d: DefinitionResult) -> int | None:
    """The denominator of the worst group's rate (``None`` for calibration or no group)."""
    metric = _worst_metric(d)
    group = _metrics_of(result).get((d.attributes, d.worst_group or ()))
    if group is None or metric not in group.metrics:
        return None
    return group.metrics[metric].denominator


def other_failures_sentence(result: AuditResult) -> str:
    """The other definitions the model fails ("" if none), with a gap when it passes.

    A verdict on one definition says nothing of the others: a model that passes demographic
    parity may fail equal opportunity badly, and the reader must be told. Unless the headline
    itself fails, each failing definition is cited with its largest failing gap that rests on
    at least :data:`MIN_HEADLINE_DENOMINATOR` people.
    """
    h = result.headline()
    names = list(dict.fromkeys(d.name for d in result.definitions if d.name != h.name))
    parts = []
    for name in names:
        failing = [
            d
            for d in result.definitions
            if d.name == name and d.verdict == "fail" and d.worst_difference.value is not None
        ]
        if not failing:
            continue
        solid = [
            d
            for d in failing
            if (_worst_denominator(result, d) or MIN_HEADLINE_DENOMINATOR)
            >= MIN_HEADLINE_DENOMINATOR
        ]
        text = name.replace("_", " ")
        if solid and h.verdict != "fail":
            d = max(solid, key=lambda d: abs(d.worst_difference.value or 0.0))
            against = (
                "its mean score"
                if d.name == "calibration_within_groups"
                else group_label(result.references[d.attributes])
            )
            text += (
                f" ({METRIC_TITLES.get(_worst_metric(d), _worst_metric(d))} of "
                f"{group_label(d.worst_group or ())} against {against}: "
                f"{_points(d.worst_difference.value or 0.0)} points)"
            )
        parts.append(text)
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    if h.verdict == "fail":
        return f"It also fails {listed}."
    verb = "passes" if h.verdict == "pass" else "is inconclusive for"
    return f"It {verb} {h.name.replace('_', ' ')} but fails {listed}."


def impossibility_sentence(result: AuditResult) -> str:
    """Why no model meets every definition here: the base rates differ (cited results)."""
    h = result.headline()
    rates = [
        (group_label(g.group), g.metrics["base_rate"].value)
        for g in result.groups
        if g.attributes == h.attributes and g.judged and g.metrics["base_rate"].value is not None
    ]
    if len(rates) < 2:
        return ""
    low = min(rates, key=lambda r: r[1] or 0.0)
    high = max(rates, key=lambda r: r[1] or 0.0)
    return (
        f"No model can meet every definition at once here: the base rates differ ({high[0]} "
        f"{100 * (high[1] or 0.0):.1f}%, {low[0]} {100 * (low[1] or 0.0):.1f}% positive), and "
        "with unequal base rates equal predictive values rule out equal false positive and "
        "false negative rates (Chouldechova 2017), while calibration within groups rules out "
        "balanced error rates (Kleinberg, Mullainathan & Raghavan 2016), short of a perfect "
        "predictor; so equalising selection rates pulls the true positive rates or the "
        "precision apart. Which definition to meet is a choice, not a technicality."
    )


def _undefined_part(reason: str) -> str:
    marker = "; undefined: "
    return f"; undefined: {reason.split(marker, 1)[1]}" if marker in reason else ""


def definition_sentence(result: AuditResult, d: DefinitionResult) -> str:
    """Why a definition got its verdict, in words (no internal names or levels)."""
    value = d.worst_difference.value
    if d.worst_group is None or value is None:
        return d.reason
    raw_metric = _worst_metric(d)
    metric = METRIC_TITLES.get(raw_metric, raw_metric)
    calibration = d.name == "calibration_within_groups"
    against = "its mean score" if calibration else group_label(result.references[d.attributes])
    low, high = d.worst_difference.ci_low, d.worst_difference.ci_high
    gap = (
        f"{metric} of {group_label(d.worst_group)} differs from {against} by "
        f"{_points(value)} points"
    )
    if low is not None and high is not None:
        gap += f" [{_points(low)}, {_points(high)}]"
    tolerance = f"±{100 * d.tolerance:g} points"
    small = ""
    if not calibration and raw_metric in DENOMINATORS:
        group = _metrics_of(result).get((d.attributes, d.worst_group))
        if group is not None and group.metrics[raw_metric].denominator < MIN_HEADLINE_DENOMINATOR:
            small = (
                f"; rests on only {group.metrics[raw_metric].denominator:,} "
                f"{DENOMINATORS[raw_metric]}"
            )
    if d.verdict == "fail":
        return f"{gap}, wholly beyond {tolerance}{small}."
    if d.verdict == "pass":
        return f"Every group lies within {tolerance}; the largest: {gap}."
    return f"{gap}: the interval crosses {tolerance}{small}{_undefined_part(d.reason)}."


def audit_section(
    result: AuditResult, *, section_id: str = "audit", title: str = "Fairness audit"
) -> Section:
    """The report section for one audit: headline verdict, definitions, disparities, figures."""
    headline = result.headline()
    gap, _ = headline_gap(result)
    highlight = None if gap is None else (METRIC_TITLES[gap.metric], gap.group)
    attribute_sets = _attribute_sets(result)
    figures = []
    for attributes in attribute_sets:
        mark = highlight if gap is not None and gap.attributes == attributes else None
        svg = _rates_figure(
            result, attributes, None if gap is None or mark is None else (gap.metric, gap.group)
        )
        if svg:
            ring = (
                f" (ringed: {group_label(gap.group)}, the headline's gap)"
                if mark is not None and gap is not None
                else ""
            )
            figures.append(
                {
                    "title": f"Rates by {set_label(attributes)}, with "
                    f"{100 * result.confidence:.0f}% confidence intervals{ring}",
                    "svg": svg,
                }
            )
    heat_metric = gap.metric if gap is not None else HARM_METRICS[result.harm][0]
    for attributes in attribute_sets:
        if len(attributes) == 2:
            outlined = (
                (gap.group, gap.reference)
                if gap is not None and gap.attributes == attributes
                else ()
            )
            note = (
                f"; outlined: {group_label(gap.group)} and {group_label(gap.reference)}, the "
                "headline's gap"
                if outlined and gap is not None
                else ""
            )
            figures.append(
                {
                    "title": f"{METRIC_TITLES[heat_metric].capitalize()} by "
                    f"{set_label(attributes)} (grey: too small to judge{note})",
                    "svg": _heatmap_figure(result, attributes, heat_metric, outlined),
                }
            )
    if result.harm == "calibration" or any(g.calibration for g in result.groups):
        for attributes in attribute_sets:
            if len(attributes) == 1:
                svg = _calibration_figure(result, attributes)
                if svg:
                    figures.append({"title": f"Calibration by {set_label(attributes)}", "svg": svg})
    group_tables = [
        {
            "label": set_label(attributes),
            "groups": [g for g in result.groups if g.attributes == attributes],
        }
        for attributes in attribute_sets
    ]
    definition_tables = [
        {
            "label": set_label(attributes),
            "open": attributes == headline.attributes,
            "counts": _verdict_counts(
                [d for d in result.definitions if d.attributes == attributes]
            ),
            "rows": [
                {"d": d, "why": definition_sentence(result, d)}
                for d in result.definitions
                if d.attributes == attributes
            ],
        }
        for attributes in attribute_sets
    ]
    html = render_template(
        "audit.html.j2",
        result=result,
        headline=headline,
        headline_why=definition_sentence(result, headline),
        definition_tables=definition_tables,
        disparities=result.worst_disparities(12),
        small_base=_small_base(result),
        min_denominator=MIN_HEADLINE_DENOMINATOR,
        figures=[f for f in figures if f["svg"]],
        group_tables=group_tables,
        table_metrics=TABLE_METRICS,
        metric_titles=METRIC_TITLES,
        set_label=set_label,
        group_label=group_label,
    )
    lead = " ".join(
        part
        for part in (
            headline_sentence(result),
            other_failures_sentence(result),
            impossibility_sentence(result)
            if headline.verdict == "pass" and other_failures_sentence(result)
            else "",
        )
        if part
    )
    return Section(id=section_id, title=title, html=html, lead=lead)


def _verdict_counts(definitions: Sequence[DefinitionResult]) -> str:
    counts: dict[str, int] = {}
    for d in definitions:
        counts[d.verdict] = counts.get(d.verdict, 0) + 1
    order = ("fail", "inconclusive", "pass", "not_applicable")
    return ", ".join(f"{counts[v]} {v.replace('_', ' ')}" for v in order if v in counts)


def _small_base(result: AuditResult) -> set[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    """(attributes, metric, group) of disparities with a rate on too few people."""
    return {
        (d.attributes, d.metric, d.group)
        for d in result.disparities
        if min(_denominators(result, d)) < MIN_HEADLINE_DENOMINATOR
    }
