"""The supermarket, every day for a year: a stream of daily counts and running totals.

:func:`supermarket_year` simulates visitors of one supermarket at 1 p.m. (a public, seeded
toy population; each visitor at most once a day), registers a dataset for a user's rows in
any 28 days, creates a stream, appends every day's file (each read only for its own day),
and returns the released values with their intervals, the truth they estimate, and the
price of user-level privacy over the window compared with per-day event-level privacy: the
same noise, judged for one user's single day, costs ``rho * Δ2²(1 day) / Δ2²(window)``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ethica._results import Result
from ethica.privacy import ZCDP, Ledger
from ethica.privacy.stream import (
    DayRelease,
    Stream,
    StreamSpec,
    UserWindow,
    build_strategy,
    stream_noise,
)

if TYPE_CHECKING:
    from ethica.report import Section

__all__ = ["SupermarketYear", "stream_sections", "supermarket_section", "supermarket_year"]


@dataclass(frozen=True)
class SupermarketYear(Result):
    """What the demo released, and the truth behind it (public toy data)."""

    mechanism: str
    budget: dict[str, Any]
    window: int
    releases: tuple[DayRelease, ...]
    truth_daily: tuple[int, ...]
    event_level_budget: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per day: value, running total, intervals and truth."""
        truth = np.cumsum(self.truth_daily)
        return pd.DataFrame(
            {
                "day": [r.at[:10] for r in self.releases],
                "value": [r.daily[0] for r in self.releases],
                "value_half_width": [r.daily_half_width for r in self.releases],
                "running": [r.running[0] for r in self.releases],
                "running_half_width": [r.running_half_width for r in self.releases],
                "true_value": list(self.truth_daily[: len(self.releases)]),
                "true_running": list(truth[: len(self.releases)]),
            }
        )


def supermarket_year(
    *,
    days: int = 365,
    rho: float = 2.0,
    window: int = 28,
    mechanism: str = "factorization",
    seed: int = 0,
    folder: Path | None = None,
) -> SupermarketYear:
    """Run the demo's stream (module docstring); files and ledger go to ``folder``."""
    work = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="ethica-"))
    rng = np.random.default_rng(seed)
    unit = UserWindow("phone", window=window)
    ledger = Ledger(work / "ledger.sqlite3")
    ledger.create_dataset("supermarket", ZCDP(rho), privacy_unit=unit)
    start = datetime(2026, 1, 1)
    spec = StreamSpec(
        name="one-pm", dataset="supermarket", unit=unit, start=start, horizon=days,
        budget=ZCDP(rho), mechanism=mechanism,
    )  # fmt: skip
    truth, releases = [], []
    with Stream.create(spec, ledger) as stream:
        for day in range(days):
            weekly = 1.0 + 0.3 * np.sin(2 * np.pi * day / 7)
            visitors = rng.choice(5_000, size=int(rng.poisson(120 * weekly)), replace=False)
            path = work / f"day-{day:03d}.parquet"
            pd.DataFrame({"phone": visitors}).to_parquet(path)
            truth.append(len(visitors))
            releases.append(stream.append(start + timedelta(days=day), path))
    ledger.close()
    # the same noise, judged for one phone's rows on one day (event level in time)
    strategy = build_strategy(mechanism, days)
    _, over_window = stream_noise(strategy, unit, ZCDP(rho))
    _, one_day = stream_noise(strategy, UserWindow("phone", window=1), ZCDP(rho))
    event = ZCDP(ZCDP(rho).rho * one_day.l2_squared / over_window.l2_squared)
    return SupermarketYear(
        mechanism, ZCDP(rho).to_dict(), window, tuple(releases), tuple(truth), event.to_dict()
    )


def supermarket_section(result: SupermarketYear) -> dict[str, Any]:
    """A report section's data: the table and the sentence on the price of a year."""
    frame = result.to_frame()
    covered = float(
        ((frame["running"] - frame["true_running"]).abs() <= frame["running_half_width"]).mean()
    )
    return {
        "title": "The supermarket, every day for a year",
        "table": frame.to_dict(orient="records"),
        "running_coverage": covered,
        "text": (
            f"Every day's count and the running total, released with the {result.mechanism} "
            f"mechanism at ρ = {result.budget['rho_float']:g} for a phone's visits in any "
            f"{result.window} days. The same noise protects one phone's single day at ρ = "
            f"{result.event_level_budget['rho_float']:.3g}: protecting a user over "
            f"{result.window} days costs "
            f"{result.budget['rho_float'] / result.event_level_budget['rho_float']:.3g}× the "
            "per-day event-level budget."
        ),
    }


def stream_sections(progress: Callable[[str], None] | None = None) -> tuple[Section, ...]:
    """The demo's stream: a year of daily counts at the supermarket, as a report section."""
    from ethica.report import stream_section

    step = progress or (lambda _message: None)
    step("Stream: the supermarket at 1 p.m., every day for a year (user-level, 28 days)")
    with tempfile.TemporaryDirectory(prefix="ethica-stream-") as folder:
        result = supermarket_year(folder=Path(folder))
    data = supermarket_section(result)
    frame = result.to_frame()
    last = frame.iloc[-1]
    lead = (
        f"A year of daily counts, each ±{last['value_half_width']:.0f} at 95%, and running "
        f"totals ±{last['running_half_width']:.0f} on the last day, for one privacy budget "
        f"protecting a phone's visits in any {result.window} days; the bands covered the true "
        f"running total on {100 * data['running_coverage']:.0f}% of days."
    )
    return (stream_section(frame, title=data["title"], lead=lead, text=data["text"]),)
