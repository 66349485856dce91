"""``ethica demo``: real data in, one self-contained report out."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from ethica.cli import app


def test_demo_writes_the_report_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="audit"' in page and 'id="data"' in page
    assert page.count("<svg") >= 3
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    accuracy = re.search(r"accuracy on Adult test: (\d+\.\d)%", result.output)
    assert accuracy is not None and 80.0 < float(accuracy.group(1)) < 90.0
    assert "Protecting against selection harm" in result.output
    sections = (
        "mitigation",
        "unawareness",
        "release-census",
        "release-plan",
        "stream",
        "synthetic",
        "attacks",
    )
    for section in sections:
        assert f'id="{section}' in page, section
