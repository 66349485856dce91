"""The report page: sections in order, escaped text, nothing fetched from a network."""

from __future__ import annotations

import re

from ethica.report import Report, Section


def test_sections_render_in_order_with_navigation() -> None:
    report = (
        Report("Title <of> report", "sub")
        .with_section(Section(id="one", title="First", html="<p>1</p>", lead="lead & more"))
        .with_section(Section(id="two", title="Second", html="<p>2</p>"))
    )
    page = report.render()
    assert page.index('id="one"') < page.index('id="two"')
    assert 'href="#two"' in page
    assert "Title &lt;of&gt; report" in page and "lead &amp; more" in page


def test_adding_a_section_returns_a_new_report() -> None:
    empty = Report("t")
    assert empty.with_section(Section(id="a", title="A", html="")) is not empty
    assert empty.sections == ()


def test_page_references_no_external_resource() -> None:
    page = Report("t").with_section(Section(id="a", title="A", html="<p>x</p>")).render()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
