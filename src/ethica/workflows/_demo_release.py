"""The demo's release part: population statistics published with differential privacy.

:func:`release_sections` runs three releases on real data (UCI Adult, about 10 s on a
2-core machine) and returns one report section each:

1. **Census**: Adult's people placed in a seeded geography (regions -> sub-regions ->
   blocks, :func:`census_population`), counted by block × sex × age band × race and at every
   coarser geographic level under ``PureDP(1)``, made consistent with
   :func:`ethica.privacy.make_consistent`; the section checks that the tables add up and
   shows the relative error against true group size (small groups pay most).
2. **Mobility**: a week of seeded visits by the same people (:func:`mobility_visits`), one
   person in many rows, counted per place and day with user-level privacy
   (``UserLevel``), every number with its interval; true vs released for a few places.
3. **Supermarket**: the budget for "people in the supermarket at 1 p.m., ±25 at 95%"
   (:func:`ethica.privacy.plan_budget`), the error-vs-epsilon table, and that release.

Every charge goes to a temporary ledger (a ``tempfile`` directory removed afterwards), so the
user's default ledger is untouched. The sections' markup is the report's
(:func:`ethica.report._panels.panels_section`): this module computes and words the results.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ethica.report import Section
from ethica.report._panels import Panel, panels_section

if TYPE_CHECKING:
    from ethica.privacy import Budget, Ledger, Release
    from ethica.privacy.release._queries import Query
    from ethica.privacy.release._sensitivity import PrivacyUnit

__all__ = [
    "CENSUS",
    "MOBILITY",
    "SUPERMARKET",
    "CensusDesign",
    "MobilityDesign",
    "SupermarketDesign",
    "additivity_mismatches",
    "census_population",
    "census_release",
    "expected_after_bounding",
    "mobility_visits",
    "release_sections",
]

KeyTuple = tuple[object, ...]
GEOGRAPHY = ("region", "sub_region", "block")
DEMOGRAPHY = ("sex", "age_band", "race")
#: Public domains (the Adult codebook's categories and fixed age cut points), not read from
#: the data: a key set taken from the data would leak which cells are empty.
SEXES = ("Female", "Male")
RACES = ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White")
AGE_EDGES = (0, 25, 45, 65, 200)
AGE_BANDS = ("17-24", "25-44", "45-64", "65+")
LEDGER_NOTE = (
    "The budget was charged to a temporary ledger created for this demo and deleted "
    "afterwards; your default ledger is untouched."
)
#: The census section names the worst relative errors among groups at least this large.
WORST_FROM = 10
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class CensusDesign:
    """The census release as stated in the report.

    People are placed in ``regions`` regions, each with ``sub_regions`` sub-regions of
    ``blocks`` blocks; the shares at each level are drawn from a Dirichlet(``concentration``)
    so areas differ in size, and each person then lands in one area at random.
    """

    regions: int = 4
    sub_regions: int = 3
    blocks: int = 4
    concentration: float = 2.0
    seed: int = 2026
    epsilon: int = 1
    #: Budget weights: total, regions, sub-regions, blocks, block × sex × age band × race.
    weights: tuple[int, ...] = (1, 1, 1, 1, 4)


@dataclass(frozen=True)
class MobilityDesign:
    """The mobility release: a week of visits by Adult's people (seeded).

    Each person makes ``1 + Poisson(mean_extra_trips)`` trips, each to one of ``places``
    places (popularity ``∝ rank**-popularity``, Zipf-like), on a uniform day at a uniform hour
    from 8 to 20; with probability ``repeat`` a trip is followed by a second visit to the same
    place on the same day. Place 1 is the supermarket.
    """

    places: int = 40
    popularity: float = 1.1
    mean_extra_trips: float = 3.0
    repeat: float = 0.15
    seed: int = 7
    epsilon: int = 1
    max_groups_per_user: int = 5
    max_rows_per_group: int = 2
    shown_places: tuple[int, ...] = (1, 10, 40)


@dataclass(frozen=True)
class SupermarketDesign:
    """The planning example: a single count, ``±target`` at ``confidence``."""

    target: int = 25
    confidence: float = 0.95
    hour: int = 13
    day: str = "Sat"
    epsilons: tuple[str, ...] = ("0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5")


CENSUS = CensusDesign()
MOBILITY = MobilityDesign()
SUPERMARKET = SupermarketDesign()


def _spend(
    frame: pd.DataFrame,
    unit: PrivacyUnit | str,
    query: Query,
    budget: Budget,
    ledger: Ledger | None,
    dataset: str,
) -> Release:
    """Release ``query`` of ``frame`` in a session whose whole budget is ``budget``, charged
    to ``ledger`` under ``dataset`` (registered here with that budget and unit: the demo's
    ledger is its own, and a session never registers a dataset itself)."""
    from ethica.privacy import Rows, Session

    if ledger is not None and not ledger.has_dataset(dataset):
        ledger.create_dataset(dataset, budget, privacy_unit=Rows() if unit == "rows" else unit)
    session = Session(frame, privacy_unit=unit, budget=budget, ledger=ledger, dataset=dataset)
    return session.evaluate(query, budget)


# ------------------------------------------------------------------------------- census
def _area_names(design: CensusDesign) -> list[tuple[str, str, str]]:
    """Every block as ``(region, sub-region, block)``, e.g. ``("R2", "R2.1", "R2.1.3")``."""
    return [
        (f"R{r}", f"R{r}.{s}", f"R{r}.{s}.{b}")
        for r in range(1, design.regions + 1)
        for s in range(1, design.sub_regions + 1)
        for b in range(1, design.blocks + 1)
    ]


def census_population(adult: pd.DataFrame, design: CensusDesign = CENSUS) -> pd.DataFrame:
    """Adult's people with a seeded geography and an age band (see :class:`CensusDesign`).

    Block shares are the product of Dirichlet draws at each level (region share × sub-region
    share within it × block share within that), so some blocks are large and some tiny.
    """
    rng = np.random.default_rng(design.seed)
    shape = (design.regions, design.sub_regions, design.blocks)
    alpha = design.concentration
    region = rng.dirichlet(np.full(shape[0], alpha))
    sub = rng.dirichlet(np.full(shape[1], alpha), size=shape[0])
    block = rng.dirichlet(np.full(shape[2], alpha), size=shape[:2])
    shares = (region[:, None, None] * sub[:, :, None] * block).ravel()
    areas = np.array(_area_names(design), dtype=object)
    placed = areas[rng.choice(len(areas), size=len(adult), p=shares / shares.sum())]
    age = pd.cut(adult["age"], list(AGE_EDGES), right=False, labels=list(AGE_BANDS))
    return pd.DataFrame(
        {
            "region": placed[:, 0].astype(str),
            "sub_region": placed[:, 1].astype(str),
            "block": placed[:, 2].astype(str),
            "sex": adult["sex"].astype(str).to_numpy(),
            "age_band": age.astype(str).to_numpy(),
            "race": adult["race"].astype(str).to_numpy(),
        }
    )


def _census_levels(design: CensusDesign) -> list[tuple[str, tuple[str, ...], list[KeyTuple]]]:
    """Name, key columns and public keys of each released table, coarsest first."""
    areas = _area_names(design)
    demography = [(s, a, r) for s in SEXES for a in AGE_BANDS for r in RACES]
    return [
        ("total", (), []),
        ("regions", GEOGRAPHY[:1], list(dict.fromkeys(a[:1] for a in areas))),
        ("sub-regions", GEOGRAPHY[:2], list(dict.fromkeys(a[:2] for a in areas))),
        ("blocks", GEOGRAPHY, list(areas)),
        (
            "block × sex × age × race",
            GEOGRAPHY + DEMOGRAPHY,
            [(*a, *d) for a in areas for d in demography],
        ),
    ]


def census_release(
    people: pd.DataFrame, ledger: Ledger | None = None, design: CensusDesign = CENSUS
) -> Release:
    """Release every census level under ``PureDP(design.epsilon)``, made consistent."""
    from ethica.privacy import Batch, Count, PureDP, make_consistent

    levels = _census_levels(design)
    batch = Batch(
        tuple(Count(by=by, keys=keys) if by else Count() for _, by, keys in levels),
        weights=design.weights,
        names=tuple(name for name, _, _ in levels),
    )
    noisy = _spend(people, "rows", batch, PureDP(design.epsilon), ledger, "demo: census population")
    return make_consistent(noisy)


def additivity_mismatches(release: Release) -> tuple[int, int]:
    """``(cells checked, cells that fail)``: a cell fails if it is negative, not an integer,
    or differs from the sum of the finest table's cells it contains."""
    finest = max(release.tables, key=lambda t: len(t.by))
    leaves = finest.to_frame()
    checked = failed = 0
    for table in release.tables:
        frame = table.to_frame()
        if table.by:
            sums = leaves.groupby(list(table.by))["value"].sum()
            parts = sums.reindex(
                pd.MultiIndex.from_frame(frame[list(table.by)])
                if len(table.by) > 1
                else frame[table.by[0]]
            ).fillna(0)
            expected = parts.to_numpy()
        else:
            expected = np.array([leaves["value"].sum()])
        values = frame["value"].to_numpy()
        bad = (values < 0) | (values != np.round(values)) | (values != expected)
        checked += len(values)
        failed += int(bad.sum())
    return checked, failed


