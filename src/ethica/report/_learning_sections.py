"""Report sections of fair learning: the price of fairness (frontier) and unawareness (proxies).

Read only the result objects (:class:`ethica.fairness.FrontierResult`,
:class:`ethica.fairness.ProxyResult`); never the rows or the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ethica.report._figures import bar_chart, chart_to_svg, frontier_chart
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.fairness import FrontierResult, ProxyResult

__all__ = ["frontier_section", "frontier_sentence", "proxies_section", "proxies_sentence"]


def _constraint_title(name: str) -> str:
    return name.replace("-", " ")


def _status(result: FrontierResult, index: int) -> str:
    if index == result.chosen:
        return "chosen"
    return "dominated" if result.points[index].dominated else "on the frontier"


def frontier_sentence(result: FrontierResult) -> str:
    """The chosen point and what it costs, against the most accurate point swept."""
    chosen = result.points[result.chosen]
    cheapest = min(result.points, key=lambda p: p.error)
    within = chosen.disparity <= result.target_disparity
    why = (
        f"the most accurate undominated model with held-out disparity at most "
        f"{result.target_disparity:.3f}"
        if within
        else f"no model reached disparity {result.target_disparity:.3f}, so the least disparate one"
    )
    return (
        f"Chosen: {why} (bound {chosen.bound:.3f}): error {100 * chosen.error:.1f}% and "
        f"{_constraint_title(result.constraint)} difference {chosen.disparity:.3f}, against "
        f"{100 * cheapest.error:.1f}% and {cheapest.disparity:.3f} for the most accurate "
        f"model swept — fairness costs {100 * (chosen.error - cheapest.error):.1f} points of "
        f"error here. Hypervolume {result.hypervolume:.4f} (reference error "
        f"{result.reference[0]:g}, disparity {result.reference[1]:g})."
    )


def frontier_section(
    result: FrontierResult, *, section_id: str = "frontier", title: str = "The price of fairness"
) -> Section:
    """The frontier plot (error against disparity), the swept points, and the choice."""
    rows = [
        {"bound": p.bound, "disparity": p.disparity, "error": p.error, "status": _status(result, i)}
        for i, p in enumerate(result.points)
    ]
    measure = f"{_constraint_title(result.constraint)} difference (held out)"
    svg = chart_to_svg(
        frontier_chart(
            pd.DataFrame(rows),
            x="disparity",
            y="error",
            x_title=measure,
            y_title="error rate (held out)",
        )
    )
    html = render_template(
        "frontier.html.j2",
        result=result,
        svg=svg,
        statuses=[row["status"] for row in rows],
        constraint=_constraint_title(result.constraint),
    )
    return Section(id=section_id, title=title, html=html, lead=frontier_sentence(result))


def proxies_sentence(result: ProxyResult) -> str:
    """What dropping the protected attribute left, and why."""
    protected = ", ".join(result.protected)
    strongest = (
        f"; the strongest single proxy is {result.proxies[0].feature} (AUC "
        f"{result.proxies[0].auc:.2f})"
        if result.proxies
        else ""
    )
    return (
        f"Dropping {protected} leaves a {_constraint_title(result.constraint)} difference of "
        f"{result.disparity_without:.3f} ({result.disparity_with:.3f} with it): the other "
        f"features predict {protected} with AUC {result.protected_auc:.2f}{strongest}."
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
    figures = [
        {
            "title": f"{constraint.capitalize()} difference on held-out rows, with and without "
            f"{protected}",
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
    )
    return Section(id=section_id, title=title, html=html, lead=proxies_sentence(result))
