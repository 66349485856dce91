"""Self-contained HTML reports rendered from ethica's result objects.

A :class:`Report` is a page of :class:`Section` objects; each part of ethica
contributes its section (``audit_section`` for a fairness audit). Figures are
Vega-Lite charts rendered to inline SVG: the page needs no network.
"""

from __future__ import annotations

from ethica.report._attacks_section import (
    census_section,
    membership_section,
    reconstruction_section,
)
from ethica.report._audit_section import audit_section
from ethica.report._learning_sections import frontier_section, proxies_section
from ethica.report._page import Report, Section
from ethica.report._stream_section import stream_section

__all__ = ["Report", "Section", "audit_section"]
__all__ += ["census_section", "membership_section", "reconstruction_section"]
__all__ += ["frontier_section", "proxies_section", "stream_section"]
