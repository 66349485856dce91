r"""Exact p-values for the audit's group comparisons, and the rule choosing them.

Each comparison of a group with its reference is a 2x2 table: ``x1`` events in
``n1`` rows against ``x2`` in ``n2``. The pooled two-proportion z-test
(:func:`~ethica.fairness._intervals.two_proportion_p_value`) is accurate for large
tables at ordinary levels, but Holm's procedure reads p-values far in the tail
(near :math:`\alpha/m`, about 5e-4 for 100 tests), where the normal approximation
is badly anti-conservative for small or rare cells: 2 events in 27 rows against 5
in 1,080 gives a z-test p of 6.9e-6 where Fisher's exact p is 0.011.

The rule (:func:`comparison_p_values`): a comparison gets **Fisher's exact test**
when

- its smallest expected cell count :math:`\min(n_1, n_2)\min(c, N - c)/N` is below 5
  (Cochran 1954), where :math:`c = x_1 + x_2` and :math:`N = n_1 + n_2`; or
- its z-test p-value is below the audit's :math:`\alpha = 1 - \text{confidence}`,

and the z-test otherwise. The second clause makes every p-value that can take part in
a Holm rejection an exact one: Holm only rejects hypotheses whose p-values (and all
smaller ones) are below :math:`\alpha`, each such p-value is Fisher's, and Fisher's
conditional test is valid (super-uniform) at every sample size. Holm's procedure is
valid under any dependence, so the family-wise error of ``significant`` is at most
:math:`\alpha` by proof, not only by simulation (measured rates: ``docs/audit.md``).

Boschloo's unconditional test is less conservative (Lydersen, Fagerland & Laake
2009), but ``scipy.stats.boschloo_exact`` takes about 0.6 s on a 27-versus-1,080
table and over a minute on a 800-versus-2,100 one, too slow for an audit of ~100
comparisons; Fisher's test here is vectorised over all tables at once.

References
----------
Fisher, R. A. (1935). The logic of inductive inference. *JRSS* 98(1), 39-82.
Cochran, W. G. (1954). Some methods for strengthening the common chi-square tests.
*Biometrics* 10(4), 417-451.
Lydersen, S., Fagerland, M. W. and Laake, P. (2009). Recommended tests for association
in 2x2 tables. *Statistics in Medicine* 28(7), 1159-1175.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ethica._typing import BoolArray, FloatArray
from ethica.fairness._intervals import CountArray, two_proportion_p_value

__all__ = [
    "EXACT_BELOW_EXPECTED",
    "comparison_p_values",
    "fisher_exact_p_value",
    "smallest_expected_count",
]

#: A 2x2 table whose smallest expected count is below this gets Fisher's exact test.
EXACT_BELOW_EXPECTED = 5.0

# Relative tolerance scipy uses when comparing table probabilities with the observed one.
_TIE = np.log1p(1e-7)
# exp(-745) underflows to 0: table probabilities below it cannot change a p-value.
_NEGLIGIBLE_LOG = -745.0
# Padded entries per chunk when the tables are evaluated together.
_CHUNK = 1 << 21


def smallest_expected_count(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray
) -> FloatArray:
    """Smallest expected cell count of each 2x2 table under independence (``nan`` if empty)."""
    n1f, n2f = np.asarray(n1, dtype=np.float64), np.asarray(n2, dtype=np.float64)
    total = n1f + n2f
    events = np.asarray(x1, dtype=np.float64) + np.asarray(x2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.minimum(n1f, n2f) * np.minimum(events, total - events) / total
    return np.asarray(np.where((n1f > 0) & (n2f > 0), expected, np.nan), dtype=np.float64)


def _log_choose(n: FloatArray, k: FloatArray) -> FloatArray:
    return np.asarray(
        special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0),
        dtype=np.float64,
    )


def _fisher_rows(
    x: FloatArray, n1: FloatArray, n2: FloatArray, c: FloatArray, start: FloatArray, width: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Two-sided Fisher p-values of rows whose windows start at ``start`` (padded to ``width``).

    Returns the p-values and the log-probabilities at the two window edges.
    """
    k = start[:, None] + np.arange(width, dtype=np.float64)[None, :]
    top = np.minimum(n1, c)
    valid = k <= top[:, None]
    k = np.where(valid, k, start[:, None])
    norm = _log_choose(n1 + n2, c)
    log_pmf = _log_choose(n1[:, None], k) + _log_choose(n2[:, None], c[:, None] - k)
    log_pmf = log_pmf - norm[:, None]
    observed = _log_choose(n1, x) + _log_choose(n2, c - x) - norm
    counted = valid & (log_pmf <= observed[:, None] + _TIE)
    p = np.sum(np.where(counted, np.exp(log_pmf), 0.0), axis=1)
    last = np.minimum(start + width - 1, top)
    left = log_pmf[:, 0]
    right = np.take_along_axis(log_pmf, (last - start).astype(np.int64)[:, None], axis=1)[:, 0]
    return np.minimum(p, 1.0), left, right


