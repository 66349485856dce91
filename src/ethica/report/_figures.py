"""Figures for reports: Vega-Lite charts (Altair) rendered to inline SVG.

Rendering happens here, with ``vl-convert`` (bundled Deno + Vega, no network), so a
report is one HTML file that opens offline with no JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import altair as alt
import pandas as pd

__all__ = ["PAGE_WIDTH", "chart_to_svg", "heatmap_chart", "interval_chart", "line_chart"]

#: Colours shared by every figure: judged groups, groups too small to judge, reference lines.
JUDGED = "#1f5f8b"
TOO_SMALL = "#b0b0b0"
REFERENCE = "#d95f02"
#: Width in pixels a figure may fill: the page's content width (``main`` in page.html.j2,
#: 1280 px less its padding), so charts use the page rather than a third of it.
PAGE_WIDTH = 1150


def chart_to_svg(chart: alt.TopLevelMixin) -> str:
    """Render an Altair chart to an SVG string (offline)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


def interval_chart(
    frame: pd.DataFrame,
    *,
    facet: str,
    category: str,
    reference: str | None = None,
    facet_order: Sequence[str] | None = None,
    x_title: str = "rate",
    width: int = 200,
) -> alt.TopLevelMixin:
    """Point estimates with confidence whiskers, one panel per ``facet`` value.

    ``frame`` has columns ``facet``, ``category``, ``value``, ``ci_low``, ``ci_high``,
    ``n`` and ``judged`` (bool); when ``reference`` names a column, a vertical rule
    marks that value in each panel (e.g. the overall rate). Rows with a true
    ``highlight`` column get a ring in the reference colour (e.g. the headline's group).
    """
    data = frame.assign(status=frame["judged"].map({True: "judged", False: "too small to judge"}))
    color = alt.Color(
        "status:N",
        scale=alt.Scale(domain=["judged", "too small to judge"], range=[JUDGED, TOO_SMALL]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    y = alt.Y(f"{category}:N", sort=None, title=None)
    x = alt.X("value:Q", title=x_title, scale=alt.Scale(domain=[0, 1]))
    tooltip = [category, "value", "ci_low", "ci_high", "n"]
    base = alt.Chart(data)
    layers: list[Any] = [
        base.mark_rule(strokeWidth=2).encode(x="ci_low:Q", x2="ci_high:Q", y=y, color=color),
        base.mark_point(filled=True, size=50).encode(x=x, y=y, color=color, tooltip=tooltip),
    ]
    if reference is not None:
        layers.append(
            base.mark_rule(color=REFERENCE, strokeDash=[4, 3]).encode(x=f"mean({reference}):Q")
        )
    if "highlight" in data.columns and bool(data["highlight"].any()):
        layers.append(
            base.transform_filter("datum.highlight")
            .mark_point(filled=False, size=260, strokeWidth=2.5, color=REFERENCE)
            .encode(x=x, y=y)
        )
    order = list(facet_order) if facet_order is not None else list(dict.fromkeys(data[facet]))
    return cast(
        alt.TopLevelMixin,
        alt.layer(*layers, data=data)
        .properties(width=width)
        .facet(column=alt.Column(f"{facet}:N", sort=order, title=None))
        .resolve_scale(y="independent")
        .configure_view(stroke=None),
    )


def heatmap_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    value_title: str,
    x_order: Iterable[str] | None = None,
    y_order: Iterable[str] | None = None,
    n_title: str = "n",
) -> alt.TopLevelMixin:
    """A heat map of ``value`` over two categorical columns, labelled with value and n.

    ``frame`` has columns ``x``, ``y``, ``value`` (may be missing), ``n`` (the rate's
    denominator, labelled ``n_title``) and ``judged``; cells too small to judge are drawn
    grey whatever their value. Cells with a true ``outlined`` column get a thick outline in
    the reference colour (e.g. the two groups of the headline's gap).
    """
    data = frame.assign(
        label=[
            ("–" if pd.isna(v) else f"{v:.2f}") + f"\n{int(n):,} {n_title}"
            for v, n in zip(frame["value"], frame["n"], strict=True)
        ],
        shown=frame["value"].where(frame["judged"]),
    )
    x_enc = alt.X(f"{x}:N", sort=list(x_order) if x_order else None, title=x)
    y_enc = alt.Y(f"{y}:N", sort=list(y_order) if y_order else None, title=y)
    base = alt.Chart(data).encode(x=x_enc, y=y_enc)
    cells = base.mark_rect(stroke="white").encode(
        color=alt.condition(
            "datum.shown !== null",
            alt.Color("shown:Q", title=value_title, scale=alt.Scale(scheme="blues")),
            alt.value(TOO_SMALL),
        ),
        tooltip=[x, y, "value", "n"],
    )
    text = base.mark_text(fontSize=10, lineBreak="\n").encode(
        text="label:N",
        color=alt.condition("datum.shown > 0.5", alt.value("white"), alt.value("black")),
    )
    n_x = data[x].nunique()
    n_y = data[y].nunique()
    size = max(46, min(120, (PAGE_WIDTH - 300) // max(1, n_x)))
    layers: list[Any] = [cells, text]
    if "outlined" in data.columns and bool(data["outlined"].any()):
        layers.append(
            base.transform_filter("datum.outlined").mark_rect(
                filled=False, stroke=REFERENCE, strokeWidth=3
            )
        )
    chart = alt.layer(*layers).properties(width=size * n_x, height=max(46, size // 2) * n_y)
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def line_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    series: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    x_log: bool = False,
    y_log: bool = False,
    band: tuple[str, str] | None = None,
    width: int = 420,
    height: int = 260,
) -> alt.TopLevelMixin:
    """Lines with points (one per ``series``), an optional shaded band ``(low, high)``."""
    x_scale = alt.Scale(type="log") if x_log else alt.Undefined
    y_scale = alt.Scale(type="log") if y_log else alt.Undefined
    x_enc = alt.X(f"{x}:Q", title=x_title or x, scale=x_scale)
    y_enc = alt.Y(f"{y}:Q", title=y_title or y, scale=y_scale)
    color = alt.Color(f"{series}:N", title=None) if series else alt.value(JUDGED)
    base = alt.Chart(frame)
    layers: list[Any] = []
    if band is not None:
        layers.append(
            base.mark_area(opacity=0.2).encode(
                x=x_enc, y=f"{band[0]}:Q", y2=f"{band[1]}:Q", color=color
            )
        )
    layers.append(
        base.mark_line(point=True).encode(
            x=x_enc, y=y_enc, color=color, tooltip=list(frame.columns)
        )
    )
    chart = alt.layer(*layers).properties(width=width, height=height)
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


__all__ += ["bar_chart", "frontier_chart"]

#: Point status of a frontier chart, with its colour: undominated, dominated, chosen.
FRONTIER_STATUS = {"on the frontier": JUDGED, "dominated": TOO_SMALL, "chosen": REFERENCE}


def frontier_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    x_title: str | None = None,
    y_title: str | None = None,
    width: int = PAGE_WIDTH - 200,
    height: int = 340,
) -> alt.TopLevelMixin:
    """A Pareto frontier: points coloured by ``status``, a line through the undominated ones.

    ``frame`` has columns ``x``, ``y`` and ``status`` (a key of :data:`FRONTIER_STATUS`);
    dominated points are grey, the chosen point is drawn larger in the reference colour.
    With columns ``x_low``/``x_high`` and ``y_low``/``y_high``, each point gets whiskers
    (its confidence intervals).
    """
    color = alt.Color(
        "status:N",
        scale=alt.Scale(domain=list(FRONTIER_STATUS), range=list(FRONTIER_STATUS.values())),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x_enc = alt.X(f"{x}:Q", title=x_title or x)
    y_enc = alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False))
    undominated = frame[frame["status"] != "dominated"].sort_values(x)
    line = alt.Chart(undominated).mark_line(color=JUDGED, opacity=0.6).encode(x=x_enc, y=y_enc)
    points = (
        alt.Chart(frame)
        .mark_point(filled=True)
        .encode(
            x=x_enc,
            y=y_enc,
            color=color,
            size=alt.condition("datum.status === 'chosen'", alt.value(180), alt.value(60)),
            tooltip=list(frame.columns),
        )
    )
    layers: list[Any] = [line]
    whisker = alt.Chart(frame).mark_rule(strokeWidth=1.5, opacity=0.7)
    if {"x_low", "x_high"} <= set(frame.columns):
        layers.append(whisker.encode(x="x_low:Q", x2="x_high:Q", y=y_enc, color=color))
    if {"y_low", "y_high"} <= set(frame.columns):
        layers.append(whisker.encode(y="y_low:Q", y2="y_high:Q", x=x_enc, color=color))
    layers.append(points)
    chart = alt.layer(*layers).properties(width=width, height=height)
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def bar_chart(
    frame: pd.DataFrame,
    *,
    category: str,
    value: str,
    value_title: str | None = None,
    reference: float | None = None,
    domain: tuple[float, float] | None = None,
    width: int = PAGE_WIDTH - 300,
) -> alt.TopLevelMixin:
    """Horizontal bars of ``value`` per ``category``, in the frame's order.

    ``reference`` draws a dashed vertical rule (e.g. chance level); ``domain`` fixes the
    value axis; columns ``low`` and ``high`` draw each bar's confidence interval.
    """
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
    x_enc = alt.X(f"{value}:Q", title=value_title or value, scale=scale)
    y_enc = alt.Y(f"{category}:N", sort=list(frame[category]), title=None)
    layers: list[Any] = [
        alt.Chart(frame).mark_bar(color=JUDGED).encode(x=x_enc, y=y_enc, tooltip=[category, value])
    ]
    if {"low", "high"} <= set(frame.columns):
        layers.append(
            alt.Chart(frame)
            .mark_rule(color=REFERENCE, strokeWidth=2)
            .encode(x="low:Q", x2="high:Q", y=y_enc)
        )
    if reference is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"reference": [reference]}))
            .mark_rule(color=REFERENCE, strokeDash=[4, 3])
            .encode(x="reference:Q")
        )
    chart = alt.layer(*layers).properties(width=width, height=22 * len(frame))
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))
