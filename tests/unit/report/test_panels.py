"""The generic figure/table section: what a workflow states is what the page shows, escaped."""

from __future__ import annotations

import re

from ethica.report import Report, Section
from ethica.report._panels import Panel, panels_html, panels_section


def test_a_panel_shows_its_figure_table_and_notes_in_order() -> None:
    svg = '<svg width="10"><rect width="5" height="5"/></svg>'
    html = panels_html(
        [
            Panel(
                figure=svg, caption="error by size", columns=["band", "cells"], rows=[("1-9", "12")]
            ),
            Panel(notes=["second panel"]),
        ],
        headline="all cells add up",
    )
    assert svg in html  # trusted SVG kept as markup
    order = [html.index(s) for s in ("all cells add up", "<svg", "error by size", "<th", "1-9")]
    assert order == sorted(order)
    assert html.index("1-9") < html.index("second panel")
    assert re.search(r'<th class="num">cells</th>', html)  # numbers right-aligned, not the label
    assert "<th>band</th>" in html


def test_text_is_escaped_and_empty_parts_are_left_out() -> None:
    html = panels_html([Panel(notes=["x < y & <b>z</b>"])])
    assert "x &lt; y &amp; &lt;b&gt;z&lt;/b&gt;" in html
    assert "<table" not in html and '<div class="figure"' not in html and "<strong>" not in html


def test_a_section_carries_its_appendix_after_the_panels() -> None:
    appendix = Section(id="inner", title="inner", html="<p>the release's own table</p>")
    section = panels_section(
        section_id="outer",
        title="Outer",
        lead="lead text",
        panels=[Panel(columns=["a"], rows=[("1",)])],
        appendix=[appendix],
    )
    assert (section.id, section.title, section.lead) == ("outer", "Outer", "lead text")
    assert section.html.index("<table") < section.html.index("the release's own table")
    page = Report("t", "", (section,)).render()
    assert "the release&#39;s own table" not in page and "the release's own table" in page


def test_the_release_and_attack_demos_write_no_markup() -> None:
    """The workflows state results; the report's template writes every tag (issue 15)."""
    import inspect

    from ethica.workflows import _demo_attacks, _demo_release

    for module in (_demo_release, _demo_attacks):
        source = inspect.getsource(module)
        assert not re.search(r"<(p|table|div|strong|ul|li|tr|td)\b", source), module.__name__
        assert "render_template" not in source and ".html.j2" not in source, module.__name__