def _truth(people: pd.DataFrame, by: Sequence[str]) -> dict[KeyTuple, int]:
    if not by:
        return {(): len(people)}
    sizes = people.groupby(list(by)).size()
    return {(k if isinstance(k, tuple) else (k,)): int(v) for k, v in sizes.items()}


def _block_cell(label: str) -> str:
    """``"R1 × R1.2 × R1.2.3 × Male × ..."`` -> ``"R1.2.3 × Male × ..."`` (the block names its
    sub-region and region)."""
    return " × ".join(label.split(" × ")[len(GEOGRAPHY) - 1 :])


def _pct(value: float) -> str:
    return "–" if value != value else f"{100 * value:.1f}%"


def _census_section(people: pd.DataFrame, release: Release, design: CensusDesign) -> Section:
    from ethica.report._release_section import (
        error_by_size,
        error_by_size_bands,
        error_by_size_figure,
    )

    frames = [error_by_size(t, _truth(people, t.by)) for t in release.tables]
    everything = pd.concat(frames, ignore_index=True)
    checked, failed = additivity_mismatches(release)
    finest = frames[-1]
    bands = error_by_size_bands(finest)
    small, large = bands[0], bands[-1]
    empty = int((finest["true_count"] == 0).sum())
    worst = finest[finest["true_count"] >= WORST_FROM].nlargest(3, "observed_relative_error")
    where = "; ".join(
        f"{_block_cell(str(r.cell))} ({int(r.true_count)} people, released {r.value:.0f}, "
        f"{_pct(r.observed_relative_error)})"
        for r in worst.itertuples()
    )
    levels = [
        (
            t.name,
            f"{len(t.values):,}",
            str(t.budget),
            f"±{f['half_width'].iloc[0]:,.0f}",
            f"{f['abs_error'].max():,.0f}",
        )
        for t, f in zip(release.tables, frames, strict=True)
    ]
    adds_up = (
        f"Checked: all {checked:,} released cells are non-negative integers and every total, "
        "region, sub-region and block count equals the sum of its parts."
        if failed == 0
        else f"Check FAILED: {failed:,} of {checked:,} cells do not add up."
    )
    panels = [
        Panel(
            figure=error_by_size_figure(everything),
            caption=(
                "Relative error of each released cell against its true size (log scale); "
                "dashed: the 95% interval's half-width over the true size"
            ),
            columns=[
                "people in the group",
                "cells",
                "median relative error",
                "largest relative error",
                "median |error| (people)",
            ],
            rows=[
                (
                    b["band"],
                    f"{b['cells']:,}",
                    _pct(b["median_relative_error"]),
                    _pct(b["max_relative_error"]),
                    f"{b['median_abs_error']:,.0f}",
                )
                for b in bands
            ],
        ),
        Panel(
            columns=["table", "cells", "budget", "95% interval", "largest |error|"],
            rows=levels,
            notes=[
                f"Population: the {len(people):,} people of UCI Adult (train), placed with "
                f"a seeded generator (seed {design.seed}) in {design.regions} regions × "
                f"{design.sub_regions} sub-regions × {design.blocks} blocks; area shares "
                f"drawn from Dirichlet({design.concentration:g}) at each level.",
                f"Release: {release.budget} in total (row-level privacy: one person), "
                f"split {':'.join(map(str, design.weights))} across the five tables; "
                "discrete Laplace noise; then weighted least squares with x ≥ 0 and "
                "controlled rounding (no privacy cost).",
                f"Where it bites, among groups of {WORST_FROM} or more people: {where}.",
                f"{empty:,} of the {len(finest):,} finest cells are empty in truth; their "
                "relative error is undefined and they are not plotted.",
                LEDGER_NOTE,
            ],
        ),
    ]
    lead = (
        f"Person counts for {len(release.tables[-1].values):,} block × sex × age × race cells "
        f"and every coarser area, released under {release.budget} and made consistent: the "
        f"tables add up{'' if failed == 0 else ' (check failed)'}. Small groups pay most: "
        f"groups of {small['band']} people are off by a median "
        f"{_pct(small['median_relative_error'])}, groups of {large['band']} by "
        f"{_pct(large['median_relative_error'])}."
    )
    return panels_section(
        section_id="release-census",
        title="Census tables that add up, under DP",
        lead=lead,
        headline=adds_up,
        panels=panels,
    )


