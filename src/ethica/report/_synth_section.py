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

__all__ = ["synth_section", "synth_section_html"]


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


def synth_section_html(
    report: SynthReport, curve: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """The report card as trusted HTML."""
    data = report.to_dict()
    orders = sorted({int(k[0]) for k in data["workload_error"] if k.endswith("way_mean")})
    return render_template(
        "synth.html.j2",
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