def fisher_exact_p_value(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray
) -> FloatArray:
    r"""Two-sided p-value of Fisher's exact test of ``p1 = p2``, vectorised over tables.

    Conditioning on both margins, :math:`X_1` is hypergeometric,
    :math:`P(X_1 = k) = \binom{n_1}{k}\binom{n_2}{c-k} / \binom{N}{c}`, and the p-value
    sums the probabilities of the tables no more likely than the observed one (with
    scipy's relative tolerance of 1e-7 for ties), so it equals
    ``scipy.stats.fisher_exact(..., alternative="two-sided")``. The hypergeometric
    distribution is log-concave, so only a window of 40 standard deviations (plus 60)
    around its mode can carry probability above 1e-323; the sum runs over that
    window (the whole support when it is narrower), and a table whose window edges
    are not negligible is summed over its whole support. ``nan`` where a sample is
    empty.

    References
    ----------
    Fisher, R. A. (1935). The logic of inductive inference. *JRSS* 98(1), 39-82.
    Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed., section 3.5.
    """
    a1, m1, a2, m2 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2))
    a1, m1, a2, m2 = np.broadcast_arrays(a1, m1, a2, m2)
    shape = a1.shape
    a1, m1, a2, m2 = (v.ravel() for v in (a1, m1, a2, m2))
    out = np.full(a1.shape, np.nan)
    rows = np.flatnonzero((m1 > 0) & (m2 > 0))
    if rows.size == 0:
        return out.reshape(shape)
    x, n1r, n2r = a1[rows], m1[rows], m2[rows]
    c = x + a2[rows]
    total = n1r + n2r
    low_k, high_k = np.maximum(0.0, c - n2r), np.minimum(n1r, c)
    mode = np.floor((n1r + 1.0) * (c + 1.0) / (total + 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(n1r * n2r * c * (total - c) / (total**2 * np.maximum(total - 1.0, 1.0)))
    p = np.empty(rows.size)
    todo = np.arange(rows.size)
    # Windows of 40 sd plus a margin for skewed tables; the whole support as a last resort.
    for margin in (60.0, 1200.0, np.inf):
        t = todo
        half = np.ceil(40.0 * sd[t] + margin) if np.isfinite(margin) else np.inf
        start = np.maximum(low_k[t], mode[t] - half)
        stop = np.minimum(high_k[t], mode[t] + half)
        widths = (stop - start + 1.0).astype(np.int64)
        order = np.argsort(widths, kind="stable")
        again = np.zeros(t.size, dtype=np.bool_)
        i = 0
        while i < order.size:
            j = i + 1
            while j < order.size and int(widths[order[j]]) * (j - i + 1) <= _CHUNK:
                j += 1
            idx = order[i:j]
            r = t[idx]
            got, left, right = _fisher_rows(
                x[r], n1r[r], n2r[r], c[r], start[idx], int(widths[idx].max())
            )
            p[r] = got
            # A window edge that is not the support's own edge must be negligible.
            again[idx] = ((start[idx] > low_k[r]) & (left > _NEGLIGIBLE_LOG)) | (
                (stop[idx] < high_k[r]) & (right > _NEGLIGIBLE_LOG)
            )
            i = j
        todo = t[again]
        if todo.size == 0:
            break
    out[rows] = p
    return out.reshape(shape)


def comparison_p_values(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray, alpha: float
) -> tuple[FloatArray, BoolArray]:
    """Return each comparison's two-sided p-value and whether it is Fisher's exact one.

    The rule is the module's: Fisher's exact test when the smallest expected count is
    below :data:`EXACT_BELOW_EXPECTED` or the pooled z-test's p-value is below
    ``alpha``; the z-test otherwise. ``nan`` where a sample is empty.
    """
    p_z = two_proportion_p_value(x1, n1, x2, n2)
    expected = smallest_expected_count(x1, n1, x2, n2)
    with np.errstate(invalid="ignore"):
        exact = np.isfinite(p_z) & ((expected < EXACT_BELOW_EXPECTED) | (p_z < alpha))
    p = np.array(p_z, dtype=np.float64, copy=True)
    if exact.any():
        where = np.nonzero(exact)
        pick = [
            np.asarray(np.broadcast_to(np.asarray(v), exact.shape)[where], dtype=np.float64)
            for v in (x1, n1, x2, n2)
        ]
        p[where] = fisher_exact_p_value(pick[0], pick[1], pick[2], pick[3])
    return p, np.asarray(exact, dtype=np.bool_)
