"""Report sections where fairness and privacy meet.

Reads only result objects, never rows:

- :func:`dp_learning_cost_section`: accuracy and false-negative rate by group of DP models at
  each epsilon (:class:`ethica.privacy.learning.PrivacyCostResult`; Bagdasaryan, Poursaeed &
  Shmatikov 2019), with the membership attack's AUC at each epsilon;
- :func:`private_audit_section`: a private audit next to the exact one, interval by interval,
  verdict by verdict, and what privacy cost in interval width;
- :func:`private_frontier_section`: the three-way frontier error × unfairness × epsilon of
  the DP fair learners (:class:`ethica.privacy.learning.PrivateFrontierResult`; Jagielski et
  al. 2019).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import pandas as pd

from ethica.report._figures import JUDGED, PAGE_WIDTH, REFERENCE, chart_to_svg
from ethica.report._page import Section, render_template

if TYPE_CHECKING:
    from ethica.fairness import AuditResult
    from ethica.fairness._private_audit import PrivateAuditResult
    from ethica.privacy.learning import PrivacyCostResult, PrivateFrontierResult

__all__ = ["dp_learning_cost_section", "private_audit_section", "private_frontier_section"]

_OUT_OF_SCOPE = (
    "Fair learning when the protected attribute itself is private (Jagielski et al. 2019: "
    "private post-processing and private exponentiated gradient) is the section 'the "
    "three-way frontier' below."
)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _model_label(epsilon: float | None, private: bool) -> str:
    return f"ε={epsilon:g}" if private and epsilon is not None else "non-private"


def cost_frame(cost: PrivacyCostResult) -> pd.DataFrame:
    """Long frame per (model kind, group, metric): the mean over the DP models of one epsilon
    (``value``) and their range (``ci_low``, ``ci_high``); the non-private model (named
    ``"non-private"``) with its Wilson interval."""
    names = {"accuracy": "accuracy", "fnr": "false-negative rate"}
    records = []
    for row in cost.rows:
        private = row.model != "non-private"
        for key, title in names.items():
            estimate = getattr(row, key)
            records.append(
                {
                    "model": _model_label(row.epsilon, private),
                    "epsilon": row.epsilon if private else None,
                    "group": row.group,
                    "metric": title,
                    "value": estimate.value,
                    "low": estimate.ci_low,
                    "high": estimate.ci_high,
                    "n": row.n,
                }
            )
    frame = pd.DataFrame.from_records(records)
    grouped = frame.groupby(["model", "group", "metric"], sort=False, dropna=False)
    out = grouped.agg(
        value=("value", "mean"),
        draws=("value", "size"),
        v_min=("value", "min"),
        v_max=("value", "max"),
        low=("low", "first"),
        high=("high", "first"),
        n=("n", "first"),
        epsilon=("epsilon", "first"),
    ).reset_index()
    single = out["draws"] == 1
    out["ci_low"] = out["low"].where(single, out["v_min"])
    out["ci_high"] = out["high"].where(single, out["v_max"])
    return out.drop(columns=["low", "high", "v_min", "v_max"])


def _cost_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    names = list(dict.fromkeys(frame["model"]))
    order = sorted((m for m in names if m != "non-private"), key=lambda m: float(m[2:]))
    order += [m for m in names if m == "non-private"]
    x = alt.X("model:N", sort=order, title="privacy budget of the model (smaller ε: more noise)")
    color = alt.Color("group:N", legend=alt.Legend(orient="bottom", title=None))
    base = alt.Chart(frame)
    layers = [
        base.mark_line(point=True).encode(
            x=x,
            y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=color,
            tooltip=["model", "group", "metric", "value", "ci_low", "ci_high", "n", "draws"],
        ),
        base.mark_rule(opacity=0.5).encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color),
    ]
    chart = (
        alt.layer(*layers, data=frame)
        .properties(width=PAGE_WIDTH // 2 - 90, height=280)
        .facet(column=alt.Column("metric:N", title=None))
    )
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def dp_learning_cost_section(
    cost: PrivacyCostResult,
    membership: Sequence[Any],
    *,
    chance_sd: float,
    data_norm: float,
    section_id: str = "privacy-fairness-learning",
    title: str = "Fairness and privacy together: who pays for a private model",
) -> Section:
    """Accuracy and FNR by group at each epsilon, and the membership attack at each epsilon.

    ``membership`` items have ``epsilon``, ``auc``, ``advantage`` (e.g.
    :class:`ethica.workflows._demo_privacy_fairness.MembershipPoint`); ``chance_sd`` is the
    standard deviation of their mean AUC under no leakage.
    """
    frame = cost_frame(cost)
    fnr = frame[frame["metric"] == "false-negative rate"]
    table = fnr.pivot(index="group", columns="model", values="value")
    columns = sorted((m for m in table.columns if m != "non-private"), key=lambda m: float(m[2:]))
    columns += [m for m in table.columns if m == "non-private"]
    groups = ["overall", *sorted(g for g in table.index if g != "overall")]
    sizes = fnr.drop_duplicates("group").set_index("group")["n"]
    group_rows = [
        [g, f"{int(sizes[g]):,}", *(_fmt(table.loc[g, m]) for m in columns)] for g in groups
    ]
    worst_line = ""
    if len(columns) > 1 and "non-private" in columns:
        smallest = columns[0]
        rise = (table[smallest] - table["non-private"]).drop("overall", errors="ignore")
        if rise.notna().any():
            group = str(rise.idxmax())
            overall = table.loc["overall", smallest] - table.loc["overall", "non-private"]
            worst_line = (
                f" At {smallest} the false-negative rate rises by {100 * overall:.0f} points "
                f"overall and by up to {100 * rise.max():.0f} points for {group} "
                f"(n={int(sizes[group]):,}), averaged over the DP models."
            )
    leaky = max(membership, key=lambda p: p.auc) if membership else None
    lead = (
        f"DP logistic regression (objective perturbation) on Adult train, scored on Adult test "
        f"by {cost.attribute}.{worst_line}"
        + (
            f" The membership attack's AUC falls from {leaky.auc:.2f} without noise to "
            f"{membership[-1].auc:.2f} at ε={membership[-1].epsilon:g} (chance 0.50 ± "
            f"{chance_sd:.3f})."
            if leaky is not None
            else ""
        )
    )
    attack_rows = [
        [
            "no noise (ε=10⁶)" if p.epsilon >= 1e5 else f"ε={p.epsilon:g}",
            f"{p.auc:.3f}",
            f"{p.advantage:.3f}",
            "leaks" if p.auc > 0.5 + 3.29 * chance_sd else "indistinguishable from chance",
        ]
        for p in membership
    ]
    html = render_template(
        "privacy_fairness.html.j2",
        figures=[
            {
                "title": (
                    f"Accuracy and false-negative rate by {cost.attribute} at each ε: mean over "
                    "the DP models of that ε, whiskers their range (non-private: 95% Wilson "
                    "interval)"
                ),
                "svg": chart_to_svg(_cost_chart(frame)),
            }
        ],
        tables=[
            {
                "title": "False-negative rate by group (mean over the DP models of each ε)",
                "columns": [cost.attribute, "n", *columns],
                "rows": group_rows,
            },
            {
                "title": "Membership inference (loss threshold, Yeom et al. 2018)",
                "columns": ["model", "mean AUC", "mean advantage", "verdict"],
                "rows": attack_rows,
            },
        ],
        notes=[
            f"Features: numeric columns scaled by declared public ranges, categories one-hot; "
            f"data_norm = {data_norm:.3g} is declared, never read from the data. ε counts "
            "add/remove neighbours.",
            "Membership: 150 training rows against 150 held-out rows, a deliberately overfit "
            "learner (C = 10⁴), mean over 6 disjoint splits; 'leaks' means the mean AUC is "
            "more than 3.29 standard deviations of chance above 0.5.",
            "Bagdasaryan, Poursaeed & Shmatikov (2019) found that DP training costs "
            "under-represented groups the most; the table shows each group's cost at each ε "
            "here. The smallest groups' rates also vary most from one DP model to the next "
            "(the whiskers), a cost a single deployed model hides.",
            _OUT_OF_SCOPE,
        ],
    )
    return Section(id=section_id, title=title, html=html, lead=lead)


def comparison_frame(exact: AuditResult, private: AuditResult, metric: str) -> pd.DataFrame:
    """One row per (audit, attribute set, group): the metric's value and interval."""
    records = []
    for name, result in (("exact", exact), ("private", private)):
        for g in result.groups:
            estimate = g.metrics[metric]
            if estimate.value is None:
                continue
            records.append(
                {
                    "audit": name,
                    "attributes": " × ".join(g.attributes),
                    "group": " × ".join(g.group),
                    "value": estimate.value,
                    "ci_low": estimate.ci_low,
                    "ci_high": estimate.ci_high,
                    "n": g.n,
                }
            )
    return pd.DataFrame.from_records(records)


