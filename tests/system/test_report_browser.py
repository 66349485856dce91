"""The audit report opens in a real headless Chromium with no network and shows its figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system._chromium import run_chromium

pytestmark = pytest.mark.browser
# run_chromium sends every request, loopback included, to a closed port: the page needs none.


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import ethica
    from ethica.datasets import load_adult
    from ethica.report import Report, audit_section

    frame = load_adult("test")
    frame = frame.assign(
        decision=((frame["education_num"] >= 13) | (frame["capital_gain"] > 5000)).astype(int),
        outcome=(frame["income"] == ">50K").astype(int),
    )
    result = ethica.audit(frame, label="outcome", prediction="decision", protected=["sex", "race"])
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(Report("Audit").with_section(audit_section(result)).render(), encoding="utf-8")
    return path


def test_report_dom_has_its_sections_and_figures(report_file: Path, tmp_path: Path) -> None:
    dom = run_chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    assert "Definitions of fairness" in dom
    assert dom.count("<svg") >= 3  # rates by sex, by race, by sex x race, and the heat map
    assert "Female × Black" in dom


def test_report_screenshot_shows_drawn_figures(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", report_file.as_uri())
    import numpy as np

    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # The figures' marks are drawn in the judged-group blue (#1f5f8b): count them.
    blue = int(((abs(r - 0x1F) < 40) & (abs(g - 0x5F) < 40) & (b > 100)).sum())
    assert blue > 500, f"only {blue} figure-blue pixels: the figures did not render"


@pytest.fixture(scope="module")
def truth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An audit whose headline names a sex × race cell, and a frontier with its chosen model's
    audit (demographic parity met, equal opportunity and predictive parity failed)."""
    import numpy as np
    import pandas as pd

    import ethica
    from ethica.datasets import load_adult
    from ethica.fairness import FrontierPoint, FrontierResult
    from ethica.report import Report, audit_section, frontier_section

    frame = load_adult("test")
    frame = frame.assign(
        decision=(frame["education_num"] >= 13).astype(int),
        outcome=(frame["income"] == ">50K").astype(int),
    )
    audited = ethica.audit(frame, label="outcome", prediction="decision", protected=["sex", "race"])
    # equal selection (30%) over base rates of 50% and 20%
    outcome = np.r_[np.ones(500), np.zeros(500), np.ones(200), np.zeros(800)].astype(int)
    decision = np.r_[np.ones(300), np.zeros(700), np.ones(300), np.zeros(700)].astype(int)
    chosen = ethica.audit(
        pd.DataFrame({"g": ["A"] * 1000 + ["B"] * 1000, "y": outcome, "d": decision}),
        label="y",
        prediction="d",
        protected=["g"],
    )
    points = tuple(
        FrontierPoint(b, e, d, e, d, False, (e - 0.01, e + 0.01), (d - 0.02, d + 0.02))
        for b, e, d in ((0.0, 0.171, 0.002), (0.03, 0.161, 0.04), (0.12, 0.148, 0.168))
    )
    result = FrontierResult(
        constraint="demographic_parity",
        points=points,
        hypervolume=0.85,
        reference=(1.0, 1.0),
        chosen=0,
        target_disparity=0.01,
        models=(),
        n_test=16281,
    )
    page = Report(
        "Truth", "", (audit_section(audited), frontier_section(result, chosen_audit=chosen))
    )
    path = tmp_path_factory.mktemp("truth") / "truth.html"
    path.write_text(page.render(), encoding="utf-8")
    return path


def test_truth_page_tells_every_definition_in_plain_words(truth_file: Path, tmp_path: Path) -> None:
    dom = run_chromium(tmp_path, "--dump-dom", truth_file.as_uri()).stdout
    assert "passes demographic parity but fails equal opportunity" in dom
    assert "Chouldechova 2017" in dom and "against every definition of fairness" in dom
    assert "simultaneous intervals over" not in dom and "comparison(s)" not in dom
    assert dom.count("<details") >= 4  # definitions per attribute set, disparities, groups
    assert "95% CI" in dom  # the headline's interval, in its sentence


def test_truth_page_draws_wide_charts_and_marks_the_headline_cell(
    truth_file: Path, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    shot = tmp_path / "truth.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,6000", truth_file.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # the headline's cell is outlined in the reference orange (#d95f02) in the heat map
    orange = (abs(r - 0xD9) < 30) & (abs(g - 0x5F) < 30) & (b < 60)
    assert int(orange.sum()) > 300, f"only {int(orange.sum())} orange pixels"
    # figures use the page's width: judged-blue (#1f5f8b) marks spread across most of it
    blue = (abs(r - 0x1F) < 40) & (abs(g - 0x5F) < 40) & (b > 100)
    columns = np.flatnonzero(blue.any(axis=0))
    assert columns.max() - columns.min() > 900, (columns.min(), columns.max())