# ----------------------------------------------------------------------------- mobility
def _place_names(design: MobilityDesign) -> list[str]:
    return ["supermarket", *(f"place {i:02d}" for i in range(2, design.places + 1))]


def mobility_visits(adult: pd.DataFrame, design: MobilityDesign = MOBILITY) -> pd.DataFrame:
    """One row per visit: ``person_id``, ``place``, ``day``, ``hour`` (see
    :class:`MobilityDesign`); the visitors are Adult's people, one id per row of ``adult``."""
    rng = np.random.default_rng(design.seed)
    trips = 1 + rng.poisson(design.mean_extra_trips, len(adult))
    person = np.repeat(np.arange(len(adult)), trips)
    popularity = np.arange(1, design.places + 1, dtype=float) ** -design.popularity
    place = rng.choice(design.places, size=len(person), p=popularity / popularity.sum())
    day = rng.integers(0, len(DAYS), len(person))
    hour = rng.integers(8, 21, len(person))
    again = rng.random(len(person)) < design.repeat
    names, days = np.array(_place_names(design), dtype=object), np.array(DAYS, dtype=object)
    return pd.DataFrame(
        {
            "person_id": np.concatenate([person, person[again]]),
            "place": names[np.concatenate([place, place[again]])].astype(str),
            "day": days[np.concatenate([day, day[again]])].astype(str),
            "hour": np.concatenate([hour, rng.integers(8, 21, int(again.sum()))]),
        }
    )


