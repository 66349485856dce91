"""The stream's report section: figures, the coverage sentence and the folded table."""

from __future__ import annotations

import pandas as pd

from ethica.report import stream_section


def _frame(days: int = 30) -> pd.DataFrame:
    day = list(range(days))
    return pd.DataFrame(
        {
            "day": [f"2026-01-{d + 1:02d}" for d in day],
            "value": [100.0 + d for d in day],
            "value_half_width": [10.0] * days,
            "running": [100.0 * (d + 1) for d in day],
            "running_half_width": [20.0] * days,
            "true_value": [100 + d for d in day],
            # the truth leaves the band on the last 3 days: coverage 27 / 30
            "true_running": [100 * (d + 1) + (50 if d >= days - 3 else 0) for d in day],
        }
    )


def test_section_shows_both_series_and_the_measured_coverage() -> None:
    section = stream_section(_frame(), title="A stream", lead="lead", text="what it is")
    assert section.id == "stream" and section.lead == "lead"
    assert section.html.count("<svg") == 2
    assert "90.0%" in section.html  # 27 of 30 days covered
    assert "<details><summary>30 days</summary>" in section.html
    assert "Running total" in section.html and "Daily count" in section.html
