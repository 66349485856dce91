"""Report sections of fair learning: the frontier plot and table, the proxies bars."""

from __future__ import annotations

import re

import pytest

from ethica.fairness import FrontierPoint, FrontierResult, ProxyFeature, ProxyResult
from ethica.report import Report, frontier_section, proxies_section
from ethica.report._figures import JUDGED, REFERENCE, TOO_SMALL

POINTS = (
    # bound, error, disparity, train error, train disparity, dominated
    FrontierPoint(0.0, 0.20, 0.01, 0.19, 0.00, False),
    FrontierPoint(0.05, 0.18, 0.06, 0.17, 0.05, False),
    FrontierPoint(0.10, 0.19, 0.09, 0.16, 0.10, True),
    FrontierPoint(0.15, 0.21, 0.12, 0.16, 0.14, True),
    FrontierPoint(0.20, 0.15, 0.20, 0.14, 0.20, False),
)


def frontier_result(chosen: int = 1, target: float = 0.08) -> FrontierResult:
    return FrontierResult(
        constraint="demographic_parity",
        points=POINTS,
        hypervolume=0.7321,
        reference=(1.0, 1.0),
        chosen=chosen,
        target_disparity=target,
        models=(),
    )


def _fills(svg: str, colour: str) -> int:
    return len(re.findall(f'fill="{colour}"', svg, flags=re.IGNORECASE))


def test_frontier_plot_greys_dominated_points_and_marks_the_chosen_one() -> None:
    section = frontier_section(frontier_result())
    svg = section.html[section.html.index("<svg") : section.html.index("</svg>")]
    # one legend symbol per status, plus the points themselves
    assert _fills(svg, TOO_SMALL) == 1 + 2
    assert _fills(svg, REFERENCE) == 1 + 1
    assert _fills(svg, JUDGED) == 1 + 2
    assert "demographic parity difference (held out)" in svg and "error rate" in svg
    assert "Hypervolume 0.7321" in section.html
    rows = re.findall(r"<tr( class=\"muted\")?><td class=\"num\">([0-9.]+)</td>", section.html)
    assert [bound for muted, bound in rows if muted] == ["0.1000", "0.1500"]
    assert section.html.count("<strong>chosen</strong>") == 1


def test_frontier_lead_states_the_price_of_the_choice() -> None:
    lead = frontier_section(frontier_result()).lead
    assert "at most 0.080" in lead and "bound 0.050" in lead
    assert "error 18.0%" in lead and "15.0%" in lead
    assert "costs 3.0 points of error" in lead and "Hypervolume" not in lead
    missed = frontier_section(frontier_result(chosen=0, target=0.001)).lead
    assert "no model reached disparity 0.001" in missed


def proxy_result(proxies: tuple[ProxyFeature, ...]) -> ProxyResult:
    return ProxyResult(
        constraint="demographic_parity",
        protected=("sex",),
        disparity_with=0.177,
        disparity_without=0.168,
        error_with=0.148,
        error_without=0.149,
        protected_auc=0.93,
        proxies=proxies,
    )


def test_proxies_section_ranks_features_in_a_bar_chart() -> None:
    ranked = (
        ProxyFeature("relationship", 0.86),
        ProxyFeature("marital_status", 0.76),
        ProxyFeature("occupation", 0.75),
    )
    section = proxies_section(proxy_result(ranked))
    html = section.html
    assert html.count("<svg") == 2
    bars = html[html.rindex("<svg") :]
    # bars drawn in rank order, with the chance line at 0.5
    assert bars.index("relationship") < bars.index("marital_status") < bars.index("occupation")
    assert _fills(bars, JUDGED) == 3
    assert "trained without sex" in html and "0.168" in html and "0.930" in html
    assert section.lead.startswith("Dropping sex leaves a demographic parity difference of 0.168")
    assert "relationship (AUC 0.86)" in section.lead


def test_proxies_section_without_proxies_has_one_figure() -> None:
    section = proxies_section(proxy_result(()))
    assert section.html.count("<svg") == 1 and "strongest" not in section.lead


@pytest.mark.parametrize(
    "build",
    [lambda: frontier_section(frontier_result()), lambda: proxies_section(proxy_result(()))],
)
def test_sections_render_in_a_page(build: object) -> None:
    section = build()  # type: ignore[operator]
    page = Report("t").with_section(section).render()
    assert f'id="{section.id}"' in page and page.startswith("<!doctype html>")