def expected_after_bounding(
    visits: pd.DataFrame, by: Sequence[str], *, user: str, max_groups: int, max_rows: int
) -> pd.Series:
    """Expected count per cell after user-level bounding (the custodian's view).

    Bounding keeps at most ``m`` rows of a user per cell and at most ``k`` of the user's
    ``c`` cells, chosen uniformly, so a user with ``r`` rows in a cell adds
    ``min(r, m) · min(1, k / c)`` to its expectation.
    """
    rows = visits.groupby([user, *by]).size().rename("rows").reset_index()
    cells = rows.groupby(user)["rows"].transform("size")
    kept = np.minimum(rows["rows"], max_rows) * np.minimum(1.0, max_groups / cells)
    return kept.groupby([rows[c] for c in by]).sum()


def _mobility_section(visits: pd.DataFrame, release: Release, design: MobilityDesign) -> Section:
    from ethica.report._release_section import release_section, truth_whisker_figure

    table = release.table()
    frame = table.to_frame()
    raw = visits.groupby(["place", "day"]).size()
    expected = expected_after_bounding(
        visits,
        ["place", "day"],
        user="person_id",
        max_groups=design.max_groups_per_user,
        max_rows=design.max_rows_per_group,
    )
    index = pd.MultiIndex.from_frame(frame[["place", "day"]])
    frame = frame.assign(
        true_count=raw.reindex(index).fillna(0).to_numpy(),
        expected=expected.reindex(index).fillna(0).to_numpy(),
        cell=frame["place"] + " × " + frame["day"],
    )
    names = _place_names(design)
    shown = frame[frame["place"].isin([names[i - 1] for i in design.shown_places])]
    covered = float(
        ((frame["ci_low"] <= frame["expected"]) & (frame["expected"] <= frame["ci_high"])).mean()
    )
    half = float((frame["ci_high"] - frame["ci_low"]).iloc[0] / 2)
    kept = float(expected.sum() / len(visits))
    people = visits["person_id"].nunique()
    figure = truth_whisker_figure(
        shown.assign(cell=shown["day"]), value_title="visits per day", facet="place"
    )
    notes = [
        f"Visits: {len(visits):,} rows for {people:,} people of UCI Adult (train), generated "
        f"with a seeded generator (seed {design.seed}): 1 + Poisson({design.mean_extra_trips:g}) "
        f"trips a week each to {design.places} places (popularity ∝ rank^-{design.popularity:g}),"
        f" a second visit the same day with probability {design.repeat:g}.",
        f"User-level privacy: each person's contribution is bounded in the engine to "
        f"{design.max_groups_per_user} place-days and {design.max_rows_per_group} visits per "
        f"place-day, so one person changes the table by at most "
        f"{design.max_groups_per_user * design.max_rows_per_group} (the L1 sensitivity).",
        f"Bounding keeps {100 * kept:.1f}% of the visits in expectation, so the released counts "
        "estimate the bounded counts (grey ticks) and fall short of the raw counts (orange "
        "diamonds) where heavy users meet: the price of bounding, apart from the noise.",
        f"{100 * covered:.0f}% of the {len(frame):,} intervals contain the expected bounded "
        "count (95% stated).",
        LEDGER_NOTE,
    ]
    panel = Panel(
        figure=figure,
        caption=(
            "Visits per day at three places: released value with its 95% interval "
            "(blue), the true count (orange diamond) and the expected count after "
            "contribution bounding (grey tick)"
        ),
        notes=notes,
    )
    lead = (
        f"Visits per place and day, where one person appears in many rows ({len(visits):,} "
        f"visits by {people:,} people), released with user-level privacy under "
        f"{release.budget}: every count carries ±{half:,.0f} at 95%, which is "
        f"{_pct(half / shown['true_count'].max())} of the busiest cell shown and "
        f"{_pct(half / max(shown['true_count'].min(), 1))} of the quietest."
    )
    return panels_section(
        section_id="release-mobility",
        title="Mobility counts with user-level privacy",
        lead=lead,
        panels=[panel],
        appendix=[release_section(release, section_id="release-mobility-table")],
    )


