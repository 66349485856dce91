"""The audit's report section: verdicts first, then the rates behind them.

Reads only an :class:`ethica.fairness.AuditResult`; never the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ethica.report._figures import chart_to_svg, heatmap_chart, interval_chart, line_chart
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.fairness import AuditResult, GroupMetrics

__all__ = ["HARM_METRICS", "audit_section", "group_label", "set_label"]

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


def _rates_frame(groups: Sequence[GroupMetrics], metrics: Sequence[str]) -> pd.DataFrame:
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
                }
            )
    return pd.DataFrame(rows)


def _rates_figure(result: AuditResult, attributes: tuple[str, ...]) -> str:
    metrics = HARM_METRICS[result.harm]
    groups = [g for g in result.groups if g.attributes == attributes]
    frame = _rates_frame(groups, metrics)
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
        width=170,
    )
    return chart_to_svg(chart)


def _heatmap_figure(result: AuditResult, attributes: tuple[str, ...], metric: str) -> str:
    rows = [
        {
            attributes[0]: g.group[0],
            attributes[1]: g.group[1],
            "value": g.metrics[metric].value,
            "n": g.n,
            "judged": g.judged,
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
        width=320,
        height=260,
    )
    return chart_to_svg(chart)


def audit_section(
    result: AuditResult, *, section_id: str = "audit", title: str = "Fairness audit"
) -> Section:
    """The report section for one audit: headline verdict, definitions, disparities, figures."""
    headline = result.headline()
    attribute_sets = _attribute_sets(result)
    figures = []
    for attributes in attribute_sets:
        svg = _rates_figure(result, attributes)
        if svg:
            figures.append(
                {
                    "title": f"Rates by {set_label(attributes)}, with 95% confidence intervals",
                    "svg": svg,
                }
            )
    harm_metric = HARM_METRICS[result.harm][0]
    for attributes in attribute_sets:
        if len(attributes) == 2:
            figures.append(
                {
                    "title": f"{METRIC_TITLES[harm_metric].capitalize()} by "
                    f"{set_label(attributes)} (grey: too small to judge)",
                    "svg": _heatmap_figure(result, attributes, harm_metric),
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
    html = render_template(
        "audit.html.j2",
        result=result,
        headline=headline,
        disparities=result.worst_disparities(12),
        figures=[f for f in figures if f["svg"]],
        group_tables=group_tables,
        table_metrics=TABLE_METRICS,
        metric_titles=METRIC_TITLES,
        set_label=set_label,
        group_label=group_label,
    )
    return Section(id=section_id, title=title, html=html, lead=headline_sentence(result))


def headline_sentence(result: AuditResult) -> str:
    """One sentence that leads with the harm the auditor chose to protect against."""
    h = result.headline()
    metric = " and ".join(METRIC_TITLES.get(m, m) for m in h.metrics)
    where = set_label(h.attributes)
    worst = h.worst_difference
    if h.verdict == "not_applicable":
        return f"{h.name.replace('_', ' ').capitalize()} cannot be judged: {h.reason}"
    gap = ""
    if worst.value is not None:
        gap = f" The largest gap in {metric} by {where} is {100 * abs(worst.value):.1f} points"
        if h.worst_group:
            gap += f" ({group_label(h.worst_group)})"
        low, high = worst.ci_low, worst.ci_high
        if low is not None and high is not None and low * high > 0:
            low, high = sorted((abs(low), abs(high)))
            gap += f", {100 * result.confidence:.0f}% CI {100 * low:.1f}–{100 * high:.1f}"
        gap += "."
    verdicts = {
        "fail": "fails",
        "pass": "passes",
        "inconclusive": "is inconclusive for",
    }
    return (
        f"Protecting against {result.harm.replace('-', ' ')} harm: the model "
        f"{verdicts.get(h.verdict, h.verdict)} {h.name.replace('_', ' ')} "
        f"at a tolerance of {100 * h.tolerance:.1f} points.{gap}"
    )
