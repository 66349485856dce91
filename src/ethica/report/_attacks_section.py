"""Report sections for the privacy attacks: a headline, a figure and a table per attack.

Reads only the attacks' result objects (:mod:`ethica.attacks`), never the rows:

- :func:`reconstruction_section`: Dinur–Nissim recovery against noise, the noise in units
  of ``sqrt(n)`` (the scale at which the attack breaks down), a chance line at 1/2 and the
  DP releases marked.
- :func:`census_section`: records rebuilt from exact and from DP tables, each beside a
  random guess from the exact tables' margins.
- :func:`membership_section`: ROC curves of the membership attacks, with the chance diagonal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import altair as alt
import pandas as pd

from ethica.report._figures import JUDGED, PAGE_WIDTH, REFERENCE, TOO_SMALL, chart_to_svg
from ethica.report._page import Section, _percent
from ethica.report._panels import Panel, panels_section

if TYPE_CHECKING:  # the attacks import scipy and scikit-learn: only when a section is drawn
    from ethica.attacks import (
        CensusAttackResult,
        MembershipResult,
        RecoverySweep,
        SubsetSumResult,
    )

__all__ = ["census_section", "membership_section", "reconstruction_section"]

#: Vega-Lite symlog constant: linear below 0.05 sqrt(n), logarithmic above (shows 0 and 80).
_SYMLOG_CONSTANT = 0.05
_NOISE_TICKS = (0, 0.1, 0.25, 0.5, 1, 2, 4, 10, 30, 100, 300, 1000, 3000, 10000)


def _number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _render(
    *,
    section_id: str,
    title: str,
    lead: str,
    figure: tuple[str, alt.TopLevelMixin],
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    notes: Sequence[str],
) -> Section:
    panel = Panel(
        figure=chart_to_svg(figure[1]), caption=figure[0], columns=columns, rows=rows, notes=notes
    )
    return panels_section(section_id=section_id, title=title, lead=lead, panels=[panel])


# --- Dinur–Nissim -----------------------------------------------------------------------


def _release_label(release: str, parameters: Mapping[str, Any]) -> str:
    if release == "dp":
        return f"DP ε={parameters['epsilon']:g}"
    if release == "bounded":
        return "bounded noise"
    return "rounded" if release == "rounded" else "exact"


def _recovery_frame(result: RecoverySweep | SubsetSumResult) -> pd.DataFrame:
    from ethica.attacks import SubsetSumResult

    if isinstance(result, SubsetSumResult):
        points = [
            {
                "release": result.release,
                "setting": _release_label(result.release, result.parameters),
                "noise": result.error_std_over_sqrt_n,
                "recovery": result.recovered_fraction,
                "low": result.recovered_fraction,
                "high": result.recovered_fraction,
                "chance": result.chance_fraction,
            }
        ]
    else:
        points = [
            {
                "release": p.release,
                "setting": _release_label(p.release, p.parameters),
                "noise": p.error_std_over_sqrt_n,
                "recovery": p.recovery_mean,
                "low": p.recovery_min,
                "high": p.recovery_max,
                "chance": p.chance_mean,
            }
            for p in result.points
        ]
    frame = pd.DataFrame(points)
    frame["kind"] = frame["release"].map(lambda r: "DP release" if r == "dp" else "no guarantee")
    return frame


def _recovery_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    domain, colours = ["no guarantee", "DP release"], [JUDGED, REFERENCE]
    largest = float(frame["noise"].max())
    ticks = [t for t in _NOISE_TICKS if t < largest] + [
        next((t for t in _NOISE_TICKS if t >= largest), largest)
    ]
    x = alt.X(
        "noise:Q",
        title="noise per answer (standard deviation, in units of √n)",
        scale=alt.Scale(type="symlog", constant=_SYMLOG_CONSTANT, domain=[0, ticks[-1]]),
        axis=alt.Axis(values=ticks, labelExpr="toString(datum.value)"),
    )
    y = alt.Y("recovery:Q", title="share of secret bits recovered", scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=domain, range=colours),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    base = alt.Chart(frame)
    plain = base.transform_filter("datum.release != 'dp'")
    dp = base.transform_filter("datum.release == 'dp'")
    chance = pd.DataFrame({"y": [0.5], "label": ["chance (1/2)"]})
    layers: list[Any] = [
        alt.Chart(chance).mark_rule(color=TOO_SMALL, strokeDash=[4, 3]).encode(y="y:Q"),
        alt.Chart(chance)
        .mark_text(align="left", dx=4, dy=-6, color="#5b6472")
        .encode(y="y:Q", x=alt.value(0), text="label:N"),
        base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=colour),
        plain.mark_line(point=True).encode(x=x, y=y, color=colour, order="noise:Q"),
        dp.mark_point(shape="diamond", size=120, filled=True).encode(
            x=x, y=y, color=colour, tooltip=["setting", "noise", "recovery"]
        ),
        dp.mark_text(dy=-12).encode(x=x, y=y, text="setting:N"),
    ]
    chart = alt.layer(*layers).properties(width=PAGE_WIDTH - 250, height=320)
    return cast(alt.TopLevelMixin, chart.configure_view(stroke=None))


def reconstruction_section(
    result: RecoverySweep | SubsetSumResult,
    *,
    section_id: str = "reconstruction",
    title: str = "Reconstruction from subset counts (Dinur–Nissim)",
) -> Section:
    """The section for a Dinur–Nissim run or sweep (:func:`ethica.attacks.recovery_sweep`)."""
    frame = _recovery_frame(result)
    exact = frame[frame["noise"] == 0]
    dp = frame[frame["release"] == "dp"]
    parts = []
    if not exact.empty:
        parts.append(
            f"from exact answers the attack recovers {_percent(exact['recovery'].max())} "
            "of the secret bits"
        )
    parts += [
        f"released under {row.setting} it recovers {_percent(row.recovery)}, "
        f"chance is {_percent(row.chance)}"
        for row in dp.itertuples()
    ]
    if not parts:
        row = frame.iloc[0]
        parts.append(
            f"with {row['setting']} answers the attack recovers {_percent(row['recovery'])}"
        )
    lead = (
        f"A secret bit for each of {result.n_people} people, {result.n_queries} random "
        f"subset counts published: {'; '.join(parts)}."
    )
    rows = [
        [
            row.setting,
            _number(row.noise),
            _percent(row.recovery),
            f"{_percent(row.low)} – {_percent(row.high)}",
            _percent(row.chance),
        ]
        for row in frame.itertuples()
    ]
    trials = getattr(result, "trials", 1)
    return _render(
        section_id=section_id,
        title=title,
        lead=lead,
        figure=(
            "Recovery against noise: noise well below √n gives the bits away; "
            "noise of order √n and DP noise leave the attacker at chance",
            _recovery_chart(frame),
        ),
        columns=["release", "noise sd / √n", "recovered", f"range over {trials} trials", "chance"],
        rows=rows,
        notes=[
            "The attacker solves min ‖Qy − a‖₁ over 0 ≤ y ≤ 1 by linear programming (HiGHS) "
            "and rounds y at 1/2 (Dinur and Nissim 2003, PODS).",
            "Chance: guessing the majority bit for everyone. DP: discrete Laplace noise of "
            "scale m/ε on each of the m counts (ε in total by sequential composition).",
        ],
    )


# --- Census -----------------------------------------------------------------------------


def census_section(
    exact: CensusAttackResult,
    private: Sequence[tuple[float, CensusAttackResult]] = (),
    *,
    mechanism: str = "",
    section_id: str = "census",
    title: str = "Reconstruction of census microdata from published tables",
) -> Section:
    """Records rebuilt from exact tables and from DP releases of them, beside the guess.

    Parameters
    ----------
    exact
        :func:`ethica.attacks.census_attack` on the exact tables.
    private
        ``(epsilon, result)`` for each DP release of the same tables (``exact=False``).
    mechanism
        One sentence on how the DP tables were released, shown as a note.
    """
    guess, guess_reidentified = exact.baseline_matched_share, exact.baseline_reidentified
    runs = [("exact tables", exact), *((f"DP ε={e:g}", r) for e, r in private)]
    bars = pd.DataFrame(
        [
            {"release": name, "series": series, "share": value}
            for name, result in runs
            for series, value in (
                ("attack", result.records_matched_share),
                ("random guess from the margins", guess),
            )
        ]
    )
    order = [name for name, _ in runs]
    colour = alt.Color(
        "series:N",
        scale=alt.Scale(
            domain=["attack", "random guess from the margins"], range=[JUDGED, TOO_SMALL]
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    chart = (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("release:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("series:N"),
            y=alt.Y(
                "share:Q", title="share of records rebuilt exactly", scale=alt.Scale(domain=[0, 1])
            ),
            color=colour,
            tooltip=["release", "series", "share"],
        )
        .properties(width=min(PAGE_WIDTH - 250, 160 * len(runs)), height=260)
        .configure_view(stroke=None)
    )
    lead = (
        f"{exact.n_people:,} real Adult people in {exact.n_blocks} blocks: from the exact "
        f"tables the attack rebuilds {_percent(exact.records_matched_share)} of the records "
        f"(a guess from the margins: {_percent(guess)}) and re-identifies "
        f"{exact.reidentified} of {exact.population_uniques} people unique in their block"
    )
    lead += "".join(
        f"; from DP tables at ε={e:g}: {_percent(r.records_matched_share)}" for e, r in private
    )
    rows = [
        [
            name,
            _percent(result.records_matched_share),
            _percent(guess),
            str(result.reidentified),
            _number(guess_reidentified, 1),
            _percent(result.unique_blocks_share),
        ]
        for name, result in runs
    ]
    notes = [
        "Tables: block × sex × age group × race, block × sex × five-year age band, block × "
        "race, block totals. The attacker solves an integer program per block (HiGHS) and "
        "proves uniqueness with a no-good cut; on noisy tables it minimises the total "
        "deviation (Garfinkel, Abowd and Martindale 2019, CACM).",
        "Random guess: each block's people drawn from the product of its one-way margins "
        "in the exact tables, scored exactly in expectation.",
    ]
    if mechanism:
        notes.append(f"DP release: {mechanism}.")
    if any(r.unique_blocks_share for _, r in private):
        notes.append(
            "On DP tables a block is 'provably unique' for the published counts, which the "
            "noise moved: the attacker can no longer tell right records from wrong ones."
        )
    return _render(
        section_id=section_id,
        title=title,
        lead=lead + ".",
        figure=(
            "Share of person records rebuilt exactly, attack vs a random guess from the margins",
            chart,
        ),
        columns=[
            "tables",
            "records rebuilt",
            "guess from margins",
            "uniques re-identified",
            "guess re-identifies",
            "blocks provably unique",
        ],
        rows=rows,
        notes=notes,
    )


# --- Membership -------------------------------------------------------------------------


def membership_section(
    results: Sequence[tuple[str, MembershipResult]],
    *,
    section_id: str = "membership",
    title: str = "Membership inference against trained models",
) -> Section:
    """ROC curves and scores of membership attacks; ``results`` pairs a model name with a
    :class:`ethica.attacks.MembershipResult` (several attacks per model allowed)."""
    attack_names = {"loss_threshold": "loss threshold", "shadow_models": "shadow models"}
    curves = pd.concat(
        [
            r.roc_frame().assign(model=model, attack=attack_names.get(r.attack, r.attack))
            for model, r in results
        ],
        ignore_index=True,
    )
    diagonal = pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    chart = (
        alt.layer(
            alt.Chart(diagonal)
            .mark_line(color=TOO_SMALL, strokeDash=[4, 3])
            .encode(x="fpr:Q", y="tpr:Q"),
            alt.Chart(curves)
            .mark_line()
            .encode(
                x=alt.X("fpr:Q", title="false positive rate (non-members called members)"),
                y=alt.Y("tpr:Q", title="true positive rate (members found)"),
                color=alt.Color("model:N", legend=alt.Legend(orient="bottom")),
                strokeDash=alt.StrokeDash("attack:N", legend=alt.Legend(orient="bottom")),
                tooltip=["model", "attack", "fpr", "tpr"],
            ),
        )
        .properties(width=PAGE_WIDTH // 2, height=360)
        .configure_view(stroke=None)
    )
    strongest: dict[str, MembershipResult] = {}
    for model, r in results:
        if model not in strongest or r.auc > strongest[model].auc:
            strongest[model] = r
    first = results[0][1]
    lead = (
        f"Telling {first.n_members:,} training rows from {first.n_nonmembers:,} held-out rows "
        "(AUC 0.50 is chance), the strongest attack reaches "
        + "; ".join(
            f"AUC {r.auc:.2f} against the {model} ({attack_names.get(r.attack, r.attack)}, "
            f"advantage {r.advantage:.2f})"
            for model, r in strongest.items()
        )
        + "."
    )
    rows = [
        [
            model,
            attack_names.get(r.attack, r.attack),
            _number(r.auc, 3),
            _percent(r.tpr_at_low_fpr),
            _number(r.advantage, 3),
        ]
        for model, r in results
    ]
    return _render(
        section_id=section_id,
        title=title,
        lead=lead,
        figure=("ROC curves of the attacks (dashed diagonal: chance)", chart),
        columns=["model", "attack", "AUC", "TPR at 1% FPR", "advantage max(TPR − FPR)"],
        rows=rows,
        notes=[
            "Loss threshold: score log p(y | x) (Yeom et al. 2018, CSF). Shadow models: clones "
            "trained on the attacker's own rows teach a per-label classifier what members' "
            "predictions look like (Shokri et al. 2017, IEEE S&P).",
            "TPR at 1% FPR is the measure Carlini et al. (2022) argue matters for privacy.",
        ],
    )
