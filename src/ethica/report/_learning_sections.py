"""Report sections of fair learning: the price of fairness (frontier) and unawareness (proxies).

Read only the result objects (:class:`ethica.fairness.FrontierResult`,
:class:`ethica.fairness.ProxyResult`); never the rows or the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ethica.fairness._registry import title
from ethica.report._figures import bar_chart, chart_to_svg, frontier_chart
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.fairness import AuditResult, FrontierResult, ProxyResult

__all__ = [
    "chosen_model_sentence",
    "frontier_section",
    "frontier_sentence",
    "hypervolume_sentence",
    "proxies_section",
    "proxies_sentence",
]


def _constraint_title(name: str) -> str:
    return title(name)


def _status(result: FrontierResult, index: int) -> str:
    if index == result.chosen:
        return "chosen"
    return "dominated" if result.points[index].dominated else "on the frontier"


def _interval(bounds: tuple[float, float] | None, scale: float = 1.0, digits: int = 3) -> str:
    if bounds is None:
        return ""
    low, high = (scale * b for b in bounds)
    return f" ({low:.{digits}f} to {high:.{digits}f})"


def frontier_sentence(result: FrontierResult) -> str:
    """The chosen point and what it costs, against the most accurate point swept.

    Each held-out figure carries its interval at the result's confidence (the test set is a
    sample of the population the model will meet).
    """
    chosen = result.points[result.chosen]
    cheapest = min(result.points, key=lambda p: p.error)
    within = chosen.disparity <= result.target_disparity
    why = (
        f"the most accurate undominated model with held-out disparity at most "
        f"{result.target_disparity:.3f}"
        if within
        else f"no model reached disparity {result.target_disparity:.3f}, so the least disparate one"
    )
    brackets = (
        f" (in brackets: {100 * result.confidence:.0f}% intervals over the {result.n_test:,} "
        "held-out rows)"
        if chosen.error_interval is not None and result.n_test
        else ""
    )
    return (
        f"Chosen: {why} (bound {chosen.bound:.3f}): error {100 * chosen.error:.1f}%"
        f"{_interval(chosen.error_interval, 100, 1)} and "
        f"{_constraint_title(result.constraint)} difference {chosen.disparity:.3f}"
        f"{_interval(chosen.disparity_interval)}, against {100 * cheapest.error:.1f}% and "
        f"{cheapest.disparity:.3f}{_interval(cheapest.disparity_interval)} for the most "
        f"accurate model swept — fairness costs {100 * (chosen.error - cheapest.error):.1f} "
        f"points of error here{brackets}."
    )


def hypervolume_sentence(result: FrontierResult) -> str:
    """The hypervolume in one sentence a reader can use."""
    error, disparity = result.reference
    return (
        f"Hypervolume {result.hypervolume:.4f}: the share of the box of error up to {error:g} "
        f"and difference up to {disparity:g} that some model swept beats on both counts (1 "
        "would be a model with no error and no difference); it compares sweeps, not models."
    )


def chosen_model_sentence(result: FrontierResult, audit: AuditResult) -> str:
    """What the chosen model meets and fails on held-out rows, every definition considered."""
    from ethica.report._audit_section import impossibility_sentence, other_failures_sentence

    others = other_failures_sentence(audit)
    if not others:
        return ""
    told = others.removeprefix("It ")
    return f"On the held-out rows the chosen model {told} {impossibility_sentence(audit)}".strip()


def frontier_section(
    result: FrontierResult,
    *,
    section_id: str = "frontier",
    title: str = "The price of fairness",
    chosen_audit: AuditResult | None = None,
) -> Section:
    """The frontier plot (error against disparity, with intervals), the points, and the choice.

    With ``chosen_audit`` (the audit of the chosen model's held-out decisions, e.g.
    ``ethica.workflows._learning.audit_model``), the section also tells every definition's
    verdict for the chosen model, and why no model meets them all (impossibility results).
    """
    rows = [
        {
            "bound": p.bound,
            "disparity": p.disparity,
            "error": p.error,
            "status": _status(result, i),
            **(
                {"x_low": p.disparity_interval[0], "x_high": p.disparity_interval[1]}
                if p.disparity_interval is not None
                else {}
            ),
            **(
                {"y_low": p.error_interval[0], "y_high": p.error_interval[1]}
                if p.error_interval is not None
                else {}
            ),
        }
        for i, p in enumerate(result.points)
    ]
    measure = f"{_constraint_title(result.constraint)} difference (held out)"
    frame = pd.DataFrame(rows)
    if frame.isna().any().any():  # intervals on some points only: draw none
        frame = frame[["bound", "disparity", "error", "status"]]
    svg = chart_to_svg(
        frontier_chart(
            frame,
            x="disparity",
            y="error",
            x_title=measure,
            y_title="error rate (held out)",
        )
    )
    definitions = []
    if chosen_audit is not None:
        from ethica.report._audit_section import definition_sentence

        definitions = [
            {"d": d, "why": definition_sentence(chosen_audit, d)} for d in chosen_audit.definitions
        ]
    html = render_template(
        "frontier.html.j2",
        result=result,
        svg=svg,
        statuses=[row["status"] for row in rows],
        constraint=_constraint_title(result.constraint),
        hypervolume=hypervolume_sentence(result),
        definitions=definitions,
        impossibility=("" if chosen_audit is None else chosen_model_sentence(result, chosen_audit)),
        level=f"{100 * result.confidence:.0f}%",
    )
    lead = frontier_sentence(result)
    if chosen_audit is not None:
        lead = f"{lead} {chosen_model_sentence(result, chosen_audit)}".strip()
    return Section(id=section_id, title=title, html=html, lead=lead)


def proxies_sentence(result: ProxyResult) -> str:
    """What dropping the protected attribute left, and why."""
    protected = ", ".join(result.protected)
    strongest = (
        f"; the strongest single proxy is {result.proxies[0].feature} (AUC "
        f"{result.proxies[0].auc:.2f})"
        if result.proxies
        else ""
    )
    level = (
        ""
        if result.disparity_with_interval is None
        else f" ({100 * result.confidence:.0f}% intervals)"
    )
    return (
        f"Dropping {protected} leaves a {_constraint_title(result.constraint)} difference of "
        f"{result.disparity_without:.3f}{_interval(result.disparity_without_interval)}, against "
        f"{result.disparity_with:.3f}{_interval(result.disparity_with_interval)} with it{level}"
        f": the other features predict {protected} with AUC {result.protected_auc:.2f}{strongest}."
    )


def proxies_section(
    result: ProxyResult,
    *,
    section_id: str = "proxies",
    title: str = "Unawareness is no guarantee",
) -> Section:
    """Disparity with and without the protected attribute, and its proxies ranked by AUC."""
    constraint = _constraint_title(result.constraint)
    protected = ", ".join(result.protected)
    comparison = pd.DataFrame(
        {
            "model": [f"with {protected}", f"without {protected}"],
            "disparity": [result.disparity_with, result.disparity_without],
        }
    )
    intervals = (result.disparity_with_interval, result.disparity_without_interval)
    if all(i is not None for i in intervals):
        comparison["low"] = [i[0] for i in intervals if i is not None]
        comparison["high"] = [i[1] for i in intervals if i is not None]
    figures = [
        {
            "title": f"{constraint.capitalize()} difference on held-out rows, with and without "
            f"{protected}"
            + (
                f" (orange: {100 * result.confidence:.0f}% intervals)"
                if "low" in comparison.columns
                else ""
            ),
            "svg": chart_to_svg(
                bar_chart(
                    comparison,
                    category="model",
                    value="disparity",
                    value_title=f"{constraint} difference",
                )
            ),
        }
    ]
    if result.proxies:
        ranked = pd.DataFrame(
            {"feature": [p.feature for p in result.proxies], "AUC": [p.auc for p in result.proxies]}
        )
        figures.append(
            {
                "title": f"How well each feature alone predicts {protected} (held-out AUC; dashed: "
                "chance, 0.5)",
                "svg": chart_to_svg(
                    bar_chart(
                        ranked, category="feature", value="AUC", reference=0.5, domain=(0.0, 1.0)
                    )
                ),
            }
        )
    html = render_template(
        "proxies.html.j2",
        result=result,
        figures=figures,
        constraint=constraint,
        protected=protected,
        level=f"{100 * result.confidence:.0f}%",
    )
    return Section(id=section_id, title=title, html=html, lead=proxies_sentence(result))
