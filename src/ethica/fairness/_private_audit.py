r"""The science of a private fairness audit: rates, differences and verdicts from noisy counts.

A private audit releases one count per cell (group of every protected attribute) × label ×
decision, each plus independent noise of a known law (discrete Laplace of scale :math:`b`
under pure DP, discrete Gaussian of parameter :math:`\sigma` under zCDP; Canonne, Kamath &
Steinke 2020). Every group of every attribute set is a sum of :math:`k` such cells, so its
confusion counts carry the noise :math:`S_k`, the sum of :math:`k` independent draws, whose
law is computed here by exact convolution of the discrete densities (in floating point; see
:func:`noise_quantile`). Nothing here touches the data: this is post-processing of a DP
release, so it costs no privacy.

Rate intervals (sampling and noise together). A rate is :math:`p = A / (A + B)` where
:math:`A` (the numerator cells) and :math:`B` (the other cells of the denominator) are true
counts and :math:`\tilde A = A + S_A`, :math:`\tilde B = B + S_B` are released. With
:math:`\alpha = 1 - \text{level}`:

1. with :math:`q_A` the smallest integer with :math:`P(|S_A| \le q_A) \ge 1 - \alpha/4`
   (likewise :math:`q_B`), the true counts lie in the box
   :math:`A \in [\tilde A - q_A, \tilde A + q_A]^+`, :math:`B \in [\tilde B - q_B,
   \tilde B + q_B]^+` with probability at least :math:`1 - \alpha/2` (Bonferroni);
2. the Wilson score interval (Wilson 1927) at level :math:`1 - \alpha/2` of the true counts
   covers :math:`p` with its nominal probability; its lower limit increases with the
   successes and decreases with the failures (and the upper limit too), so its union over the
   box is ``[W_low(A_lo, A_lo + B_hi), W_high(A_hi, A_hi + B_lo)]``.

So the interval covers :math:`p` with probability at least :math:`1 - \alpha` whenever
Wilson's interval has its nominal coverage: a conservative combination by the union bound.
It is wider than the exact audit's interval for two reasons, the noise and the split level;
:class:`PowerCost` reports the ratio of the two widths.

Differences and verdicts. The difference of two groups' rates lies in
:math:`[l_g - u_r, u_g - l_r]` when both rate intervals cover, so with each rate at level
:math:`1 - \alpha/2` the difference interval has level :math:`1 - \alpha`. A definition's
verdict uses the exact audit's rule (:mod:`ethica.fairness._definitions`): two one-sided
tests per comparison (Schuirmann 1987), Bonferroni over its :math:`k` comparisons (level
:math:`1 - 2\alpha/k`): **fail** when some difference lies wholly beyond the tolerance,
**pass** when all lie within it, **inconclusive** otherwise. A disparity is ``significant``
when its difference interval, made simultaneous over every disparity of the audit
(Bonferroni), excludes 0; private audits report no p-values. Calibration needs score bins,
which are not released: it is ``not_applicable``.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*JASA* 22(158), 209-212.
Canonne, C., Kamath, G. & Steinke, T. (2020). The discrete Gaussian for differential
privacy. *NeurIPS*.
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
approach for assessing the equivalence of average bioavailability. *J. Pharmacokinet.
Biopharm.* 15(6), 657-680.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import signal

from ethica._exceptions import InvalidParameterError
from ethica._results import ResultPart
from ethica._typing import BoolArray, FloatArray, IntArray
from ethica.fairness._audit import _check_settings
from ethica.fairness._audit_result import (
    SCHEMA_VERSION,
    AuditResult,
    DefinitionResult,
    Disparity,
    Estimate,
    GroupMetrics,
    Interval,
    Spread,
    group_label,
)
from ethica.fairness._definitions import _Gap, _result, _verdict, verdict_level
from ethica.fairness._disparities import COMPARED_METRICS
from ethica.fairness._intervals import wilson_interval
from ethica.fairness._rates import _RATES, CELLS, METRICS
from ethica.fairness._registry import CALIBRATION, HARM_DEFINITIONS, RATE_DEFINITIONS

__all__ = [
    "HARM_METRICS",
    "NoiseLaw",
    "PowerCost",
    "PrivacyCost",
    "PrivateAuditResult",
    "check_private_settings",
    "noise_quantile",
    "private_audit_counts",
    "private_rate_interval",
]

#: The rate each harm is about (the power cost is reported for these): the first rate of
#: the definition the harm leads with (``false-negative`` -> equal opportunity -> ``tpr``,
#: whose interval has the width of ``fnr``'s). Calibration is not released privately.
HARM_METRICS: dict[str, str] = {
    harm: RATE_DEFINITIONS[definition][0]
    for harm, definition in HARM_DEFINITIONS.items()
    if definition != CALIBRATION
}


def check_private_settings(
    harm: str, tolerance: float, confidence: float, min_group_size: int
) -> None:
    """Refuse settings a private audit cannot honour (as ``audit_counts`` does, and calibration).

    Calibration needs score bins, which a private audit does not release.
    """
    _check_settings(harm, tolerance, confidence, min_group_size)
    if harm not in HARM_METRICS:
        raise InvalidParameterError(
            f"harm={harm!r} needs score bins, which a private audit does not release; "
            f"use harm={', '.join(repr(h) for h in HARM_METRICS)}."
        )


#: Largest support (points) of a convolved noise density before the lattice is coarsened.
_MAX_SUPPORT = 1 << 20
#: Tail mass left out of each single-draw density (per side).
_TAIL = 1e-18


_CELL_INDEX = {c: i for i, c in enumerate(CELLS)}
#: Per metric: the cells of its numerator and the other cells of its denominator.
_PARTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    r.name: (
        tuple(_CELL_INDEX[c] for c in r.numerator),
        tuple(_CELL_INDEX[c] for c in r.denominator if c not in r.numerator),
    )
    for r in _RATES
}


@dataclass(frozen=True)
class NoiseLaw:
    """The law of the noise added to each released cell.

    Attributes
    ----------
    mechanism
        ``"discrete Laplace"`` (:math:`P(x) \\propto e^{-|x|/b}`, ``parameter`` = scale
        :math:`b`) or ``"discrete Gaussian"`` (:math:`P(x) \\propto e^{-x^2/2\\sigma^2}`,
        ``parameter`` = :math:`\\sigma`).
    parameter
        The scale or sigma, a positive number.
    """

    mechanism: str
    parameter: float

    def __post_init__(self) -> None:
        if self.mechanism not in ("discrete Laplace", "discrete Gaussian"):
            raise InvalidParameterError(
                f"noise mechanism {self.mechanism!r} is not one a private audit can invert; "
                "use 'discrete Laplace' (PureDP) or 'discrete Gaussian' (ZCDP)."
            )
        if not math.isfinite(self.parameter) or self.parameter <= 0:
            raise InvalidParameterError(
                f"noise parameter {self.parameter!r} must be a positive number."
            )

    def quantile(self, terms: int, confidence: float) -> int:
        """Smallest integer ``q`` with ``P(|S| <= q) >= confidence``, ``S`` a sum of ``terms``
        independent draws (see :func:`noise_quantile`)."""
        return noise_quantile(self.mechanism, self.parameter, terms, confidence)


def _single(mechanism: str, parameter: float) -> FloatArray:
    """The density of one draw on ``-T..T`` (centre at index ``T``), tails below 1e-18 cut."""
    if mechanism == "discrete Laplace":
        reach = math.ceil(parameter * -math.log(_TAIL)) + 1
        x = np.arange(-reach, reach + 1, dtype=np.float64)
        pmf = np.exp(-np.abs(x) / parameter)
    else:
        reach = math.ceil(parameter * math.sqrt(-2 * math.log(_TAIL))) + 1
        x = np.arange(-reach, reach + 1, dtype=np.float64)
        pmf = np.exp(-(x**2) / (2 * parameter**2))
    return np.asarray(pmf / pmf.sum(), dtype=np.float64)


def _coarsen(pmf: FloatArray, step: int) -> FloatArray:
    """Masses of consecutive blocks of ``step`` lattice points (the block's first point)."""
    if step == 1:
        return pmf
    padded = np.concatenate([pmf, np.zeros((-len(pmf)) % step)])
    return np.asarray(padded.reshape(-1, step).sum(axis=1), dtype=np.float64)


def _convolve_power(pmf: FloatArray, terms: int) -> FloatArray:
    """The density of a sum of ``terms`` independent copies (binary exponentiation)."""
    result: FloatArray | None = None
    base = pmf
    n = terms
    while n:
        if n & 1:
            result = base if result is None else signal.fftconvolve(result, base)
            result = np.clip(result, 0.0, None)
        n >>= 1
        if n:
            base = np.clip(signal.fftconvolve(base, base), 0.0, None)
    assert result is not None
    return np.asarray(result / result.sum(), dtype=np.float64)


@functools.lru_cache(maxsize=4096)
def noise_quantile(mechanism: str, parameter: float, terms: int, confidence: float) -> int:
    r"""Smallest integer ``q`` with :math:`P(|S| \le q) \ge` ``confidence``.

    :math:`S` is the sum of ``terms`` independent draws of the discrete Laplace (scale
    ``parameter``) or discrete Gaussian (sigma ``parameter``). The density of one draw is cut
    where each tail holds less than :math:`10^{-18}` (that mass is counted as a miss) and
    convolved in floating point (FFT). When the sum's support would exceed about a million
    points, the lattice is coarsened to blocks of ``h`` points, each block's mass placed at its
    first point; a sum of ``terms`` such points is at most ``terms (h - 1)`` below the true
    sum, and the quantile is taken over that whole window, so it stays conservative.
    """
    if terms < 1:
        raise InvalidParameterError(f"terms={terms!r} must be at least 1.")
    if not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence={confidence!r} must be in (0, 1).")
    pmf = _single(mechanism, parameter)
    reach = (len(pmf) - 1) // 2
    step = max(1, math.ceil(terms * len(pmf) / _MAX_SUPPORT))
    blocks = _coarsen(pmf, step)
    total = _convolve_power(blocks, terms)
    # sum of block starts: value = -terms * reach + step * index; the true sum is in
    # [value, value + terms * (step - 1)].
    values = -terms * reach + step * np.arange(len(total), dtype=np.int64)
    slack = terms * (step - 1)
    cdf = np.cumsum(total)
    tail = 2 * terms * _TAIL  # mass cut from the single-draw densities, counted as a miss
    # P(-q <= S <= q) >= P(-q <= v and v + slack <= q) = cdf[v <= q - slack] - cdf[v < -q]
    low, high = 0, int(terms * reach + slack + 1)
    while low < high:
        q = (low + high) // 2
        upper = np.searchsorted(values, q - slack, side="right")
        lower = np.searchsorted(values, -q, side="left")
        inside = (cdf[upper - 1] if upper > 0 else 0.0) - (cdf[lower - 1] if lower > 0 else 0.0)
        if inside - tail - 1e-12 >= confidence:
            high = q
        else:
            low = q + 1
    return low


def private_rate_interval(
    numerator: IntArray,
    rest: IntArray,
    q_numerator: int | IntArray,
    q_rest: int | IntArray,
    confidence: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Value and interval of ``A / (A + B)`` from noisy ``A`` (numerator) and ``B`` (rest).

    ``q_numerator`` and ``q_rest`` are the noise quantiles of the two counts (each at level
    ``1 - alpha / 4`` for an interval at level ``1 - alpha``); the Wilson interval is taken at
    ``confidence`` (``1 - alpha / 2``) over the box of true counts (module docstring).
    Returns ``(value, low, high)``; ``value`` is ``nan`` where both clamped counts are 0.
    """
    a = np.asarray(numerator, dtype=np.int64)
    b = np.asarray(rest, dtype=np.int64)
    a_lo, a_hi = np.maximum(a - q_numerator, 0), np.maximum(a + q_numerator, 0)
    b_lo, b_hi = np.maximum(b - q_rest, 0), np.maximum(b + q_rest, 0)
    low, _ = wilson_interval(a_lo, a_lo + b_hi, confidence)
    _, high = wilson_interval(a_hi, a_hi + b_lo, confidence)
    low = np.where(np.isnan(low), 0.0, low)
    high = np.where(np.isnan(high), 1.0, high)
    a_pos, b_pos = np.maximum(a, 0), np.maximum(b, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(a_pos + b_pos > 0, a_pos / (a_pos + b_pos), np.nan)
    return np.asarray(value, np.float64), np.asarray(low, np.float64), np.asarray(high, np.float64)


@dataclass(frozen=True)
class _Block:
    """The groups of one attribute set: noisy confusion counts and noise terms per count."""

    attributes: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    confusion: IntArray  # (groups, 4): tp, fp, fn, tn, noisy
    terms: int  # released cells summed into each confusion count

    @property
    def n(self) -> IntArray:
        """Noisy rows per group, clamped at 0."""
        return np.asarray(np.maximum(self.confusion.sum(axis=1), 0), dtype=np.int64)


@dataclass(frozen=True)
class _Rates:
    value: FloatArray  # (groups, metrics)
    low: FloatArray
    high: FloatArray


def _rates(block: _Block, law: NoiseLaw, level: float, metrics: Sequence[str]) -> _Rates:
    alpha = 1.0 - level
    shape = (len(block.labels), len(metrics))
    value, low, high = np.empty(shape), np.empty(shape), np.empty(shape)
    for j, metric in enumerate(metrics):
        num, rest = _PARTS[metric]
        a = block.confusion[:, list(num)].sum(axis=1)
        b = block.confusion[:, list(rest)].sum(axis=1)
        qa = law.quantile(block.terms * len(num), 1.0 - alpha / 4)
        qb = law.quantile(block.terms * len(rest), 1.0 - alpha / 4)
        value[:, j], low[:, j], high[:, j] = private_rate_interval(a, b, qa, qb, 1.0 - alpha / 2)
    return _Rates(value, low, high)


def _blocks(
    cells: IntArray,
    attributes: tuple[str, ...],
    groups: Mapping[str, tuple[str, ...]],
    max_order: int,
) -> tuple[_Block, list[_Block]]:
    """Marginalise the noisy cell array ``(levels..., label, prediction)`` onto every set."""
    levels = [len(groups[a]) for a in attributes]

    def block(subset: tuple[int, ...]) -> _Block:
        others = tuple(i for i in range(len(attributes)) if i not in subset)
        summed = cells.sum(axis=others) if others else cells
        confusion = summed.reshape(-1, 2, 2)  # [label, prediction]
        table = np.stack(
            [confusion[:, 1, 1], confusion[:, 0, 1], confusion[:, 1, 0], confusion[:, 0, 0]],
            axis=1,
        )
        labels = tuple(itertools.product(*(groups[attributes[i]] for i in subset)))
        terms = math.prod(levels[i] for i in others)
        names = tuple(attributes[i] for i in subset)
        return _Block(names, labels, np.asarray(table, dtype=np.int64), terms)

    overall = block(())
    sets = [
        s
        for order in range(1, max_order + 1)
        for s in itertools.combinations(range(len(attributes)), order)
    ]
    return overall, [block(s) for s in sets]


def _reference(block: _Block, wanted: Mapping[str, str]) -> int:
    """The largest (noisy) group consistent with the user's reference values."""
    chosen = [(i, wanted[a]) for i, a in enumerate(block.attributes) if a in wanted]
    matches = np.array([all(lab[i] == v for i, v in chosen) for lab in block.labels], dtype=bool)
    if not matches.any():
        matches[:] = True
    return int(np.argmax(np.where(matches, block.n, -1)))


def _optional(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _group_metrics(
    block: _Block, rates: _Rates, judged: BoolArray, total: int
) -> list[GroupMetrics]:
    out = []
    for g, label in enumerate(block.labels):
        metrics = {}
        for j, name in enumerate(METRICS):
            num, rest = _PARTS[name]
            a = max(int(block.confusion[g, list(num)].sum()), 0)
            b = max(int(block.confusion[g, list(rest)].sum()), 0)
            v = rates.value[g, j]
            metrics[name] = (
                Estimate(float(v), float(rates.low[g, j]), float(rates.high[g, j]), a, a + b)
                if math.isfinite(v)
                else Estimate(None, None, None, a, a + b, "no rows left after the noise")
            )
        n = int(block.n[g])
        share = n / total if total else 0.0
        out.append(GroupMetrics(block.attributes, label, n, share, bool(judged[g]), metrics))
    return out


def _difference(rates: _Rates, g: int, r: int, j: int) -> tuple[float, float, float] | None:
    v1, v2 = rates.value[g, j], rates.value[r, j]
    if not (math.isfinite(v1) and math.isfinite(v2)):
        return None
    return (
        float(v1 - v2),
        float(rates.low[g, j] - rates.high[r, j]),
        float(rates.high[g, j] - rates.low[r, j]),
    )


def _ratio(rates: _Rates, g: int, r: int, j: int) -> Interval:
    v1, v2 = rates.value[g, j], rates.value[r, j]
    lo_r, hi_r = rates.low[r, j], rates.high[r, j]
    value = float(v1 / v2) if math.isfinite(v1) and math.isfinite(v2) and v2 > 0 else None
    low = float(rates.low[g, j] / hi_r) if hi_r > 0 else None
    high = float(rates.high[g, j] / lo_r) if lo_r > 0 else None
    return Interval(value, low, high)


def _disparities(
    blocks: list[_Block],
    judged: list[BoolArray],
    references: list[int],
    law: NoiseLaw,
    confidence: float,
) -> tuple[Disparity, ...]:
    pairs = [
        (b, g)
        for b, (block, jud, ref) in enumerate(zip(blocks, judged, references, strict=True))
        for g in range(len(block.labels))
        if jud[g] and jud[ref] and g != ref
    ]
    m = max(1, len(pairs) * len(COMPARED_METRICS))
    simultaneous = 1.0 - (1.0 - confidence) / m
    out = []
    cache: dict[tuple[int, float], _Rates] = {}

    def rates_of(b: int, level: float) -> _Rates:
        if (b, level) not in cache:
            cache[(b, level)] = _rates(blocks[b], law, level, COMPARED_METRICS)
        return cache[(b, level)]

    for b, g in pairs:
        block, ref = blocks[b], references[b]
        plain, joint = rates_of(b, confidence), rates_of(b, simultaneous)
        for j, metric in enumerate(COMPARED_METRICS):
            diff = _difference(plain, g, ref, j)
            wide = _difference(joint, g, ref, j)
            ratio = _ratio(plain, g, ref, j)
            significant = wide is not None and (wide[1] > 0 or wide[2] < 0)
            fifths = (
                None
                if metric != "selection_rate" or ratio.value is None
                else bool(ratio.value < 0.8)
            )
            out.append(
                Disparity(
                    attributes=block.attributes,
                    metric=metric,
                    group=block.labels[g],
                    reference=block.labels[ref],
                    difference=Interval(None, None, None) if diff is None else Interval(*diff),
                    ratio=ratio,
                    p_value=None,
                    p_holm=None,
                    significant=significant,
                    four_fifths_violation=fifths,
                )
            )
    return tuple(out)


def _spreads(
    blocks: list[_Block], judged: list[BoolArray], law: NoiseLaw, confidence: float
) -> tuple[Spread, ...]:
    out = []
    for block, jud in zip(blocks, judged, strict=True):
        idx = np.flatnonzero(jud)
        if idx.size < 2:
            continue
        level = 1.0 - (1.0 - confidence) / idx.size  # simultaneous over the judged groups
        point = _rates(block, law, confidence, COMPARED_METRICS)
        joint = _rates(block, law, level, COMPARED_METRICS)
        for j, metric in enumerate(COMPARED_METRICS):
            ok = idx[np.isfinite(point.value[idx, j])]
            if ok.size < 2:
                continue
            values = point.value[ok, j]
            hi_g, lo_g = ok[int(np.argmax(values))], ok[int(np.argmin(values))]
            lows, highs = joint.low[ok, j], joint.high[ok, j]
            diff = Interval(
                float(values.max() - values.min()),
                float(max(0.0, lows.max() - highs.min())),
                float(highs.max() - lows.min()),
            )
            top = values.max()
            ratio = Interval(
                float(values.min() / top) if top > 0 else None,
                float(lows.min() / highs.max()) if highs.max() > 0 else None,
                float(min(1.0, highs.min() / lows.max())) if lows.max() > 0 else None,
            )
            out.append(
                Spread(
                    block.attributes, metric, block.labels[hi_g], block.labels[lo_g], diff, ratio
                )
            )
    return tuple(out)


def _definitions(
    blocks: list[_Block],
    judged: list[BoolArray],
    references: list[int],
    law: NoiseLaw,
    tolerance: float,
    confidence: float,
) -> tuple[DefinitionResult, ...]:
    results = []
    for name, metrics in RATE_DEFINITIONS.items():
        for block, jud, ref in zip(blocks, judged, references, strict=True):
            compared = [g for g in np.flatnonzero(jud).tolist() if g != ref] if jud[ref] else []
            level = verdict_level(confidence, len(compared) * len(metrics))
            rates = _rates(block, law, 1.0 - (1.0 - level) / 2, metrics)
            gaps, undefined = [], []
            for g in compared:
                for j, metric in enumerate(metrics):
                    diff = _difference(rates, g, ref, j)
                    if diff is None:
                        undefined.append(
                            f"{metric} is undefined for {group_label(block.labels[g])}"
                        )
                        continue
                    gaps.append(_Gap(block.labels[g], metric, *diff))
            if not jud[ref]:
                undefined.append(
                    f"reference group {group_label(block.labels[ref])} is too small to judge"
                )
            against = group_label(block.labels[ref])
            verdict, worst, reason = _verdict(gaps, undefined, tolerance, level, against)
            proxy = _as_group_block(block)
            results.append(_result(name, metrics, proxy, tolerance, verdict, worst, reason))
    for block in blocks:
        reason = "a private audit releases no score bins, so calibration cannot be judged"
        proxy = _as_group_block(block)
        results.append(
            _result(CALIBRATION, ("calibration",), proxy, tolerance, "not_applicable", None, reason)
        )
    return tuple(results)


def _as_group_block(block: _Block) -> Any:
    """``_result`` reads only ``attributes`` from its block."""
    return block


@dataclass(frozen=True)
class PowerCost(ResultPart):
    """What the noise cost one rate's interval: its width against the exact audit's.

    ``sampling_width`` is the width of the Wilson interval an exact audit of a table with
    these (noisy) counts would report at the same level; ``private_width`` is this audit's.
    """

    attributes: tuple[str, ...]
    group: tuple[str, ...]
    metric: str
    private_width: float | None
    sampling_width: float | None

    @property
    def ratio(self) -> float | None:
        """``private_width / sampling_width`` (``None`` where either is undefined or 0)."""
        if self.private_width is None or not self.sampling_width:
            return None
        return self.private_width / self.sampling_width

    def _document(self) -> Mapping[str, Any]:
        return {**super()._document(), "ratio": self.ratio}


@dataclass(frozen=True)
class PrivacyCost(ResultPart):
    """What a private audit spent and what it cost in power.

    Attributes
    ----------
    budget, privacy_unit
        The budget charged and the privacy unit (JSON forms).
    mechanism, noise
        The noise law of each released cell (exact ``"p/q"`` parameters).
    cells
        Released cells (groups of the finest intersection × label × decision).
    dataset
        The ledger's dataset that paid, if any.
    power
        Per judged group and harm metric: interval widths, private vs exact.
    release
        The release itself (:meth:`ethica.privacy.Release.to_dict`): the noisy counts a
        reader can recompute every number from.
    """

    budget: Mapping[str, object]
    privacy_unit: Mapping[str, object]
    mechanism: str
    noise: Mapping[str, str]
    cells: int
    dataset: str | None
    power: tuple[PowerCost, ...]
    release: Mapping[str, Any] = field(default_factory=dict)

    def median_width_ratio(self, metric: str | None = None) -> float | None:
        """Median of ``private_width / sampling_width`` over the judged groups (of ``metric``)."""
        ratios = [
            p.ratio
            for p in self.power
            if p.ratio is not None and (metric is None or p.metric == metric)
        ]
        return float(np.median(ratios)) if ratios else None

    def _document(self) -> Mapping[str, Any]:
        return {**super()._document(), "median_width_ratio": self.median_width_ratio()}


@dataclass(frozen=True)
class PrivateAuditResult(AuditResult):
    """An :class:`~ethica.fairness.AuditResult` computed from DP counts, plus its privacy cost.

    Every count in it (``n``, numerators, denominators) is a noisy count clamped at 0; every
    interval covers sampling and noise (module docstring); ``p_value``/``p_holm`` are
    ``None``. ``privacy`` says what the audit spent and what that cost in interval width.
    """

    privacy: PrivacyCost | None = None

    def _document(self) -> Mapping[str, Any]:
        return {**super()._document(), "privacy": self.privacy}

    def _repr_html_(self) -> str:
        base = super()._repr_html_()
        if self.privacy is None:
            return base
        ratio = self.privacy.median_width_ratio()
        cost = "" if ratio is None else f"; intervals {ratio:.2f}× the exact audit's width"
        note = (
            f"<p>Released under {html.escape(str(self.privacy.budget))} "
            f"({html.escape(self.privacy.mechanism)}){html.escape(cost)}.</p>"
        )
        return base.replace("</div>", note + "</div>", 1) if base.endswith("</div>") else base


def _power(
    blocks: list[_Block],
    judged: list[BoolArray],
    rates: list[_Rates],
    confidence: float,
    harm: str,
) -> tuple[PowerCost, ...]:
    metrics = sorted({HARM_METRICS.get(harm, "selection_rate"), "selection_rate"})
    out = []
    for block, jud, r in zip(blocks, judged, rates, strict=True):
        for metric in metrics:
            j = METRICS.index(metric)
            num, rest = _PARTS[metric]
            a = np.maximum(block.confusion[:, list(num)].sum(axis=1), 0)
            b = np.maximum(block.confusion[:, list(rest)].sum(axis=1), 0)
            lo, hi = wilson_interval(a, a + b, confidence)
            for g in np.flatnonzero(jud).tolist():
                private = r.high[g, j] - r.low[g, j] if math.isfinite(r.value[g, j]) else math.nan
                exact = hi[g] - lo[g]
                out.append(
                    PowerCost(
                        block.attributes,
                        block.labels[g],
                        metric,
                        _optional(float(private)),
                        _optional(float(exact)),
                    )
                )
    return tuple(out)


#: Level of the noise margin below which a positive count is "indistinguishable from absent":
#: pure noise exceeds it with probability below 1e-9, so a mis-coded value is caught.
_ABSENT_LEVEL = 1 - 1e-9


def _absent_positives(cells: IntArray, noise: NoiseLaw) -> list[str]:
    """Notes for a positive label or decision the noisy counts cannot tell from absent.

    A mis-coded positive value (``positive_label=7`` on a 0/1 column) leaves every positive
    count at zero; the private audit cannot check the data for free, so it says so from the
    released counts (post-processing).
    """
    notes = []
    terms = cells.size // 2
    margin = noise_quantile(noise.mechanism, noise.parameter, terms, _ABSENT_LEVEL)
    for axis, what, name in (
        (-2, "label", "positive_label"),
        (-1, "decision", "positive_prediction"),
    ):
        positives = int(np.take(cells, 1, axis=axis).sum())
        if positives <= margin:
            notes.append(
                f"The positive {what} is indistinguishable from absent: its noisy count over "
                f"every cell is {positives}, within the noise (±{margin}, which pure noise exceeds "
                f"with probability below {1 - _ABSENT_LEVEL:.0e}). "
                f"Check that {name} names the value meaning 'positive'; the rates that "
                f"depend on it are not informative."
            )
    return notes


def _withhold_verdicts(definitions: Sequence[DefinitionResult]) -> tuple[DefinitionResult, ...]:
    """No pass or fail when the positive label or decision may be mis-coded (see the notes)."""
    return tuple(
        replace(
            d,
            verdict="inconclusive",
            reason="withheld: the positive label or decision is indistinguishable from absent "
            "in the noisy counts (see the notes); " + d.reason,
        )
        if d.verdict in ("pass", "fail")
        else d
        for d in definitions
    )


def private_audit_counts(
    cells: IntArray,
    *,
    attributes: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    noise: NoiseLaw,
    reference: Mapping[str, str] | None = None,
    max_order: int | None = None,
    min_group_size: int = 30,
    harm: str = "selection",
    tolerance: float = 0.05,
    confidence: float = 0.95,
    notes: Sequence[str] = (),
    provenance: Mapping[str, object] | None = None,
    privacy: PrivacyCost | None = None,
) -> PrivateAuditResult:
    """Audit from noisy cell counts: every interval covers sampling and the noise law.

    Parameters
    ----------
    cells
        Noisy counts, shape ``(len(groups[a]) for a in attributes) + (2, 2)``; the last two
        axes are the label and the decision (0, 1).
    attributes, groups
        The protected attributes and each one's declared groups, in axis order.
    noise
        The law of each cell's noise (independent across cells).
    reference, max_order, min_group_size, harm, tolerance, confidence
        As in :func:`ethica.fairness.audit_counts` (``min_group_size`` applies to the noisy
        group sizes; ``harm="calibration"`` is not available).
    notes, provenance, privacy
        Carried into the result (``privacy`` gets the power rows filled in).

    Returns
    -------
    PrivateAuditResult
    """
    check_private_settings(harm, tolerance, confidence, min_group_size)
    attrs = tuple(attributes)
    declared = {a: tuple(str(v) for v in groups[a]) for a in attrs}
    expected = (*(len(declared[a]) for a in attrs), 2, 2)
    array = np.asarray(cells, dtype=np.int64)
    if array.shape != expected:
        raise InvalidParameterError(
            f"cells has shape {array.shape} but the declared groups need {expected}."
        )
    order = len(attrs) if max_order is None else int(max_order)
    overall_block, blocks = _blocks(array, attrs, declared, order)
    total = int(overall_block.n[0])
    wanted = dict(reference or {})
    judged = [block.n >= min_group_size for block in blocks]
    references = [_reference(block, wanted) for block in blocks]
    rates = [_rates(block, noise, confidence, METRICS) for block in blocks]
    overall_rates = _rates(overall_block, noise, confidence, METRICS)
    overall = _group_metrics(overall_block, overall_rates, np.ones(1, dtype=bool), total)[0]
    group_rows = [
        g
        for block, r, jud in zip(blocks, rates, judged, strict=True)
        for g in _group_metrics(block, r, jud, total)
    ]
    small = [
        f"{'×'.join(g.attributes)}={'×'.join(g.group)} (noisy n={g.n})"
        for g in group_rows
        if not g.judged
    ]
    all_notes = list(notes)
    if small:
        shown = ", ".join(small[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        all_notes.append(
            f"{len(small)} group(s) have a noisy size below min_group_size={min_group_size} and "
            f"are reported but not judged: {shown}."
        )
    absent = _absent_positives(array, noise)
    all_notes.extend(absent)
    definitions = _definitions(blocks, judged, references, noise, tolerance, confidence)
    if absent:
        definitions = _withhold_verdicts(definitions)
    power = _power(blocks, judged, rates, confidence, harm)
    cost = None if privacy is None else replace(privacy, power=power)
    return PrivateAuditResult(
        schema_version=SCHEMA_VERSION,
        n_rows=total,
        protected=attrs,
        harm=harm,
        tolerance=float(tolerance),
        confidence=float(confidence),
        min_group_size=int(min_group_size),
        overall=overall,
        groups=tuple(group_rows),
        references={b.attributes: b.labels[r] for b, r in zip(blocks, references, strict=True)},
        disparities=_disparities(blocks, judged, references, noise, confidence),
        spreads=_spreads(blocks, judged, noise, confidence),
        definitions=definitions,
        notes=tuple(all_notes),
        provenance=dict(provenance or {}),
        privacy=cost,
    )
