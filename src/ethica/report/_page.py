"""A report: one self-contained HTML page made of sections.

Every part of ethica that has something to show (the audit, a DP release, the
frontier, an attack) contributes a :class:`Section`; :class:`Report` lays them
out on one page with inline CSS and inline SVG figures, so the file renders with
no network access and no JavaScript.
"""

from __future__ import annotations

import datetime as _dt
import numbers
from dataclasses import dataclass, field
from functools import cache
from typing import SupportsFloat

import jinja2

__all__ = ["Report", "Section", "render_template"]


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("ethica.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["pct"] = _percent
    environment.filters["num"] = _number
    return environment


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _number(value: SupportsFloat | None, digits: int = 3) -> str:
    """Integers (Python or numpy) with thousands separators; floats to ``digits`` decimals
    (``digits=0``: a whole number, also with separators)."""
    if value is None:
        return "–"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{int(value):,}"
    if digits == 0:
        return f"{float(value):,.0f}"
    return f"{float(value):.{digits}f}"


def render_template(name: str, **context: object) -> str:
    """Render one of the package's templates with ``context``."""
    return _environment().get_template(name).render(**context)


@dataclass(frozen=True)
class Section:
    """One titled part of a report; ``html`` is trusted markup made by ethica's templates."""

    id: str
    title: str
    html: str
    lead: str = ""


@dataclass(frozen=True)
class Report:
    """A page of sections; :meth:`render` returns the whole HTML document."""

    title: str
    subtitle: str = ""
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def with_section(self, section: Section) -> Report:
        """A new report with ``section`` appended (reports are immutable)."""
        return Report(self.title, self.subtitle, (*self.sections, section))

    def render(self, *, generated: _dt.datetime | None = None) -> str:
        """The page as one HTML string with inline CSS and figures."""
        from ethica import __version__

        stamp = (generated or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
        return render_template(
            "page.html.j2",
            title=self.title,
            subtitle=self.subtitle,
            sections=self.sections,
            version=__version__,
            generated=stamp,
        )
