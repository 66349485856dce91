"""Statistical tests of the private audit's intervals: sampling + exact noise law together.

Repeated noisy audits on tables drawn from known rates: each rate interval, each difference
interval and each verdict must cover / be honest at least at the nominal level, up to Monte
Carlo slack (three binomial standard errors). A negative control shows the test has power:
intervals that ignore the noise undercover on the same draws.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from ethica.fairness._intervals import wilson_interval
from ethica.fairness._private_audit import (
    NoiseLaw,
    noise_quantile,
    private_audit_counts,
    private_rate_interval,
)
from ethica.privacy import discrete_gaussian, discrete_laplace

REPS = 400
SLACK = 3 * math.sqrt(0.95 * 0.05 / REPS)


def _exact_sum_pmf(scale: float, terms: int, reach: int = 400) -> tuple[np.ndarray, int]:
    x = np.arange(-reach, reach + 1)
    pmf = np.tanh(1 / (2 * scale)) * np.exp(-np.abs(x) / scale)
    out = pmf
    for _ in range(terms - 1):
        out = np.convolve(out, pmf)
    return out, (len(out) - 1) // 2


@pytest.mark.parametrize(("scale", "terms"), [(1.0, 1), (2.0, 3), (0.5, 6), (7.0, 2)])
def test_noise_quantile_is_the_smallest_covering_integer(scale: float, terms: int) -> None:
    pmf, centre = _exact_sum_pmf(scale, terms)
    for confidence in (0.9, 0.95, 0.9875):
        q = noise_quantile("discrete Laplace", scale, terms, confidence)
        inside = pmf[centre - q : centre + q + 1].sum()
        assert inside >= confidence
        assert pmf[centre - q + 1 : centre + q].sum() < confidence  # q - 1 does not cover


def test_noise_quantile_matches_the_exact_samplers() -> None:
    draws = np.asarray(discrete_laplace(Fraction(2), 40_000), dtype=np.int64).reshape(-1, 4)
    q = noise_quantile("discrete Laplace", 2.0, 4, 0.95)
    covered = np.mean(np.abs(draws.sum(axis=1)) <= q)
    assert covered >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 10_000)
    gauss = np.asarray(discrete_gaussian(Fraction(3), 40_000), dtype=np.int64).reshape(-1, 2)
    qg = noise_quantile("discrete Gaussian", 3.0, 2, 0.95)
    assert np.mean(np.abs(gauss.sum(axis=1)) <= qg) >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 20_000)


def test_coarsened_lattice_stays_conservative() -> None:
    """A huge scale is coarsened; its quantile must still cover (and not be absurdly wide)."""
    scale, terms = 3000.0, 40
    q = noise_quantile("discrete Laplace", scale, terms, 0.95)
    sd = math.sqrt(terms * 2) * scale  # continuous Laplace approximation
    assert 1.5 * sd < q < 2.5 * sd
    draws = np.asarray(discrete_laplace(Fraction(3000), terms * 2000), dtype=np.int64)
    sums = draws.reshape(-1, terms).sum(axis=1)
    assert np.mean(np.abs(sums) <= q) >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 2000)


def _confusion_probs(selection: float, base: float, tpr: float) -> np.ndarray:
    """P(label, decision) as a (2, 2) array with the given selection rate, base rate, TPR."""
    tp = base * tpr
    fp = selection - tp
    assert 0 <= fp <= 1 - base
    return np.array([[1 - base - fp, fp], [base - tp, tp]])


def _noisy_tables(
    rng: np.random.Generator, probs: list[np.ndarray], n: int, scale: int
) -> np.ndarray:
    cells = np.stack([rng.multinomial(n, p.ravel()).reshape(2, 2) for p in probs])
    noise = np.asarray(discrete_laplace(Fraction(scale), cells.size), dtype=np.int64)
    return cells + noise.reshape(cells.shape)


def test_rate_intervals_cover_sampling_and_noise() -> None:
    """A small group and strong noise: coverage >= 95% for every rate; ignoring the noise
    (the negative control) undercovers on the very same draws."""
    rng = np.random.default_rng(11)
    p = 0.3
    n, scale = 60, 8  # noise sd ~ 11 per count against ~18 successes
    law = NoiseLaw("discrete Laplace", float(scale))
    qa = law.quantile(1, 1 - 0.05 / 4)
    hits, naive_hits = 0, 0
    for _ in range(REPS):
        a = rng.binomial(n, p)
        noise = np.asarray(discrete_laplace(Fraction(scale), 2), dtype=np.int64)
        na, nb = a + noise[0], (n - a) + noise[1]
        _, low, high = private_rate_interval(np.array([na]), np.array([nb]), qa, qa, 0.975)
        hits += bool(low[0] <= p <= high[0])
        pa, pb = max(na, 0), max(nb, 0)
        nl, nh = wilson_interval(np.array([pa]), np.array([pa + pb]), 0.95)
        naive_hits += bool(nl[0] <= p <= nh[0])
    assert hits / REPS >= 0.95 - SLACK
    assert naive_hits / REPS < 0.95 - SLACK  # the test can fail: noise-blind intervals do


def test_private_audit_counts_cover_rates_differences_and_verdicts() -> None:
    """Two groups with known selection rates and TPRs, n=500 each, epsilon=0.5 (scale 2)."""
    rng = np.random.default_rng(5)
    truth = {
        "A": {"selection_rate": 0.30, "tpr": 0.50},
        "B": {"selection_rate": 0.45, "tpr": 0.60},
    }
    probs = [_confusion_probs(truth[g]["selection_rate"], 0.4, truth[g]["tpr"]) for g in "AB"]
    law = NoiseLaw("discrete Laplace", 2.0)
    covered = {("A", m): 0 for m in ("selection_rate", "tpr")}
    covered |= {("B", m): 0 for m in ("selection_rate", "tpr")}
    diff_covered = 0
    wrong_verdicts = 0
    for _ in range(150):
        cells = _noisy_tables(rng, probs, 500, 2)
        result = private_audit_counts(
            cells,
            attributes=["g"],
            groups={"g": ["A", "B"]},
            noise=law,
            reference={"g": "B"},
            tolerance=0.05,
        )
        for g in result.groups:
            for m in ("selection_rate", "tpr"):
                est = g.metrics[m]
                assert est.ci_low is not None and est.ci_high is not None
                covered[(g.group[0], m)] += est.ci_low <= truth[g.group[0]][m] <= est.ci_high
        (d,) = [x for x in result.disparities if x.metric == "selection_rate"]
        assert d.group == ("A",) and d.reference == ("B",)
        assert d.difference.ci_low is not None and d.difference.ci_high is not None
        diff_covered += d.difference.ci_low <= -0.15 <= d.difference.ci_high
        (dp,) = [x for x in result.definitions if x.name == "demographic_parity"]
        wrong_verdicts += dp.verdict == "pass"  # the truth is a 0.15 gap: never "pass"
    slack = 3 * math.sqrt(0.95 * 0.05 / 150)
    for key, hits in covered.items():
        assert hits / 150 >= 0.95 - slack, key
    assert diff_covered / 150 >= 0.95 - slack
    assert wrong_verdicts / 150 <= 0.05 + slack


def test_verdicts_under_true_parity_rarely_fail() -> None:
    """Equal true rates: 'fail' (a gap wholly beyond the tolerance) is at most alpha + slack."""
    rng = np.random.default_rng(9)
    probs = [_confusion_probs(0.4, 0.4, 0.6)] * 3
    law = NoiseLaw("discrete Laplace", 4.0)
    fails = 0
    reps = 120
    for _ in range(reps):
        cells = _noisy_tables(rng, probs, 300, 4)
        result = private_audit_counts(
            cells, attributes=["g"], groups={"g": ["x", "y", "z"]}, noise=law, tolerance=0.02
        )
        (dp,) = [x for x in result.definitions if x.name == "demographic_parity"]
        fails += dp.verdict == "fail"
    assert fails / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


@pytest.mark.parametrize("harm", ["calibration", "accuracy"])
def test_private_audit_counts_refuses_a_harm_it_cannot_judge(harm: str) -> None:
    """Called directly, the science refuses calibration too (it used to judge selection)."""
    cells = np.full((2, 2, 2), 50, dtype=np.int64)
    law = NoiseLaw("discrete Laplace", 1.0)
    with pytest.raises(ValueError, match=f"harm='{harm}'"):
        private_audit_counts(
            cells, attributes=["sex"], groups={"sex": ["F", "M"]}, noise=law, harm=harm
        )
