"""The report tells the truth about the numbers: every definition, solid headlines, plain words."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import ethica
from ethica.fairness import AuditResult, FrontierPoint, FrontierResult
from ethica.privacy import Count, PureDP, Session
from ethica.report import Report, audit_section, frontier_section
from ethica.report._audit_section import (
    MIN_HEADLINE_DENOMINATOR,
    definition_sentence,
    headline_gap,
    headline_sentence,
)
from ethica.report._figures import REFERENCE
from ethica.report._page import _number
from ethica.report._release_section import noise_text, release_section


def _rows(group: str, n: int, positives: int, chosen_positives: int, chosen: int) -> pd.DataFrame:
    """``n`` rows of ``group``: ``positives`` with outcome 1; ``chosen`` selected, of which
    ``chosen_positives`` have outcome 1."""
    outcome = np.r_[np.ones(positives), np.zeros(n - positives)].astype(int)
    decision = np.zeros(n, dtype=int)
    decision[:chosen_positives] = 1
    decision[positives : positives + chosen - chosen_positives] = 1
    return pd.DataFrame({"group": group, "outcome": outcome, "decision": decision})


@pytest.fixture(scope="module")
def parity_only() -> AuditResult:
    """Equal selection rates (30%) over unequal base rates (50% vs 20%): demographic parity
    holds, true positive rates (0.6 vs 1.0) and precisions (1.0 vs 0.67) do not."""
    frame = pd.concat([_rows("A", 1000, 500, 300, 300), _rows("B", 1000, 200, 200, 300)])
    return ethica.audit(frame, label="outcome", prediction="decision", protected=["group"])


def _frontier() -> FrontierResult:
    points = (
        FrontierPoint(0.0, 0.20, 0.01, 0.19, 0.00, False, (0.18, 0.22), (-0.02, 0.04)),
        FrontierPoint(0.1, 0.15, 0.20, 0.14, 0.20, False, (0.13, 0.17), (0.16, 0.24)),
    )
    return FrontierResult(
        constraint="demographic_parity",
        points=points,
        hypervolume=0.75,
        reference=(1.0, 1.0),
        chosen=0,
        target_disparity=0.05,
        models=(),
        n_test=2000,
    )


def test_a_model_that_meets_one_definition_is_told_it_fails_the_others(
    parity_only: AuditResult,
) -> None:
    lead = audit_section(parity_only).lead
    assert "passes demographic parity but fails equal opportunity" in lead
    assert "predictive parity" in lead
    assert "Chouldechova 2017" in lead and "Kleinberg, Mullainathan & Raghavan 2016" in lead
    assert "A 50.0%" in lead and "B 20.0%" in lead  # the base rates, from the audit


def test_the_frontier_tells_every_definition_of_the_chosen_model(
    parity_only: AuditResult,
) -> None:
    section = frontier_section(_frontier(), chosen_audit=parity_only)
    assert "the chosen model passes demographic parity but fails equal opportunity" in section.lead
    assert "true positive rate of B against A: +40.0 points" in section.lead
    assert "Chouldechova 2017" in section.lead
    table = section.html[section.html.index("against every definition") :]
    for d in parity_only.definitions:
        assert d.name.replace("_", " ") in table
    verdicts = re.findall(r'<span class="badge (\w+)">', table)
    assert verdicts == [d.verdict for d in parity_only.definitions]
    assert verdicts.count("fail") >= 2 and verdicts[0] == "pass"
    without = frontier_section(_frontier())
    assert "every definition" not in without.html


@pytest.fixture(scope="module")
def tiny_positives() -> AuditResult:
    """Group C has 40 rows but only 3 actual positives, none of them selected."""
    frame = pd.concat(
        [
            _rows("A", 1000, 400, 320, 400),
            _rows("B", 1000, 400, 280, 380),
            _rows("C", 40, 3, 0, 4),
        ]
    )
    return ethica.audit(
        frame, label="outcome", prediction="decision", protected=["group"], harm="false-negative"
    )


def test_a_headline_never_rests_on_a_tiny_denominator(tiny_positives: AuditResult) -> None:
    gap, passed_over = headline_gap(tiny_positives)
    assert gap is not None and passed_over is not None
    assert passed_over.group == ("C",) and gap.group == ("B",)
    sentence = headline_sentence(tiny_positives)
    cited = sentence[sentence.index("The largest gap") :]
    assert cited.startswith("The largest gap is in true positive rate of B against A: −10.0")
    assert "95% CI" in cited and "400 and 400 actual positives" in cited
    assert "C, rests on only 3 actual positives" in sentence
    assert f"needs {MIN_HEADLINE_DENOMINATOR} on each side" in sentence


def test_the_headline_interval_is_in_the_sentence(parity_only: AuditResult) -> None:
    sentence = headline_sentence(parity_only)
    found = re.search(r"\+0\.0 points \(95% CI (−?[\d.]+) to \+?([\d.]+);", sentence)
    assert found is not None, sentence


def test_each_verdict_is_explained_in_words(parity_only: AuditResult) -> None:
    by_name = {d.name: d for d in parity_only.definitions}
    passed = definition_sentence(parity_only, by_name["demographic_parity"])
    assert passed.startswith("Every group lies within ±5 points; the largest: selection rate of B")
    failed = definition_sentence(parity_only, by_name["equal_opportunity"])
    assert failed.startswith("true positive rate of B differs from A by +40.0 points [")
    assert failed.endswith("wholly beyond ±5 points.")


def test_no_internal_names_in_the_prose(tiny_positives: AuditResult) -> None:
    html = audit_section(tiny_positives).html
    assert "simultaneous intervals over" not in html and "comparison(s)" not in html
    assert "rests on true positive rate" in html and "rests on tpr" not in html
    assert noise_text({"n.scale": "10"}) == "scale 10 on each count"
    assert noise_text({"income.sigma": "3/2"}) == "sigma 3/2 on each sum of income"


def test_counts_print_as_integers(adult_train: pd.DataFrame) -> None:
    assert _number(np.int64(5421)) == "5,421" and _number(121.0, 0) == "121"
    release = Session(adult_train, privacy_unit="rows", budget=PureDP(1)).evaluate(
        Count(by="sex", keys={"sex": ["Female", "Male"]}), PureDP(1)
    )
    html = Report("r").with_section(release_section(release)).render()
    values = re.findall(r'<tr><td>(?:Female|Male)</td><td class="num">([^<]+)</td>', html)
    assert len(values) == 2 and all(re.fullmatch(r"[\d,]+", v) for v in values), values
    assert ".scale" not in html and "on each count" in html


def test_long_tables_are_folded_and_the_chart_rings_the_headline_cell(
    tiny_positives: AuditResult,
) -> None:
    html = audit_section(tiny_positives).html
    disparities = html.index("Largest disparities")
    assert html.index("<details", disparities) < html.index("<table", disparities)
    assert "ringed: B, the headline" in html
    assert len(re.findall(f'stroke="{REFERENCE}"', html, flags=re.IGNORECASE)) >= 2


def test_the_heatmap_outlines_the_headline_cell(adult_test: pd.DataFrame) -> None:
    frame = adult_test.assign(
        decision=(adult_test["education_num"] >= 13).astype(int),
        outcome=(adult_test["income"] == ">50K").astype(int),
    )
    result = ethica.audit(frame, label="outcome", prediction="decision", protected=["sex", "race"])
    gap, _ = headline_gap(result)
    assert gap is not None and gap.attributes == ("sex", "race")
    html = audit_section(result).html
    heatmap = html[: html.index("by sex × race (grey: too small to judge; outlined: ")]
    heatmap = heatmap[heatmap.rindex("<svg") :]
    assert heatmap.count(f'stroke="{REFERENCE}"') == 2  # the group and its reference
    width = float(re.search(r'<svg[^>]* width="([\d.]+)"', heatmap).group(1))  # type: ignore[union-attr]
    assert width > 400


def test_frontier_points_carry_their_intervals_and_the_hypervolume_is_explained() -> None:
    section = frontier_section(_frontier())
    assert "error 20.0% (18.0 to 22.0)" in section.lead
    assert "difference 0.010 (-0.020 to 0.040)" in section.lead
    assert "95% intervals over the 2,000 held-out rows" in section.lead
    assert "Hypervolume" not in section.lead
    assert "Hypervolume 0.7500: the share of the box" in section.html
    assert "[18.00, 22.00]" in section.html and "[-0.0200, 0.0400]" in section.html
    svg = section.html[section.html.index("<svg") : section.html.index("</svg>")]
    assert float(re.search(r'width="([\d.]+)"', svg).group(1)) > 800  # type: ignore[union-attr]
