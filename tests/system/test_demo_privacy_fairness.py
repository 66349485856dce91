"""The demo's "Fairness and privacy together" sections on the full Adult files."""

from __future__ import annotations

import re

import pytest

from ethica.datasets import load_adult
from ethica.fairness import audit
from ethica.fairness._private_audit import PrivateAuditResult
from ethica.report import Report
from ethica.workflows._demo import _scored, train_ordinary_model
from ethica.workflows._demo_privacy_fairness import (
    DEMO_EPSILONS,
    DRAWS,
    FRONTIER_BOUNDS,
    FRONTIER_EPSILONS,
    PrivacyFairnessRun,
    run_privacy_fairness,
    sections_of,
)


@pytest.fixture(scope="module")
def scored_and_exact() -> tuple[object, object]:
    train, test = load_adult("train"), load_adult("test")
    scored = _scored(train_ordinary_model(train), test)
    exact = audit(scored, label="outcome", prediction="decision", protected=["sex", "race"])
    return scored, exact


@pytest.fixture(scope="module")
def run(scored_and_exact: tuple[object, object]) -> tuple[PrivacyFairnessRun, list[str]]:
    scored, exact = scored_and_exact
    messages: list[str] = []
    return run_privacy_fairness(scored, exact, progress=messages.append), messages  # type: ignore[arg-type]


@pytest.mark.slow
def test_private_model_costs_membership_and_private_audit(
    scored_and_exact: tuple[object, object], run: tuple[PrivacyFairnessRun, list[str]]
) -> None:
    exact = scored_and_exact[1]
    run, messages = run  # type: ignore[assignment]
    assert len(messages) == 4
    # every model, every group: DRAWS DP models per epsilon plus the non-private ceiling
    models = {r.model for r in run.cost.rows}
    assert len(models) == 1 + DRAWS * len(DEMO_EPSILONS)
    ceiling = run.cost.get("non-private").accuracy.value
    assert ceiling is not None and 0.83 < ceiling < 0.87
    smallest = [r for r in run.cost.rows if r.group == "overall" and r.epsilon == DEMO_EPSILONS[0]]
    mean_small = sum(r.accuracy.value or 0.0 for r in smallest) / len(smallest)
    assert mean_small < ceiling  # privacy costs accuracy at the smallest epsilon
    # membership: without noise the overfit learner leaks, at the smallest epsilon it does not
    leaky, private = run.membership[0], run.membership[-1]
    assert leaky.auc > 0.5 + 3.29 * run.chance_sd
    assert abs(private.auc - 0.5) < 3.29 * run.chance_sd
    # the private audit: same groups, wider intervals, never an opposite verdict
    assert isinstance(run.private, PrivateAuditResult) and run.private.privacy is not None
    assert {g.group for g in run.private.groups} >= {g.group for g in exact.groups}  # type: ignore[attr-defined]
    verdicts = {(d.name, d.attributes): d.verdict for d in exact.definitions}  # type: ignore[attr-defined]
    for d in run.private.definitions:
        if d.verdict in ("pass", "fail") and verdicts.get((d.name, d.attributes)) in (
            "pass",
            "fail",
        ):
            assert d.verdict == verdicts[(d.name, d.attributes)], d
    ratio = run.private.privacy.median_width_ratio("selection_rate")
    assert ratio is not None and ratio > 1.0
    # the three-way frontier: both learners, every (epsilon, bound), plus no-noise references
    frontier = run.frontier
    assert frontier is not None
    assert len(frontier.points) == 2 * len(FRONTIER_BOUNDS) * (len(FRONTIER_EPSILONS) + 1)
    by = {(p.learner, p.epsilon, p.bound): p for p in frontier.points}
    for learner in ("reduction", "postprocessing"):
        tight = by[(learner, None, FRONTIER_BOUNDS[0])]
        loose = by[(learner, None, FRONTIER_BOUNDS[-1])]
        # measured without noise: tight 0.007-0.013, loose 0.068-0.070
        assert tight.disparity < 0.03 < loose.disparity
        largest = by[(learner, FRONTIER_EPSILONS[-1], FRONTIER_BOUNDS[0])]
        assert largest.disparity < 0.03  # at eps 5 the noise barely matters (0.008-0.013)


@pytest.mark.slow
def test_sections_render_with_figures(run: tuple[PrivacyFairnessRun, list[str]]) -> None:
    sections = sections_of(run[0])
    assert [s.id for s in sections] == [
        "privacy-fairness-learning",
        "privacy-fairness-audit",
        "privacy-fairness-frontier",
    ]
    learning, audited, frontier = sections
    assert "<svg" in frontier.html and "Pareto (3-way)" in frontier.html
    assert re.search(r"gap 0\.\d{3} at ε=0\.05", frontier.lead)
    assert "<svg" in learning.html and "<svg" in audited.html
    assert "Membership inference" in learning.html and "leaks" in learning.html
    assert re.search(r"AUC falls from 0\.\d\d without noise", learning.lead)
    assert re.search(r"\d+ of \d+ verdicts agree with the exact audit", audited.lead)
    assert "three-way frontier" in learning.html  # pointed to
    page = Report("t", "s", sections).render()
    assert page.count("<svg") >= 3
