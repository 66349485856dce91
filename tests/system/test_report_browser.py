"""The audit report opens in a real headless Chromium with no network and shows its figures."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "Debian's chromium is required: `make test` installs it (apt chromium)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            # Any request the page made would go to a closed port: the page must not need one.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


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
    dom = _chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    assert "Definitions of fairness" in dom
    assert dom.count("<svg") >= 3  # rates by sex, by race, by sex x race, and the heat map
    assert "Female × Black" in dom


def test_report_screenshot_shows_drawn_figures(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", report_file.as_uri())
    import numpy as np

    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # The figures' marks are drawn in the judged-group blue (#1f5f8b): count them.
    blue = int(((abs(r - 0x1F) < 40) & (abs(g - 0x5F) < 40) & (b > 100)).sum())
    assert blue > 500, f"only {blue} figure-blue pixels: the figures did not render"
