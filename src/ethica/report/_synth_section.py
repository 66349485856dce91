"""The report section for a synthetic copy: its report card (workload error, utility,
fairness fidelity, privacy evidence). Reads only a
:class:`ethica.privacy.synth._report.SynthReport`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.privacy.synth._report import SynthReport

__all__ = ["curve_svg", "synth_section", "synth_section_html"]


def _budget_text(budget: Mapping[str, Any]) -> str:
    kind = budget.get("kind", "")
    if "epsilon" in budget:
        delta = budget.get("delta")
        return f"ε = {float(Fraction(str(budget['epsilon']))):g}" + (
            f", δ = {float(Fraction(str(delta))):g}" if delta else ""
        )
    if "rho" in budget:
        return f"ρ = {float(Fraction(str(budget['rho']))):g} (zCDP)"
    return str(kind)


def curve_svg(curve: Sequence[Mapping[str, Any]]) -> str:
    """Workload error (mean total variation of the 2-way, and 3-way if scored, marginals)
    against ε, log-scaled ε axis, as an inline SVG (Altair, rendered offline)."""
    import pandas as pd

    from ethica.report._figures import chart_to_svg, line_chart

    rows = [
        {"epsilon": float(c["epsilon"]), "marginals": f"{k}-way", "tv": float(c[f"tv{k}"])}
        for c in curve
        for k in (2, 3)
        if c.get(f"tv{k}") is not None
    ]
    chart = line_chart(
        pd.DataFrame(rows),
        x="epsilon",
        y="tv",
        series="marginals",
        x_title="ε (privacy budget, log scale)",
        y_title="mean total variation, real vs synthetic",
        x_log=True,
    )
    return chart_to_svg(chart)


def synth_section_html(
    report: SynthReport, curve: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """The report card as trusted HTML."""
    data = report.to_dict()
    orders = sorted({int(k[0]) for k in data["workload_error"] if k.endswith("way_mean")})
    return render_template(
        "synth.html.j2",
        curve_svg=curve_svg(curve) if curve else "",
        report=report,
        method=report.method,
        budget_text=_budget_text(report.budget),
        orders=orders,
        curve=list(curve or []),
        ml=data["ml_utility"],
        fairness=data["fairness"],
        privacy=data["privacy"],
    )


def synth_section(
    report: SynthReport,
    *,
    curve: Sequence[Mapping[str, Any]] | None = None,
    section_id: str = "synthetic",
    title: str = "A safe copy of the data",
) -> Section:
    """A report :class:`~ethica.report._page.Section` for the card (and an optional
    ``curve`` of ``{"epsilon", "tv2", "tv3"}`` rows: workload error against ε)."""
    w = report.workload_error
    lead = (
        f"Synthetic rows from {report.method.upper()}: mean 2-way total variation "
        f"{w.get('2way_mean', float('nan')):.3f} from the real marginals."
    )
    return Section(id=section_id, title=title, html=synth_section_html(report, curve), lead=lead)
