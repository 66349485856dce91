"""The report section for a DP release: every value with its CI whisker, and, per group,
the relative error, so the custodian sees where small groups pay most for privacy.

Reads only a :class:`ethica.privacy.Release`; never the rows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import numpy as np
import pandas as pd

from ethica.report._figures import JUDGED, PAGE_WIDTH, REFERENCE, TOO_SMALL, chart_to_svg
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.privacy import Release, ReleasedTable

__all__ = ["noise_text", "relative_errors", "release_section"]

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
    ).properties(width=PAGE_WIDTH // 2)
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


def _relative_figure(frame: pd.DataFrame) -> str:
    data = frame[frame["relative_error"].between(0, 10)].head(_MAX_BARS)
    if data.empty:
        return ""
    chart = (
        alt.Chart(data)
        .mark_bar(color=REFERENCE)
        .encode(
            x=alt.X(
                "relative_error:Q",
                title="relative error (CI half-width / value)",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("cell:N", sort="-x", title=None),
            tooltip=["cell", "value", "half_width", "relative_error"],
        )
        .properties(width=PAGE_WIDTH // 2)
    )
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


#: How a release names the part of a statistic its noise is added to (``"n.scale"``).
_PARTS = {"n": "each count"}


def noise_text(noise: Mapping[str, str]) -> str:
    """The noise parameters in words: ``{"n.scale": "10"}`` -> ``"scale 10 on each count"``."""
    phrases = []
    for key, value in noise.items():
        part, _, parameter = key.rpartition(".")
        where = _PARTS.get(part, f"each sum of {part}") if part else ""
        phrases.append(f"{parameter} {value}" + (f" on {where}" if where else ""))
    return ", ".join(phrases)


def _integral(frame: pd.DataFrame) -> bool:
    """Whether every value and bound is a whole number (counts print without decimals)."""
    numbers = frame[["value", "ci_low", "ci_high"]].to_numpy(dtype=np.float64).ravel()
    finite = numbers[np.isfinite(numbers)]
    return bool(finite.size) and bool(np.all(finite == np.round(finite)))


def _table_context(table: ReleasedTable) -> dict[str, Any]:
    frame = relative_errors(table)
    grouped = bool(table.by) and table.statistic not in ("quantile", "bounds")
    return {
        "noise": noise_text(table.noise),
        "digits": 0 if _integral(frame) else 2,
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
    unit = release.privacy_unit.to_dict()
    html = render_template(
        "release.html.j2", release=release, unit=unit, tables=contexts, inf=math.inf
    )
    lead = (
        f"{len(release.tables)} table(s) released under {release.budget} "
        f"({unit['kind']}-level privacy); every value carries a "
        f"{100 * release.confidence:g}% interval from the exact noise distribution."
    )
    return Section(id=section_id, title=title, html=html, lead=lead)


__all__ += [
    "error_by_size",
    "error_by_size_bands",
    "error_by_size_figure",
    "error_curve_figure",
    "truth_whisker_figure",
]

#: Vega-Lite symlog constant for relative errors: linear below 1%, logarithmic above.
_RELATIVE_SYMLOG = 0.01


def error_by_size(
    table: ReleasedTable, truth: Mapping[tuple[object, ...], int], *, level: str | None = None
) -> pd.DataFrame:
    """Per cell: true count ``n``, released value and relative error ``|released - n| / n``.

    For the custodian's eyes only: ``truth`` holds the exact counts (key tuple -> count; a key
    absent from it counts 0). ``bound`` is the interval half-width over ``n``, the relative
    error the stated confidence allows. Cells with ``n = 0`` get a NaN relative error.
    """
    frame = relative_errors(table)
    n = np.array([truth.get(tuple(k), 0) for k in table.keys], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.where(n > 0, np.abs(frame["value"].to_numpy() - n) / n, np.nan)
        bound = np.where(n > 0, frame["half_width"].to_numpy() / n, np.nan)
    return frame.assign(
        level=level or table.name,
        true_count=n,
        abs_error=np.abs(frame["value"] - n),
        observed_relative_error=observed,
        relative_bound=bound,
    )


def error_by_size_bands(
    frame: pd.DataFrame, edges: Sequence[int] = (1, 10, 100, 1000, 10_000)
) -> list[dict[str, Any]]:
    """Cells of :func:`error_by_size` grouped by true size ``[e_i, e_{i+1})`` (last: ``>=``):
    number of cells, median and largest relative error, median absolute error."""
    rows = []
    cuts = [*edges, math.inf]
    for low, high in itertools.pairwise(cuts):
        band = frame[(frame["true_count"] >= low) & (frame["true_count"] < high)]
        if band.empty:
            continue
        rows.append(
            {
                "band": f"{low:,}–{int(high) - 1:,}" if high != math.inf else f"≥ {low:,}",
                "cells": len(band),
                "median_relative_error": float(band["observed_relative_error"].median()),
                "max_relative_error": float(band["observed_relative_error"].max()),
                "median_abs_error": float(band["abs_error"].median()),
            }
        )
    return rows


def error_by_size_figure(frame: pd.DataFrame) -> str:
    """Relative error against true group size (log x), one colour per table level, with the
    interval's relative half-width (``half-width / n``) as the bound the custodian states."""
    data = frame.loc[
        frame["true_count"] > 0,
        ["level", "true_count", "observed_relative_error", "relative_bound"],
    ]
    if data.empty:
        return ""
    x = alt.X("true_count:Q", title="true group size (people)", scale=alt.Scale(type="log"))
    y_scale = alt.Scale(type="symlog", constant=_RELATIVE_SYMLOG)
    color = alt.Color(
        "level:N",
        title=None,
        sort=list(dict.fromkeys(data["level"])),
        legend=alt.Legend(orient="bottom"),
    )
    # identical (size, error) points draw as one: keeps the inline SVG small
    dots = data.drop_duplicates(["level", "true_count", "observed_relative_error"])
    points = (
        alt.Chart(dots)
        .mark_circle(size=14, opacity=0.5, aria=False)
        .encode(
            x=x,
            y=alt.Y(
                "observed_relative_error:Q",
                title="relative error |released − true| / true",
                scale=y_scale,
                axis=alt.Axis(format="%"),
            ),
            color=color,
        )
    )
    curve = data.drop_duplicates(["level", "true_count"]).sort_values("true_count")
    bound = (
        alt.Chart(curve)
        .mark_line(color=REFERENCE, strokeDash=[4, 3], aria=False)
        .encode(x=x, y=alt.Y("relative_bound:Q", scale=y_scale), detail="level:N")
    )
    chart = alt.layer(points, bound).properties(width=PAGE_WIDTH - 250, height=360)
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