def mobility_release(
    visits: pd.DataFrame, ledger: Ledger | None = None, design: MobilityDesign = MOBILITY
) -> Release:
    """Visits per place × day (public keys) under user-level ``PureDP(design.epsilon)``."""
    from ethica.privacy import Count, PureDP, UserLevel

    unit = UserLevel(
        "person_id",
        max_groups_per_user=design.max_groups_per_user,
        max_rows_per_group=design.max_rows_per_group,
    )
    keys = {"place": _place_names(design), "day": list(DAYS)}
    query = Count(by=["place", "day"], keys=keys)
    return _spend(visits, unit, query, PureDP(design.epsilon), ledger, "demo: visits")


# -------------------------------------------------------------------------- supermarket
def _supermarket_section(
    visits: pd.DataFrame, ledger: Ledger | None, design: SupermarketDesign, unit_bounds: int
) -> Section:
    from ethica.privacy import Count, PureDP, UserLevel, error_table, plan_budget
    from ethica.report._release_section import error_curve_figure

    budget = plan_budget(1, 1, design.target, design.confidence, PureDP)
    user_budget = plan_budget(unit_bounds, unit_bounds**2, design.target, design.confidence, PureDP)
    epsilons = [Fraction(e) for e in design.epsilons]
    curves = {
        "one visit per person": error_table(1, 1, epsilons, design.confidence, PureDP),
        f"user-level (≤ {unit_bounds} visits per person)": error_table(
            unit_bounds, unit_bounds**2, epsilons, design.confidence, PureDP
        ),
    }
    frame = pd.DataFrame([{**row, "series": name} for name, rows in curves.items() for row in rows])
    inside = visits[
        (visits["place"] == "supermarket")
        & (visits["day"] == design.day)
        & (visits["hour"] == design.hour)
    ]
    released = _spend(
        inside, UserLevel("person_id"), Count(), budget, ledger, "demo: supermarket at 1 p.m."
    ).table()
    value, low, high = released.values[0], released.ci_low[0], released.ci_high[0]
    true = inside["person_id"].nunique()
    rows = [
        (f"{float(e):g}", *(f"±{r['half_width']:,.0f}" for r in (c[i] for c in curves.values())))
        for i, e in enumerate(epsilons)
    ]
    panel = Panel(
        figure=error_curve_figure(frame, target=design.target),
        caption=f"95% interval half-width against epsilon; dashed: the ±{design.target} target",
        columns=["epsilon", *curves],
        rows=rows,
        notes=[
            f"plan_budget: ±{design.target} at {100 * design.confidence:g}% needs "
            f"ε = {float(budget.epsilon):.4f} for a count where a person is counted once, "
            f"ε = {float(user_budget.epsilon):.4f} when a person may add {unit_bounds}.",
            f"Released with ε = {float(budget.epsilon):.4f}: {value:,.0f} people "
            f"(interval [{low:,.0f}, {high:,.0f}]) in the supermarket on {design.day} at "
            f"{design.hour}:00; the true count is {true:,}.",
            LEDGER_NOTE,
        ],
    )
    lead = (
        f"\u201cHow many people were in the supermarket at 1 p.m., ±{design.target} at "
        f"{100 * design.confidence:g}%?\u201d needs ε = {float(budget.epsilon):.3f}; "
        f"released: {value:,.0f} ± {(high - low) / 2:,.0f} (true {true:,}). If one person "
        f"may count {unit_bounds} times, the same accuracy costs ε = "
        f"{float(user_budget.epsilon):.3f}."
    )
    return panels_section(
        section_id="release-plan",
        title="Planning a release: the supermarket at 1 p.m.",
        lead=lead,
        panels=[panel],
    )


