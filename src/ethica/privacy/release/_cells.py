"""Per-cell statistics (count, clamped sum, mean, variance) from noisy integer components.

A statistic is released from one or more noisy integer vectors, its *components*: ``n``
(a count), ``s`` (a clamped sum, in steps of the grid), ``q`` (a clamped sum of squares of
``y = clamp(x) - mid``). Each component gets an equal share of the statistic's budget and
its own exact discrete noise. Intervals: a count or sum is ``noisy ± k`` (exact quantile
``k``); a mean or variance combines its components' intervals, each at level
``1 - alpha / (number of components)`` (Bonferroni), by interval arithmetic, and is then
intersected with the statistic's range: ``[lower, upper]`` for a mean,
``[0, ((upper - lower) / 2)²]`` for a variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._noise import Noise, noise_for
from ethica.privacy.release._sensitivity import PrivacyUnit, Sensitivity, cell_sensitivity

__all__ = [
    "CellStatistic",
    "Component",
    "NoisyComponent",
    "add_exactly",
    "combine",
    "noise_vector",
    "share",
    "spend",
]

CellStatistic = Literal["count", "sum", "mean", "variance"]
"""The per-cell statistics :func:`combine` releases from noisy components."""

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Component:
    """One integer vector to noise: its values and the one-row bound ``B`` in its units."""

    name: str
    values: NDArray[np.int64]
    per_row: Fraction
    step: float = 1.0


@dataclass(frozen=True)
class NoisyComponent:
    """A component after noise: noisy integers, the noise, and the CI half-width."""

    name: str
    noisy: NDArray[Any]
    noise: Noise
    half_width: int
    step: float
    sensitivity: dict[str, str]

    def low(self) -> FloatArray:
        """Lower CI end, in data units."""
        return (self.noisy - self.half_width).astype(float) * self.step

    def high(self) -> FloatArray:
        """Upper CI end, in data units."""
        return (self.noisy + self.half_width).astype(float) * self.step

    def value(self) -> FloatArray:
        """Noisy value, in data units."""
        return self.noisy.astype(float) * self.step


def share(budget: Budget, fraction: Fraction) -> Budget:
    """``fraction`` of ``budget`` (every parameter scaled), same kind."""
    return budget.fraction(fraction)


def spend(
    components: Sequence[Component],
    budget: Budget,
    unit: PrivacyUnit,
    *,
    grouped: bool,
    finest: bool,
    confidence: float,
) -> list[NoisyComponent]:
    """Noise every component with an equal share of ``budget``; CIs at the Bonferroni level."""
    part = share(budget, Fraction(1, len(components)))
    level = 1 - (1 - confidence) / len(components)
    return [
        noise_vector(
            c,
            cell_sensitivity(unit, c.per_row, grouped=grouped, finest=finest),
            part,
            level,
        )
        for c in components
    ]


def noise_vector(
    component: Component, sensitivity: Sensitivity, budget: Budget, level: float
) -> NoisyComponent:
    """Noise one integer vector of the given ``sensitivity`` with all of ``budget`` (the noise
    law of its kind, exact sampler) and state its interval half-width at ``level``."""
    noise = noise_for(sensitivity, budget)
    noisy = add_exactly(component.values, noise.draw(component.values.size))
    return NoisyComponent(
        component.name,
        noisy,
        noise,
        noise.half_width(level),
        component.step,
        sensitivity.to_dict(),
    )


_INT64_SAFE = 1 << 62


def add_exactly(values: NDArray[np.int64], draws: NDArray[np.int64]) -> NDArray[Any]:
    """``values + draws`` without overflow: int64 when both are below ``2**62`` in absolute
    value (the sum then fits), else an object array of exact Python integers."""
    values = np.asarray(values, dtype=np.int64)
    draws = np.asarray(draws, dtype=np.int64)
    if values.size == 0 or all(
        int(a.min()) > -_INT64_SAFE and int(a.max()) < _INT64_SAFE for a in (values, draws)
    ):
        return values + draws
    return np.array(
        [int(v) + int(d) for v, d in zip(values.tolist(), draws.tolist(), strict=True)],
        dtype=object,
    )


def _ratio_range(
    s_low: FloatArray, s_high: FloatArray, n_low: FloatArray, n_high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Range of ``s / n`` over the box, for ``n_low > 0`` (NaN elsewhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        corners = np.stack([s_low / n_low, s_low / n_high, s_high / n_low, s_high / n_high])
    positive = n_low > 0
    return (
        np.where(positive, corners.min(axis=0), np.nan),
        np.where(positive, corners.max(axis=0), np.nan),
    )


def _mean(
    parts: dict[str, NoisyComponent], lower: float, upper: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    s, n = parts["s"], parts["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(n.noisy > 0, s.value() / n.value(), (lower + upper) / 2)
    low, high = _ratio_range(s.low(), s.high(), n.low(), n.high())
    low = np.where(np.isnan(low), lower, np.clip(low, lower, upper))
    high = np.where(np.isnan(high), upper, np.clip(high, lower, upper))
    return np.clip(raw, lower, upper), low, high


def _variance(
    parts: dict[str, NoisyComponent], lower: float, upper: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    half = (upper - lower) / 2
    top = half * half
    s, q, n = parts["s"], parts["q"], parts["n"]
    safe_n = np.maximum(n.value(), 1.0)
    raw = np.clip(q.value() / safe_n - (s.value() / safe_n) ** 2, 0.0, top)
    m_low, m_high = _ratio_range(s.low(), s.high(), n.low(), n.high())
    sq_low = np.where((m_low <= 0) & (m_high >= 0), 0.0, np.minimum(m_low**2, m_high**2))
    sq_high = np.maximum(m_low**2, m_high**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.maximum(q.low(), 0.0) / n.high() - sq_high
        high = q.high() / n.low() - sq_low
    valid = n.low() > 0
    low = np.where(valid, np.clip(low, 0.0, top), 0.0)
    high = np.where(valid, np.clip(high, 0.0, top), top)
    return raw, low, high


def combine(
    statistic: CellStatistic,
    parts: Sequence[NoisyComponent],
    lower: float = 0.0,
    upper: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Values and CI ends of ``statistic`` from its noisy components."""
    named = {p.name: p for p in parts}
    if statistic == "mean":
        return _mean(named, lower, upper)
    if statistic == "variance":
        return _variance(named, lower, upper)
    main = named["s" if statistic == "sum" else "n"]
    return main.value(), main.low(), main.high()
