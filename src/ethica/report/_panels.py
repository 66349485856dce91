"""Generic report sections: panels of a figure, a table and notes.

A workflow that computes results states *what* to show as :class:`Panel` values (an inline
SVG figure with its caption, a table of already formatted cells, notes) and asks
:func:`panels_section` for the :class:`~ethica.report.Section`; the markup lives in one
template (``figures.html.j2``), escaped by Jinja, so no workflow writes HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ethica.report._page import Section, render_template

__all__ = ["Panel", "panels_html", "panels_section"]


@dataclass(frozen=True)
class Panel:
    """One block of a section, each part optional.

    Attributes
    ----------
    figure
        Inline SVG (trusted markup from :func:`ethica.report._figures.chart_to_svg`); ``""``
        for none.
    caption
        The figure's caption (escaped).
    columns
        Table header (escaped); no table when empty. Every column after the first is
        right-aligned as a number.
    rows
        Table cells, already formatted as text (escaped).
    notes
        Bulleted notes under the panel (escaped).
    """

    figure: str = ""
    caption: str = ""
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    notes: Sequence[str] = ()


def panels_html(
    panels: Sequence[Panel], *, headline: str = "", appendix: Sequence[Section] = ()
) -> str:
    """The markup of ``panels`` in order, after a bold ``headline`` and followed by the
    ``appendix`` sections' bodies (e.g. a release's own table view)."""
    return render_template(
        "figures.html.j2", headline=headline, panels=list(panels), appendix=list(appendix)
    )


def panels_section(
    *,
    section_id: str,
    title: str,
    lead: str,
    panels: Sequence[Panel],
    headline: str = "",
    appendix: Sequence[Section] = (),
) -> Section:
    """A :class:`~ethica.report.Section` made of ``panels`` (see :func:`panels_html`)."""
    html = panels_html(panels, headline=headline, appendix=appendix)
    return Section(id=section_id, title=title, html=html, lead=lead)