def _comparison_chart(frame: pd.DataFrame, metric: str) -> alt.TopLevelMixin:
    single = frame[~frame["attributes"].str.contains("×")]
    color = alt.Color(
        "audit:N",
        scale=alt.Scale(domain=["exact", "private"], range=[JUDGED, REFERENCE]),
        legend=alt.Legend(orient="bottom", title=None),
    )
    y = alt.Y("group:N", title=None, sort=None)
    x = alt.X("value:Q", title=metric.replace("_", " "), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(single)
    layers = [
        base.mark_rule(strokeWidth=2).encode(
            x="ci_low:Q", x2="ci_high:Q", y=y, yOffset="audit:N", color=color
        ),
        base.mark_point(filled=True, size=45).encode(
            x=x, y=y, yOffset="audit:N", color=color, tooltip=list(single.columns)
        ),
    ]
    chart = (
        alt.layer(*layers, data=single)
        .properties(width=PAGE_WIDTH // 2 - 90)
        .facet(column=alt.Column("attributes:N", title=None))
        .resolve_scale(y="independent")
    )
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def private_audit_section(
    exact: AuditResult,
    private: PrivateAuditResult,
    *,
    section_id: str = "privacy-fairness-audit",
    title: str = "A private audit next to the exact one",
) -> Section:
    """The same decisions audited exactly and under DP: intervals, verdicts, power cost."""
    from ethica.fairness._private_audit import HARM_METRICS

    metric = HARM_METRICS.get(private.harm, "selection_rate")
    frame = comparison_frame(exact, private, metric)
    cost = private.privacy
    budget = "" if cost is None else ", ".join(f"{k}={v}" for k, v in _budget_items(cost.budget))
    verdicts_exact = {(d.name, d.attributes): d for d in exact.definitions}
    rows, agree, total = [], 0, 0
    for d in private.definitions:
        e = verdicts_exact.get((d.name, d.attributes))
        if e is None or d.verdict == "not_applicable":
            continue
        total += 1
        agree += e.verdict == d.verdict
        rows.append(
            [
                d.name.replace("_", " "),
                " × ".join(d.attributes),
                e.verdict,
                d.verdict,
                _interval(e.worst_difference),
                _interval(d.worst_difference),
            ]
        )
    widths = []
    if cost is not None:
        for p in cost.power:
            if p.metric == metric and p.ratio is not None:
                widths.append(
                    [
                        " × ".join(p.attributes),
                        " × ".join(p.group),
                        _fmt(p.sampling_width),
                        _fmt(p.private_width),
                        f"{p.ratio:.2f}×",
                    ]
                )
    ratio = None if cost is None else cost.median_width_ratio(metric)
    flips = [r for r in rows if r[2] != r[3]]
    opposite = [r for r in flips if {r[2], r[3]} == {"pass", "fail"}]
    lead = (
        f"The ordinary model's decisions audited from {cost.cells if cost else 0} "
        f"confusion counts released under {budget}: "
        f"{agree} of {total} verdicts agree with the exact audit"
        + (
            f"; the other {len(flips)} differ"
            + (
                f" ({len(opposite)} of them between pass and fail)"
                if opposite
                else " only by being 'inconclusive' on one side"
            )
            if flips
            else ""
        )
        + (
            f". Privacy costs its {metric.replace('_', ' ')} intervals a median "
            f"{ratio:.2f}× the exact width."
            if ratio is not None
            else "."
        )
    )
    html = render_template(
        "privacy_fairness.html.j2",
        figures=[
            {
                "title": (
                    f"{metric.replace('_', ' ')} by group: exact audit (Wilson intervals) and "
                    "private audit (intervals covering sampling and the exact noise law)"
                ),
                "svg": chart_to_svg(_comparison_chart(frame, metric)),
            }
        ],
        tables=[
            {
                "title": "Verdicts, exact and private (worst gap and its simultaneous interval)",
                "columns": [
                    "definition",
                    "groups",
                    "exact",
                    "private",
                    "exact worst gap",
                    "private worst gap",
                ],
                "rows": rows,
            },
            {
                "title": "What privacy cost in power: interval widths",
                "columns": ["groups", "group", "exact width", "private width", "ratio"],
                "rows": widths,
            },
        ],
        notes=[
            *private.notes,
            "A private audit's verdict is as honest as the exact one's: 'pass' and 'fail' need "
            "the whole simultaneous interval on one side of the tolerance, so noise only moves "
            "verdicts towards 'inconclusive'.",
            _OUT_OF_SCOPE,
        ],
    )
    return Section(id=section_id, title=title, html=html, lead=lead)


def _budget_items(budget: Any) -> list[tuple[str, str]]:
    symbols = {"epsilon": "ε", "rho": "ρ", "delta": "δ"}
    return [(sym, str(budget[key])) for key, sym in symbols.items() if key in budget]


def _interval(iv: Any) -> str:
    if iv.value is None:
        return "–"
    return f"{iv.value:+.3f} [{_fmt(iv.ci_low)}, {_fmt(iv.ci_high)}]"


#: What each learner is called on the page.
_LEARNER_NAMES = {
    "reduction": "DP exponentiated gradient (no group at predict)",
    "postprocessing": "DP post-processing (group at predict)",
}


def frontier_frame(result: PrivateFrontierResult) -> pd.DataFrame:
    """One row per point with a budget label (``"ε=0.5"``, ``"no noise"``) and learner name."""
    frame = result.to_frame()
    frame["budget"] = [
        "no noise" if pd.isna(e) else f"ε={e:g}" for e in frame["epsilon"].astype(float)
    ]
    frame["learner_name"] = frame["learner"].map(_LEARNER_NAMES)
    return frame


def _frontier_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    order = list(dict.fromkeys(frame.sort_values("epsilon", na_position="last")["budget"]))
    color = alt.Color(
        "budget:N", sort=order, scale=alt.Scale(scheme="viridis"),
        legend=alt.Legend(orient="bottom", title="privacy budget of each fit"),
    )  # fmt: skip
    shape = alt.Shape("bound:N", legend=alt.Legend(orient="bottom", title="parity bound"))
    x = alt.X("disparity:Q", title="demographic-parity gap on Adult test")
    y = alt.Y("error:Q", title="error on Adult test", scale=alt.Scale(zero=False))
    base = alt.Chart(frame)
    layers = [
        base.mark_rule(opacity=0.5).encode(x="disparity_ci_low:Q", x2="disparity_ci_high:Q",
                                           y=y, color=color),
        base.mark_rule(opacity=0.5).encode(x=x, y="error_ci_low:Q", y2="error_ci_high:Q",
                                           color=color),
        base.mark_point(filled=True, size=70).encode(
            x=x, y=y, color=color, shape=shape,
            tooltip=["learner", "budget", "bound", "error", "disparity", "disparity_min",
                     "disparity_max", "fits", "pareto"],
        ),
    ]  # fmt: skip
    chart = (
        alt.layer(*layers, data=frame)
        .properties(width=PAGE_WIDTH // 2 - 90, height=300)
        .facet(column=alt.Column("learner_name:N", title=None))
    )
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def _gap_story(frame: pd.DataFrame) -> str:
    """One sentence per learner at the tightest bound: the gap at the smallest and largest
    budget (and without noise, when measured)."""
    tight = frame[frame["bound"] == frame["bound"].min()]
    parts = []
    for learner, rows in tight.groupby("learner", sort=False):
        private = rows[rows["epsilon"].notna()].sort_values("epsilon")
        if private.empty:
            continue
        first, last = private.iloc[0], private.iloc[-1]
        text = (
            f"{_LEARNER_NAMES.get(str(learner), learner)}: gap {first['disparity']:.3f} at "
            f"{first['budget']}, {last['disparity']:.3f} at {last['budget']}"
        )
        free = rows[rows["epsilon"].isna()]
        if not free.empty:
            text += f", {free.iloc[0]['disparity']:.3f} without noise"
        parts.append(text)
    return "; ".join(parts)


def private_frontier_section(
    result: PrivateFrontierResult,
    *,
    section_id: str = "privacy-fairness-frontier",
    title: str = "Fair learning with a private protected attribute: the three-way frontier",
) -> Section:
    """Error × unfairness × epsilon of the DP fair learners, with intervals (module doc)."""
    frame = frontier_frame(result)
    bound = float(frame["bound"].min())
    lead = (
        f"Two DP fair learners fitted on Adult with the sex column private, over a grid of "
        f"budgets and parity bounds ({len(frame)} points, {result.n_test:,} test rows). At "
        f"the bound {bound:g}: {_gap_story(frame)}. Jagielski et al. (2019) show the trade "
        "is milder when the group may be used at predict time (post-processing): compare "
        "the two panels."
    )
    rows = [
        [
            _LEARNER_NAMES.get(str(r.learner), r.learner),
            r.budget,
            f"{r.bound:g}",
            f"{r.error:.3f} [{r.error_ci_low:.3f}, {r.error_ci_high:.3f}]",
            f"{r.disparity:.3f} [{r.disparity_ci_low:.3f}, {r.disparity_ci_high:.3f}]",
            f"{r.disparity_min:.3f}–{r.disparity_max:.3f}",
            "yes" if r.pareto else "",
        ]
        for r in frame.itertuples()
    ]
    html = render_template(
        "privacy_fairness.html.j2",
        figures=[
            {
                "title": (
                    "Error against demographic-parity gap on Adult test for each learner, "
                    "budget and bound: each point the expected classifier over its fits, "
                    f"whiskers {result.confidence:.0%} Wilson (error) and Newcombe (gap) "
                    "intervals"
                ),
                "svg": chart_to_svg(_frontier_chart(frame)),
            }
        ],
        tables=[
            {
                "title": "The three-way frontier (gap range: over the individual noisy fits)",
                "columns": [
                    "learner",
                    "budget",
                    "bound",
                    "error [CI]",
                    "gap [CI]",
                    "gap range",
                    "Pareto (3-way)",
                ],
                "rows": rows,
            }
        ],
        notes=[
            "Adult train is split: the first half stands for public data (the reduction's "
            "finite hypothesis class: best responses on it for a grid of multipliers; the "
            "post-processing's scorer), the second half is private. The features leave out "
            "the sex column; the budget protects the private rows, sex included.",
            "DP exponentiated gradient: exponential-mechanism best responses over the public "
            "class, constraint violations from exact-noise counts, the rounds composed in "
            "pure DP; DP post-processing: one noisy score histogram per group and label. "
            "Each ε is one fit's whole budget (add/remove neighbours).",
            f"A point is the classifier that runs one of its {int(frame['fits'].max())} fits "
            "at random; the intervals cover test-set sampling for it, the gap range shows "
            "how far one deployed fit can be from it. 'No noise' fits the same learner with "
            "a budget so large that no count moves (a reference, not a private model).",
            f"Total budget of the private fits: ε = {result.total_epsilon:g} (a frontier "
            "spends one budget per fit).",
        ],
    )
    return Section(id=section_id, title=title, html=html, lead=lead)
