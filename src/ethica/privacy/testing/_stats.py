"""Clopper–Pearson bounds and the search for the event that best separates two samples.

Definitions. A mechanism ``M`` is ``(epsilon, delta)``-DP if for every pair of neighbouring
data sets ``D, D'`` and every event ``S``,

    ``P(M(D) ∈ S) <= exp(epsilon) P(M(D') ∈ S) + delta``.

So any event ``S`` and any pair give the lower bound
``epsilon >= log((P(M(D) ∈ S) - delta) / P(M(D') ∈ S))``. The auditor estimates the two
probabilities from ``n`` independent runs each and replaces them by one-sided Clopper–Pearson
bounds (Clopper & Pearson 1934): with ``k`` hits out of ``n``,

* ``p_lo = Beta^{-1}(a; k, n - k + 1)`` (``0`` when ``k = 0``),
* ``q_hi = Beta^{-1}(1 - a; k + 1, n - k)`` (``1`` when ``k = n``),

each failing with probability at most ``a``; with ``a = alpha / 2`` both hold together with
probability ``>= 1 - alpha``, so ``log((p_lo - delta) / q_hi)`` is a lower bound on the true
``epsilon`` at confidence ``1 - alpha``.

The event is chosen on one half of the runs and evaluated on the other (held-out) half, so the
choice does not bias the bound: DP-Sniper (Bichsel, Steffen, Bogunovic & Vechev 2021, IEEE S&P)
and StatDP (Ding, Wang, Wang, Zhang & Kifer 2018, CCS) do the same. Events are thresholds on
one output coordinate, ``{o_j >= t}`` and its complement ``{o_j < t}``; a coordinate absent
from an output (a cell not released, a run that raised) counts as ``-inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "Event",
    "EventCounts",
    "choose_event",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "count_event",
    "epsilon_lower_bound",
]

FloatArray = NDArray[np.float64]
MAX_THRESHOLDS = 256
"""Candidate thresholds per coordinate (quantiles of the pooled selection runs beyond that)."""


def clopper_pearson_lower(hits: Any, n: Any, a: float) -> FloatArray:
    """One-sided ``1 - a`` Clopper–Pearson lower bound on a binomial proportion."""
    k, m = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        out = stats.beta.ppf(a, np.maximum(k, 1e-300), m - k + 1)
    return np.asarray(np.where(k > 0, out, 0.0), dtype=float)


def clopper_pearson_upper(hits: Any, n: Any, a: float) -> FloatArray:
    """One-sided ``1 - a`` Clopper–Pearson upper bound on a binomial proportion."""
    k, m = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        out = stats.beta.ppf(1 - a, k + 1, np.maximum(m - k, 1e-300))
    return np.asarray(np.where(k < m, out, 1.0), dtype=float)


def epsilon_lower_bound(
    hits_first: Any, n_first: Any, hits_second: Any, n_second: Any, *, alpha: float, delta: float
) -> FloatArray:
    """``log((p_lo - delta) / q_hi)`` with both Clopper–Pearson bounds at level ``alpha / 2``.

    ``p`` is the event's probability under the first data set, ``q`` under the second; the
    result holds with confidence ``1 - alpha`` and is ``-inf`` where ``p_lo <= delta``.
    """
    p_lo = clopper_pearson_lower(hits_first, n_first, alpha / 2) - delta
    q_hi = clopper_pearson_upper(hits_second, n_second, alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p_lo > 0, np.log(np.maximum(p_lo, 1e-300) / q_hi), -np.inf)
    return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class Event:
    """``{output[feature] >= threshold}`` (``side=">="``) or its complement (``side="<"``)."""

    feature: str
    index: int
    threshold: float
    side: Literal[">=", "<"]

    def describe(self) -> str:
        """E.g. ``"count >= 12"``."""
        return f"{self.feature} {self.side} {self.threshold:.6g}"

    def holds(self, samples: FloatArray) -> NDArray[np.bool_]:
        """Whether the event holds in each run (rows of ``samples``)."""
        column = samples[:, self.index]
        hit = column >= self.threshold
        return np.asarray(hit if self.side == ">=" else ~hit, dtype=bool)


@dataclass(frozen=True)
class EventCounts:
    """Hits of the chosen event among the held-out runs of each data set of a pair.

    ``favoured`` is the data set in the numerator of the ratio (``"first"`` or ``"second"``).
    """

    event: Event
    favoured: Literal["first", "second"]
    hits_first: int
    hits_second: int
    n_first: int
    n_second: int

    def ratio_counts(self) -> tuple[int, int, int, int]:
        """``(k_num, n_num, k_den, n_den)``: numerator data set first."""
        if self.favoured == "first":
            return self.hits_first, self.n_first, self.hits_second, self.n_second
        return self.hits_second, self.n_second, self.hits_first, self.n_first


def _thresholds(values: FloatArray) -> FloatArray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.asarray([math.inf])
    unique = np.unique(finite)
    if unique.size > MAX_THRESHOLDS:
        levels = np.linspace(0, 1, MAX_THRESHOLDS)
        unique = np.unique(np.quantile(finite, levels, method="inverted_cdf"))
    # thresholds between observed values and +inf (the "absent" event: value < smallest)
    return np.asarray(np.append(unique, math.inf), dtype=float)


def choose_event(
    first: FloatArray,
    second: FloatArray,
    names: list[str],
    *,
    alpha: float,
    delta: float,
) -> tuple[Event, Literal["first", "second"], float]:
    """The event (and the favoured data set) with the largest lower bound on these runs.

    ``first`` and ``second`` are the selection halves, one row per run, one column per output
    coordinate (``-inf`` for absent). Returns the event, the data set in the numerator and the
    lower bound on the selection runs themselves (biased upward: only for choosing).
    """
    best: tuple[float, Event, Literal["first", "second"]] | None = None
    n1, n2 = first.shape[0], second.shape[0]
    for j, name in enumerate(names):
        a, b = np.sort(first[:, j]), np.sort(second[:, j])
        t = _thresholds(np.concatenate([a, b]))
        ge_a = n1 - np.searchsorted(a, t, side="left")
        ge_b = n2 - np.searchsorted(b, t, side="left")
        candidates = (
            (">=", "first", ge_a, n1, ge_b, n2),
            (">=", "second", ge_b, n2, ge_a, n1),
            ("<", "first", n1 - ge_a, n1, n2 - ge_b, n2),
            ("<", "second", n2 - ge_b, n2, n1 - ge_a, n1),
        )
        for side, favoured, k_num, n_num, k_den, n_den in candidates:
            bound = epsilon_lower_bound(k_num, n_num, k_den, n_den, alpha=alpha, delta=delta)
            i = int(np.argmax(bound))
            if best is None or bound[i] > best[0]:
                event = Event(name, j, float(t[i]), side)  # type: ignore[arg-type]
                best = (float(bound[i]), event, favoured)  # type: ignore[assignment]
    assert best is not None
    return best[1], best[2], best[0]


def count_event(
    event: Event, favoured: Literal["first", "second"], first: FloatArray, second: FloatArray
) -> EventCounts:
    """Hits of ``event`` among the held-out runs of each data set."""
    return EventCounts(
        event,
        favoured,
        int(event.holds(first).sum()),
        int(event.holds(second).sum()),
        first.shape[0],
        second.shape[0],
    )
