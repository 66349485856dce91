"""Reconstruction from noisy subset counts (Dinur and Nissim 2003), by linear programming.

A curator holds one secret bit ``x_i`` per person, ``i = 1..n``. The attacker asks ``m``
random subset-count queries ``a_j = sum_{i in S_j} x_i`` (each person in each ``S_j`` with
probability 1/2), receives perturbed answers ``â_j``, and solves

    minimise  sum_j |sum_{i in S_j} y_i - â_j|   subject to  0 <= y_i <= 1,

then rounds ``y`` at 1/2. Dinur and Nissim prove that when every answer is within
``E = o(sqrt(n))`` of the truth, the rounded solution agrees with ``x`` on all but ``o(n)``
bits; noise of order ``sqrt(n)`` or more is needed to stop the attack, and differential
privacy supplies it.

Dinur, I. and Nissim, K. (2003). Revealing information while preserving privacy. *PODS*.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog

from ethica._exceptions import InfeasibleError, InvalidParameterError
from ethica.attacks._answers import (
    AnswerRelease,
    BoundedNoiseAnswers,
    DiscreteLaplaceAnswers,
    ExactAnswers,
    LaplaceSampler,
)
from ethica.attacks._common import Progress, check_positive_int, report_progress
from ethica.attacks._results import RecoverySweep, SubsetSumResult, SweepPoint

__all__ = ["MAX_LP_CELLS", "recovery_sweep", "subset_sum_attack"]

#: Largest ``n_people * n_queries`` the LP attack accepts. Measured on this project's
#: 2-core machine with HiGHS interior point: n=400, m=1600 (0.64 M cells) ~1 s;
#: n=600, m=2400 (1.44 M) ~5 s; the time grows about as (n*m)^2, so 2 M cells is ~10 s
#: and n=800, m=3200 (2.56 M) ran for minutes with the simplex method.
MAX_LP_CELLS = 2_000_000


def _check_size(n_people: int, n_queries: int) -> None:
    cells = n_people * n_queries
    if cells > MAX_LP_CELLS:
        raise InvalidParameterError(
            f"n_people * n_queries = {n_people} * {n_queries} = {cells:,} exceeds the limit "
            f"of {MAX_LP_CELLS:,}: the LP has one dense row per query, and HiGHS's time grows "
            "about quadratically in its size (over a minute beyond this on a laptop); use "
            "fewer people or queries (e.g. n_people=500, n_queries=2000)."
        )


def _secret_bits(
    secret: ArrayLike | None, n_people: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    if secret is None:
        return rng.integers(0, 2, size=n_people, dtype=np.int64)
    bits = np.asarray(secret)
    if bits.shape != (n_people,) or not np.isin(bits, (0, 1)).all():
        raise InvalidParameterError(
            f"secret must be {n_people} bits (0 or 1), got shape {bits.shape} with values "
            f"{np.unique(bits)[:5].tolist()}; pass a 0/1 array of length n_people."
        )
    return bits.astype(np.int64)


def solve_l1_reconstruction(
    queries: NDArray[np.int8], answers: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float]:
    """Solve ``min ||Q y - answers||_1`` over ``0 <= y <= 1`` with HiGHS.

    Written with residuals split in positive and negative parts (``Q y + s+ - s- = a``,
    ``s+, s- >= 0``, minimise ``sum(s+ + s-)``), which HiGHS's interior-point method solves
    several times faster than the two-sided inequality form.

    Returns
    -------
    (y, residual)
        The fractional solution and its L1 residual.
    """
    m, n = queries.shape
    eye = sp.identity(m, format="csr")
    a_eq = sp.hstack([sp.csr_matrix(queries, dtype=np.float64), eye, -eye], format="csr")
    cost = np.concatenate([np.zeros(n), np.ones(2 * m)])
    bounds = np.array([(0.0, 1.0)] * n + [(0.0, np.inf)] * (2 * m))
    result = linprog(cost, A_eq=a_eq, b_eq=answers, bounds=bounds, method="highs-ipm")
    if result.status != 0:
        raise InfeasibleError(
            f"HiGHS could not solve the reconstruction LP (status {result.status}: "
            f"{result.message}); try fewer queries or report this as a bug."
        )
    return np.asarray(result.x[:n], dtype=np.float64), float(result.fun)


def subset_sum_attack(
    n_people: int,
    n_queries: int | None = None,
    release: AnswerRelease | None = None,
    *,
    secret: ArrayLike | None = None,
    seed: int | None = 0,
    progress: Progress | None = None,
) -> SubsetSumResult:
    """Run the Dinur–Nissim reconstruction attack once and score it.

    Parameters
    ----------
    n_people
        Number of secret bits ``n``.
    n_queries
        Number of random subset-count queries ``m``; default ``4 * n``.
        ``n * m`` must not exceed :data:`MAX_LP_CELLS`.
    release
        How answers are published: :class:`ExactAnswers` (default), :class:`RoundedAnswers`,
        :class:`BoundedNoiseAnswers` or :class:`DiscreteLaplaceAnswers`.
    secret
        The secret bits; default ``n`` fair coin flips from the seeded generator.
    seed
        Seed of the attack's own ``numpy.random.Generator`` (bits, queries, bounded noise);
        DP noise never comes from it.
    progress
        ``progress(done, total)`` after each of the 3 stages (query, release, solve).

    Returns
    -------
    SubsetSumResult
        ``recovered_fraction``: share of bits where the rounded LP solution equals the
        secret; ``chance_fraction``: what guessing the majority bit for everyone achieves.

    Raises
    ------
    InvalidParameterError
        Sizes below 1, ``n * m`` above :data:`MAX_LP_CELLS`, or a malformed ``secret``.
    """
    n = check_positive_int("n_people", n_people)
    m = check_positive_int("n_queries", 4 * n if n_queries is None else n_queries)
    _check_size(n, m)
    release = ExactAnswers() if release is None else release
    rng = np.random.default_rng(seed)
    bits = _secret_bits(secret, n, rng)
    queries = rng.integers(0, 2, size=(m, n), dtype=np.int8)
    exact = queries.astype(np.int64) @ bits
    report_progress(progress, 1, 3)
    answers = release.release(exact, rng)
    report_progress(progress, 2, 3)
    fractional, residual = solve_l1_reconstruction(queries, answers)
    report_progress(progress, 3, 3)
    guess = (fractional > 0.5).astype(np.int64)
    ones = float(bits.mean())
    return SubsetSumResult(
        n_people=n,
        n_queries=m,
        release=release.name,
        parameters=release.describe(),
        error_bound=release.error_bound(m),
        error_std=release.error_std(m),
        recovered_fraction=float((guess == bits).mean()),
        chance_fraction=max(ones, 1.0 - ones),
        l1_residual=residual,
    )


def recovery_sweep(
    n_people: int,
    n_queries: int | None = None,
    *,
    noise_multiples: tuple[float, ...] = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
    epsilons: tuple[float, ...] = (1.0,),
    trials: int = 3,
    seed: int = 0,
    dp_sampler: LaplaceSampler | None = None,
    progress: Progress | None = None,
) -> RecoverySweep:
    """Recovery of the Dinur–Nissim attack against noise, as a table.

    For each ``k`` in ``noise_multiples`` the answers carry bounded uniform noise of
    magnitude ``E = k * sqrt(n)`` (``k = 0``: exact answers); for each ``epsilon`` they are
    released under ``epsilon``-DP (:class:`DiscreteLaplaceAnswers`). Each setting runs
    ``trials`` times with independent child seeds of ``seed``.

    Parameters
    ----------
    n_people, n_queries
        As in :func:`subset_sum_attack`.
    noise_multiples
        Bounded-noise magnitudes, as multiples of ``sqrt(n_people)``; each ``>= 0``.
    epsilons
        Total privacy losses for the DP rows; each ``> 0``. Empty for no DP rows.
    trials
        Runs per setting.
    seed
        Root seed of the attack's randomness.
    dp_sampler
        Discrete Laplace sampler for the DP rows; default ``ethica.privacy``'s.
    progress
        ``progress(done, total)`` after each run.

    Returns
    -------
    RecoverySweep
        One :class:`SweepPoint` per setting.
    """
    n = check_positive_int("n_people", n_people)
    m = check_positive_int("n_queries", 4 * n if n_queries is None else n_queries)
    runs = check_positive_int("trials", trials)
    _check_size(n, m)
    releases: list[AnswerRelease] = [
        ExactAnswers() if k == 0 else BoundedNoiseAnswers(k * math.sqrt(n)) for k in noise_multiples
    ]
    releases += [DiscreteLaplaceAnswers(eps, sampler=dp_sampler) for eps in epsilons]
    seeds = np.random.SeedSequence(seed).spawn(len(releases) * runs)
    total = len(seeds)
    points = []
    for r, release in enumerate(releases):
        results = []
        for t in range(runs):
            child = int(seeds[r * runs + t].generate_state(1)[0])
            results.append(subset_sum_attack(n, m, release, seed=child))
            report_progress(progress, r * runs + t + 1, total)
        points.append(SweepPoint.from_results(results))
    return RecoverySweep(n_people=n, n_queries=m, trials=runs, points=tuple(points))
