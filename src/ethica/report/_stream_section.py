"""The report section of a stream release: daily values and running totals with their bands."""

from __future__ import annotations

import pandas as pd

from ethica.report._figures import PAGE_WIDTH, chart_to_svg, line_chart
from ethica.report._page import Section, render_template

__all__ = ["stream_section"]


def stream_section(
    frame: pd.DataFrame, *, title: str, lead: str, text: str, confidence: float = 0.95
) -> Section:
    """A section from a stream's released days.

    ``frame`` has one row per day: ``day``, ``value`` and ``value_half_width`` (the daily
    count), ``running`` and ``running_half_width`` (the running total), ``true_value`` and
    ``true_running`` (public toy truth, shown next to the release).
    """
    index = pd.Series(range(1, len(frame) + 1), name="day number")
    figures = []
    for value, half, truth, caption in (
        ("value", "value_half_width", "true_value", "Daily count: released (band) and true"),
        ("running", "running_half_width", "true_running", "Running total: released and true"),
    ):
        long = pd.concat(
            [
                pd.DataFrame(
                    {
                        "day": index,
                        "count": frame[value],
                        "low": frame[value] - frame[half],
                        "high": frame[value] + frame[half],
                        "series": "released",
                    }
                ),
                pd.DataFrame(
                    {
                        "day": index,
                        "count": frame[truth],
                        "low": frame[truth],
                        "high": frame[truth],
                        "series": "true",
                    }
                ),
            ],
            ignore_index=True,
        )
        chart = line_chart(
            long,
            x="day",
            y="count",
            series="series",
            band=("low", "high"),
            x_title="day of the year",
            y_title="visitors",
            width=PAGE_WIDTH // 2 - 60,
        )
        figures.append({"svg": chart_to_svg(chart), "caption": caption})
    covered = (frame["running"] - frame["true_running"]).abs() <= frame["running_half_width"]
    html = render_template(
        "stream.html.j2",
        text=text,
        figures=figures,
        rows=frame.to_dict(orient="records"),
        coverage=float(covered.mean()),
        level=round(100 * confidence),
    )
    return Section(id="stream", title=title, html=html, lead=lead)