# ------------------------------------------------------------------------------- driver
def release_sections(
    progress: Callable[[str], None] | None = None, *, adult: pd.DataFrame | None = None
) -> tuple[Section, ...]:
    """Run the three demo releases on Adult and return their report sections.

    Parameters
    ----------
    progress
        Called with a short message as each release starts (as ``build_demo``'s stages).
    adult
        Adult's training file when the caller has it already (read here otherwise).

    Returns
    -------
    tuple of Section
        Census (``release-census``), mobility (``release-mobility``) and planning
        (``release-plan``).
    """
    from ethica.datasets import load_adult
    from ethica.privacy import Ledger

    step = progress or (lambda _message: None)
    if adult is None:
        adult = load_adult("train")
    with tempfile.TemporaryDirectory(prefix="ethica-demo-") as folder:
        ledger = Ledger(Path(folder) / "ledger.sqlite3")
        try:
            step("Release 1/3: census tables by area, sex, age and race, made consistent")
            people = census_population(adult)
            census = _census_section(people, census_release(people, ledger), CENSUS)
            step("Release 2/3: visits per place and day with user-level privacy")
            visits = mobility_visits(adult)
            mobility = _mobility_section(visits, mobility_release(visits, ledger), MOBILITY)
            step("Release 3/3: planning the supermarket count (±25 at 95%)")
            bound = MOBILITY.max_groups_per_user * MOBILITY.max_rows_per_group
            plan = _supermarket_section(visits, ledger, SUPERMARKET, bound)
        finally:
            ledger.close()
    return census, mobility, plan