def truth_whisker_figure(
    frame: pd.DataFrame, *, value_title: str = "count", facet: str | None = None
) -> str:
    """Released values with their interval whiskers beside the true values, one row per cell.

    ``frame`` has ``cell``, ``value``, ``ci_low``, ``ci_high`` and ``true_count`` (the
    custodian's exact counts, drawn as orange diamonds); an ``expected`` column (e.g. the
    expected count after contribution bounding) is drawn as a grey tick. With ``facet``, one
    panel per value of that column, each with its own axis.
    """
    if frame.empty:
        return ""
    y = alt.Y("cell:N", sort=None, title=None)
    x = alt.X("value:Q", title=value_title, scale=alt.Scale(zero=False))
    base = alt.Chart()
    layers: list[Any] = [
        base.mark_rule(strokeWidth=2, color=JUDGED).encode(x="ci_low:Q", x2="ci_high:Q", y=y),
        base.mark_point(filled=True, size=40, color=JUDGED).encode(x=x, y=y),
        base.mark_point(shape="diamond", size=70, color=REFERENCE, strokeWidth=1.5).encode(
            x="true_count:Q", y=y
        ),
    ]
    if "expected" in frame.columns:
        layers.append(base.mark_tick(color=TOO_SMALL, thickness=2).encode(x="expected:Q", y=y))
    chart = alt.layer(*layers, data=frame).properties(width=PAGE_WIDTH // 2)
    if facet is not None:
        order = list(dict.fromkeys(frame[facet]))
        chart = chart.facet(row=alt.Row(f"{facet}:N", sort=order, title=None)).resolve_scale(
            x="independent", y="independent"
        )
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))


def error_curve_figure(frame: pd.DataFrame, *, target: float | None = None) -> str:
    """Interval half-width against epsilon (log-log), one line per ``series``; ``target``
    draws the accuracy asked for as a dashed horizontal rule. ``frame`` has ``series``,
    ``epsilon`` and ``half_width``; zero half-widths are left out of the (log) plot."""
    x = alt.X("epsilon:Q", title="epsilon", scale=alt.Scale(type="log"))
    y = alt.Y("half_width:Q", title="± at the stated confidence", scale=alt.Scale(type="log"))
    positive = frame[frame["half_width"] > 0]  # a zero half-width has no place on a log axis
    layers: list[Any] = [
        alt.Chart(positive)
        .mark_line(point=True)
        .encode(
            x=x,
            y=y,
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["series", "epsilon", "half_width"],
        )
    ]
    if target is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"target": [target]}))
            .mark_rule(color=REFERENCE, strokeDash=[4, 3])
            .encode(y="target:Q")
        )
    chart = alt.layer(*layers).properties(width=PAGE_WIDTH - 250, height=320)
    return chart_to_svg(cast(alt.TopLevelMixin, chart.configure_view(stroke=None)))
