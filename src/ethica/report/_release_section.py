"""The report section for a DP release: every value with its CI whisker, and, per group,
the relative error, so the custodian sees where small groups pay most for privacy.

Reads only a :class:`ethica.privacy.Release`; never the rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import pandas as pd

from ethica.report._figures import JUDGED, REFERENCE, chart_to_svg
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.privacy import Release, ReleasedTable

__all__ = ["relative_errors", "release_section"]

_MAX_BARS = 40


def _label(key: tuple[object, ...]) -> str:
    return " × ".join("(missing)" if v is None else str(v) for v in key) or "all"


def relative_errors(table: ReleasedTable) -> pd.DataFrame:
    """Per cell: value, CI, half-width and relative error ``half-width / |value|``.

    The relative error is ``inf`` where the released value is 0 (no signal above the noise).
    """
    rows = []
    for key, value, low, high in zip(
        table.keys, table.values, table.ci_low, table.ci_high, strict=True
    ):
        half = (high - low) / 2 if not (math.isnan(low) or math.isnan(high)) else math.nan
        relative = half / abs(value) if value else math.inf
        rows.append(
            {
                "cell": _label(key),
                "value": value,
                "ci_low": low,
                "ci_high": high,
                "half_width": half,
                "relative_error": relative,
            }
        )
    return pd.DataFrame(rows)


def _whisker_figure(frame: pd.DataFrame, title: str) -> str:
    data = frame.dropna(subset=["ci_low", "ci_high"]).head(_MAX_BARS)
    if data.empty:
        return ""
    y = alt.Y("cell:N", sort=None, title=None)
    base = alt.Chart(data)
    chart = alt.layer(
        base.mark_rule(strokeWidth=2, color=JUDGED).encode(x="ci_low:Q", x2="ci_high:Q", y=y),
        base.mark_point(filled=True, size=40, color=JUDGED).encode(
            x=alt.X("value:Q", title=title), y=y, tooltip=["cell", "value", "ci_low", "ci_high"]
        ),
    ).properties(width=360)
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


def _relative_figure(frame: pd.DataFrame) -> str:
    data = frame[frame["relative_error"].between(0, 10)].head(_MAX_BARS)
    if data.empty:
        return ""
    chart = (
        alt.Chart(data)
        .mark_bar(color=REFERENCE)
        .encode(
            x=alt.X("relative_error:Q", title="relative error (CI half-width / value)",
                    axis=alt.Axis(format="%")),
            y=alt.Y("cell:N", sort="-x", title=None),
            tooltip=["cell", "value", "half_width", "relative_error"],
        )
        .properties(width=360)
    )
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


def _table_context(table: ReleasedTable) -> dict[str, Any]:
    frame = relative_errors(table)
    grouped = bool(table.by) and table.statistic not in ("quantile", "bounds")
    return {
        "table": table,
        "rows": frame.to_dict("records"),
        "whiskers": _whisker_figure(frame, table.statistic),
        "relative": _relative_figure(frame) if grouped and len(frame) > 1 else "",
        "worst": frame.sort_values("relative_error", ascending=False).head(1).to_dict("records")
        if grouped
        else [],
    }


def release_section(
    release: Release, *, section_id: str = "release", title: str = "Private release"
) -> Section:
    """The report section for one release: budget, mechanisms, values with CIs, errors."""
    contexts = [_table_context(t) for t in release.tables]
    html = render_template("release.html.j2", release=release, tables=contexts, inf=math.inf)
    lead = (
        f"{len(release.tables)} table(s) released under {release.budget} "
        f"({release.privacy_unit['kind']}-level privacy); every value carries a "
        f"{100 * release.confidence:g}% interval from the exact noise distribution."
    )
    return Section(id=section_id, title=title, html=html, lead=lead)
