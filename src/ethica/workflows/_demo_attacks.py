"""The demo's privacy part: exact statistics leak; DP does not.

:func:`attack_sections` runs the three attacks at demo size on real data (about 15 s on a
2-core machine) and returns report sections: an overview table, then one section per
attack (Dinur–Nissim recovery against noise, census reconstruction from exact and DP
tables, membership inference on Adult models).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ethica.report import Section

__all__ = ["DEMO_SIZES", "DemoSizes", "attack_sections"]


@dataclass(frozen=True)
class DemoSizes:
    """The demo's sizes (stated in the report)."""

    subset_people: int = 200
    subset_queries: int = 800
    subset_trials: int = 2
    census_blocks: int = 100
    census_mean_block_size: int = 8
    census_epsilons: tuple[float, ...] = (0.25, 1.0, 4.0)
    members: int = 1500
    shadows: int = 4


DEMO_SIZES = DemoSizes()


def _overview(rows: list[tuple[str, str, str, str]]) -> Section:
    from ethica.report._panels import Panel, panels_section

    panel = Panel(
        columns=["attack", "on exact statistics", "on a DP release", "chance / guess"],
        rows=rows,
        notes=[
            "Every attack runs on real data (UCI Adult); sizes: "
            f"{DEMO_SIZES.subset_people} secret bits and {DEMO_SIZES.subset_queries} "
            f"queries; {DEMO_SIZES.census_blocks} census blocks; "
            f"{DEMO_SIZES.members:,} training rows per model."
        ],
    )
    return panels_section(
        section_id="attacks",
        title="Privacy attacks: exact statistics leak; DP does not",
        lead=(
            "Aggregate statistics are not anonymous: enough exact counts let an attacker "
            "rebuild the people behind them. Released with differential privacy, the same "
            "statistics leave the attacker no better than a guess."
        ),
        panels=[panel],
    )


def attack_sections(
    progress: Callable[[str], None] | None = None, *, adult: pd.DataFrame | None = None
) -> tuple[Section, ...]:
    """Run the demo-sized attacks on Adult and return their report sections.

    Parameters
    ----------
    progress
        Called with a short message as each attack starts (as ``build_demo``'s stages).
    adult
        Adult's training file when the caller has it already (read here otherwise).

    Returns
    -------
    tuple of Section
        Overview ("exact statistics leak; DP does not"), reconstruction, census, membership.
    """
    from ethica.attacks import recovery_sweep
    from ethica.datasets import load_adult
    from ethica.report import census_section, membership_section, reconstruction_section
    from ethica.workflows._attack_census import run_census_comparison
    from ethica.workflows._attack_membership import run_membership

    step = progress or (lambda _message: None)
    step("Attack 1/3: reconstructing secret bits from subset counts (Dinur–Nissim)")
    sweep = recovery_sweep(
        DEMO_SIZES.subset_people,
        DEMO_SIZES.subset_queries,
        trials=DEMO_SIZES.subset_trials,
        epsilons=(1.0,),
    )
    if adult is None:
        adult = load_adult("train")
    step("Attack 2/3: rebuilding census records from exact and DP tables")
    census = run_census_comparison(
        adult,
        n_blocks=DEMO_SIZES.census_blocks,
        mean_block_size=DEMO_SIZES.census_mean_block_size,
        epsilons=DEMO_SIZES.census_epsilons,
    )
    step("Attack 3/3: membership inference against models trained on Adult")
    membership = run_membership(
        adult,
        label="income",
        positive=">50K",
        n_members=DEMO_SIZES.members,
        n_shadows=DEMO_SIZES.shadows,
    )
    exact_bits = next(p for p in sweep.points if p.release == "exact")
    dp_bits = next(p for p in sweep.points if p.release == "dp")
    dp_census = next(r for e, r in census.private if e == 1.0)
    tree, logistic = membership.models
    overview = _overview(
        [
            (
                "secret bits recovered from subset counts",
                f"{100 * exact_bits.recovery_mean:.0f}%",
                f"{100 * dp_bits.recovery_mean:.0f}% (ε = 1)",
                f"{100 * exact_bits.chance_mean:.0f}%",
            ),
            (
                "census records rebuilt from block tables",
                f"{100 * census.exact.records_matched_share:.0f}%",
                f"{100 * dp_census.records_matched_share:.0f}% (ε = 1)",
                f"{100 * census.exact.baseline_matched_share:.0f}%",
            ),
            (
                "membership attack AUC, overfit tree vs regularised model",
                f"{max(a.auc for a in tree.attacks()):.2f} (tree)",
                f"{max(a.auc for a in logistic.attacks()):.2f} (logistic, no DP)",
                "0.50",
            ),
        ]
    )
    return (
        overview,
        reconstruction_section(sweep),
        census_section(census.exact, census.private, mechanism=census.mechanism),
        membership_section([(m.name, a) for m in membership.models for a in m.attacks()]),
    )
