"""What contribution bounding did to a batch series: a DP bounding report, or an honest note.

``release_series(..., bounding_share=f)`` spends the fraction ``f`` of the budget on a
*bounding report* (``DESIGN.md``, contract rule 5), computed in the series' own engine query
(:func:`ethica.data._time_bounding.bounded_series` with ``report=True``, same hash order):

* ``users_capped``: users with at least one row dropped by the caps (``max_keys`` /
  ``max_buckets`` cells per block, ``max_rows`` rows per cell), anywhere in the series.
  Adding or removing one user's rows in one window changes only that user's indicator:
  ``Δ1 = Δ2 = 1``.
* for a sum, ``(below, above)``: the kept rows whose value lies below the lower bound
  (clamped up) or above the upper one (clamped down). A window changes at most ``C`` cells
  (:func:`~ethica.privacy.stream.window_cells`: added cells, and cells displaced in the
  window's blocks), each holding at most ``max_rows`` of the user's kept rows, and a row counts
  on at most one side: ``|Δbelow| + |Δabove| <= C m``, so ``Δ1 = C m`` and ``Δ2² = (C m)²``.

The report's budget is split equally between those noisy vectors (one for counts, two for
sums); the series' cells spend ``1 - f``. Every count carries its exact interval (one
discrete draw). The number of *rows* dropped is never released: one user could change it
without bound. Without ``bounding_share`` every series carries :func:`bounding_notes`: what
bounding may have removed, in words, with no number that depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ethica.data._bounding import ClampedSum
from ethica.data._time_bounding import CAPPED, clamp_columns
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._cells import NoisyComponent
from ethica.privacy.release._evaluate import report_entry
from ethica.privacy.release._noise import Noise
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.stream._budget import NoiseLaw, spend
from ethica.privacy.stream._unit import UserWindow

__all__ = ["ReportPlan", "bounding_notes", "plan_report", "series_report"]


_ONE = Sensitivity(Fraction(1), Fraction(1))


@dataclass(frozen=True)
class ReportPlan:
    """The report's noise, fixed before the data is read.

    Attributes
    ----------
    each
        Each noisy vector's share of the budget.
    capped
        Noise of ``users_capped``.
    clamped
        Noise of the ``(below, above)`` pair of a sum (``None`` for counts).
    capped_sensitivity, clamp_sensitivity
        What the noises are calibrated to (a batch series: 1, and ``Δ1 = C m``, ``Δ2² =
        (C m)²``; module docstring).
    scope
        Where the counts count, for the texts ("anywhere in the series", "in this bucket").
    """

    each: Budget
    capped: Noise
    clamped: Noise | None
    capped_sensitivity: Sensitivity
    clamp_sensitivity: Sensitivity
    scope: str = "anywhere in the series"

    def report(
        self, frame: pd.DataFrame, clamped: ClampedSum | None, confidence: float
    ) -> dict[str, Any]:
        """Noise the totals of the engine's report columns (after the charge)."""
        out: dict[str, Any] = {
            "report": "released under DP from the series' own engine query (same bounding); "
            "each noisy count below states its share of the release's budget",
            "users_capped": _entry(
                [int(frame[CAPPED].sum())] if len(frame) else [0],
                self.capped,
                self.capped_sensitivity,
                self.each,
                confidence,
                "users with at least one row dropped by the caps (max_keys or max_buckets "
                f"cells per block, max_rows rows per cell), {self.scope}",
            ),
            "rows_dropped_by_caps": "not released (one user could change it without bound); "
            "users_capped counts the users who lost rows",
        }
        if clamped is not None and self.clamped is not None:
            (below, above) = clamp_columns([clamped])[0]
            totals = [int(frame[below].sum()), int(frame[above].sum())] if len(frame) else [0, 0]
            out["values_clamped"] = _entry(
                totals,
                self.clamped,
                self.clamp_sensitivity,
                self.each,
                confidence,
                f"kept values of {clamped.column} below {clamped.lower:g} (clamped up) and "
                f"above {clamped.upper:g} (clamped down); NULL and NaN are not counted",
            )
        else:
            out["values_clamped"] = "none: a count reads no values"
        return out


def plan_report(
    budget: Budget,
    *,
    law: NoiseLaw,
    capped: Sensitivity,
    clamp: Sensitivity | None,
    scope: str = "anywhere in the series",
) -> ReportPlan:
    """The report's noise on ``budget`` (the report's whole share), checked for free.

    ``capped`` and ``clamp`` are the sensitivities of the ``users_capped`` count and of the
    ``(below, above)`` pair (``None``: counts, no pair); :func:`series_report` gives a batch
    series' (module docstring), a stream computes its own per-bucket ones."""
    each = budget.fraction(Fraction(1, 1 if clamp is None else 2))
    return ReportPlan(
        each,
        spend(capped, each, law),
        None if clamp is None else spend(clamp, each, law),
        capped,
        clamp or _ONE,
        scope,
    )


def series_report(
    budget: Budget, *, law: NoiseLaw, cells: int, max_rows: int, clamped: ClampedSum | None
) -> ReportPlan:
    """A batch series' report: ``users_capped`` of sensitivity 1, the clamp pair of ``Δ1 = C
    m``, ``Δ2² = (C m)²`` with ``C`` the cells a window changes (module docstring)."""
    rows = cells * max_rows
    clamp = Sensitivity(Fraction(rows), Fraction(rows * rows))
    return plan_report(budget, law=law, capped=_ONE, clamp=None if clamped is None else clamp)


def bounding_notes(
    unit: UserWindow, *, keyed: bool, measured: bool, stream: bool = False
) -> dict[str, str]:
    """What bounding may have removed, without any number from the data (no report asked,
    or a stream's bucket, for which no report is offered)."""
    per_block = (
        f"{unit.max_keys} key(s) per user per bucket"
        if unit.max_buckets is None
        else f"{unit.max_buckets * unit.max_keys} (bucket, key) cells per user per block"
    )
    notes = {
        "report": "not offered for streams: how many users the caps cut and how many values "
        "the bounds clamped is not released"
        if stream
        else "not requested: pass bounding_share (a fraction of the budget) to release "
        "how many users the caps cut and how many values the bounds clamped, under DP",
        "rows_dropped_by_caps": f"not released: rows beyond {per_block} and beyond "
        f"max_rows={unit.max_rows} rows per cell were dropped; how many depends on the data",
        "rows_outside": "rows without a time or outside the released buckets"
        + (" or with a key outside the public keys" if keyed else "")
        + " were not counted",
    }
    if unit.nulls == "drop":
        notes["rows_without_user"] = "dropped before bounding (nulls='drop'); not released"
    notes["values_clamped"] = (
        "not released: values outside the sum's bounds were clamped to them"
        if measured
        else "none: a count reads no values"
    )
    return notes


def _entry(
    values: list[int],
    noise: Noise,
    sensitivity: Sensitivity,
    budget: Budget,
    confidence: float,
    what: str,
) -> dict[str, Any]:
    """Noise ``values`` with the report's own (window-calibrated) ``noise``; the entry is the
    release's (:func:`~ethica.privacy.release._evaluate.report_entry`)."""
    noisy = [v + int(z) for v, z in zip(values, noise.draw(len(values)), strict=True)]
    component = NoisyComponent(
        "report", np.array(noisy, dtype=object), noise, noise.half_width(confidence), 1.0,
        sensitivity.to_dict(),
    )  # fmt: skip
    return report_entry(component, budget, confidence, what)
