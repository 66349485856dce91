"""Select-measure-generate: MST and AIM on exact discrete Gaussian noise, in zCDP.

**MST** (McKenna, Miklau & Sheldon 2021, "Winning the NIST Contest", JPC 11(3)): a third of
``rho`` measures every 1-way marginal; a third selects a maximum spanning tree of 2-way
marginals with ``d - 1`` exponential mechanisms (Kruskal: each step picks, among pairs joining
two components, one with probability ∝ ``exp(eps q / 2)``, ``q = ||M_uv(D) - M_uv(p̂)||_1``,
``p̂`` the independence model from the noisy 1-way marginals; sensitivity 1); a third measures
the chosen ``d - 1`` pairs.

**AIM** (McKenna, Mullins, Sheldon & Miklau 2022, "AIM: an adaptive and iterative mechanism",
PVLDB 15(11)): measures the 1-way marginals, then rounds of: select a candidate ``r`` by the
exponential mechanism on ``q_r = w_r (||M_r(D) - M_r(p̂_t)||_1 - sqrt(2/π) sigma_t n_r)``
(``w_r`` = overlap of ``r`` with the workload, sensitivity ``max w_r``), measure it, refit;
when the model moved less than the expected noise, halve ``sigma`` and double ``eps``
(annealing); stop when the budget is spent. Candidates are the cliques of up to three columns
inside a workload query (the workload's downward closure), subject to AIM's model-size rule
(the junction tree with the candidate within ``max_model_size * rho_used / rho``); the model is
the junction-tree graphical model of :mod:`._graphical` (Private-PGM inference, own code). MST
keeps the exact tree model of :mod:`._model` (closed form, no iterations).

Costs (Bun & Steinke 2016; Cesar & Rogers 2021): a marginal (L2 sensitivity 1) with discrete
Gaussian noise ``sigma`` costs ``1 / (2 sigma**2)``; an exponential mechanism at ``eps`` costs
``eps**2 / 8``. The running total is kept in exact rationals and never exceeds ``rho``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP
from ethica.privacy.noise._gaussian import discrete_gaussian
from ethica.privacy.noise._selection import exponential_mechanism
from ethica.privacy.synth._domain import Domain
from ethica.privacy.synth._graphical import GraphicalModel, fit_graphical, model_cells
from ethica.privacy.synth._model import ForestModel, Measurement, fit_forest

__all__ = ["Fit", "aim", "epsilon_for", "measure_noise", "mst"]

Counts = Callable[[Sequence[str]], NDArray[np.float64]]


@dataclass
class Fit:
    """A fitted model, its measurements, the selections, and the zCDP spent."""

    model: ForestModel | GraphicalModel
    measurements: list[Measurement] = field(default_factory=list)
    selected: list[tuple[str, ...]] = field(default_factory=list)
    rho_spent: Fraction = Fraction(0)


def measure_noise(
    exact: NDArray[np.float64], rho: Fraction, *, runs: int = 1, sensitivity: object = 1
) -> tuple[NDArray[np.float64], Fraction, Fraction]:
    """``runs`` noisy copies of a marginal (shape ``(runs, *exact.shape)``), the discrete
    Gaussian ``sigma`` for L2 ``sensitivity`` at ``rho``, and the exact cost (rounded up).

    The synthesizers always pass ``sensitivity=1`` (one person moves one cell by one); the
    privacy audit passes a smaller one as its negative control.
    """
    sigma = gaussian_sigma(sensitivity, ZCDP(rho))
    noise = discrete_gaussian(sigma, runs * exact.size).reshape(runs, *exact.shape)
    cost = Fraction(1) / (2 * sigma * sigma)
    grid = 1 << 60  # round the cost *up* to a fixed grid: exact, and small rationals
    return exact + noise, sigma, Fraction(math.ceil(cost * grid), grid)


def _measure(
    counts: Counts, clique: tuple[str, ...], rho: Fraction
) -> tuple[Measurement, Fraction]:
    """Noisy marginal spending at most ``rho`` (sensitivity 1), and its exact cost."""
    values, sigma, cost = measure_noise(counts(clique), rho)
    return Measurement(clique, values[0], float(sigma)), cost


def epsilon_for(rho: Fraction) -> Fraction:
    """Largest grid value ``eps`` with ``eps**2 / 8 <= rho`` (exact)."""
    grid = 1 << 30
    eps = Fraction(math.isqrt(int(8 * rho * grid * grid)), grid)
    while eps * eps / 8 > rho:
        eps -= Fraction(1, grid)
    return eps


def _select(scores: Sequence[float], eps: Fraction, sensitivity: float) -> int:
    return exponential_mechanism(np.asarray(scores, dtype=np.float64), eps, sensitivity)


def mst(domain: Domain, counts: Counts, rho: Fraction) -> Fit:
    """MST (module docstring) spending at most ``rho``."""
    names, shape = domain.names, domain.shape
    d = len(names)
    fit = Fit(model=fit_forest(names, shape, [], []))
    third = rho / 3 if d > 1 else rho
    for v in names:
        m, cost = _measure(counts, (v,), third / d)
        fit.measurements.append(m)
        fit.rho_spent += cost
    if d == 1:
        fit.model = fit_forest(names, shape, fit.measurements, [])
        return fit
    base = fit_forest(names, shape, fit.measurements, [])
    eps = epsilon_for(third / (d - 1))
    component = {v: v for v in names}

    def find(v: str) -> str:
        while component[v] != v:
            v = component[v]
        return v

    pairs = list(itertools.combinations(names, 2))
    errors = {p: float(np.abs(counts(p) - base.counts(p)).sum()) for p in pairs}
    edges: list[tuple[str, str]] = []
    for _ in range(d - 1):
        options = [p for p in pairs if find(p[0]) != find(p[1])]
        chosen = options[_select([errors[p] for p in options], eps, 1.0)]
        fit.rho_spent += eps * eps / 8
        component[find(chosen[0])] = find(chosen[1])
        edges.append(chosen)
        fit.selected.append(chosen)
    for e in edges:
        m, cost = _measure(counts, e, third / (d - 1))
        fit.measurements.append(m)
        fit.rho_spent += cost
    fit.model = fit_forest(names, shape, fit.measurements, edges)
    return fit


MAX_CLIQUE = 3
MAX_MODEL_SIZE = 80.0  # megabytes of float64 clique tables: AIM's default (McKenna et al. 2022)


def workload_weights(
    domain: Domain, workload: Sequence[tuple[str, ...]], max_clique: int = MAX_CLIQUE
) -> dict[tuple[str, ...], float]:
    """AIM's candidates and weights: every clique of at most ``max_clique`` columns inside a
    workload query (the workload's downward closure), ``w_r = sum_{s in W} |r ∩ s|``."""
    index = {v: i for i, v in enumerate(domain.names)}
    out: dict[tuple[str, ...], float] = {}
    for s in workload:
        cols = sorted(set(s), key=index.__getitem__)
        for k in range(1, min(max_clique, len(cols)) + 1):
            for r in itertools.combinations(cols, k):
                out.setdefault(r, 0.0)
    for v in domain.names:
        out.setdefault((v,), 0.0)
    for r in out:
        out[r] = float(sum(len(set(r) & set(s)) for s in workload))
    return {r: w for r, w in out.items() if w > 0}


def aim(
    domain: Domain,
    counts: Counts,
    rho: Fraction,
    workload: Sequence[tuple[str, ...]],
    *,
    max_rounds: int | None = None,
    max_model_size: float = MAX_MODEL_SIZE,
    max_clique: int = MAX_CLIQUE,
    round_iters: int = 50,
    final_iters: int = 1000,
) -> Fit:
    """AIM (module docstring) spending at most ``rho``.

    ``max_model_size`` (megabytes of float64 tables) is AIM's size rule: a candidate that is
    not already inside a clique of the model is considered only if the junction tree with it
    stays within ``max_model_size * rho_used / rho``. ``round_iters`` mirror-descent steps
    (warm-started) refit the model after each round, ``final_iters`` at the end.
    """
    names, shape = domain.names, domain.shape
    d = len(names)
    alpha = Fraction(9, 10)
    rounds = 16 * d
    weights = workload_weights(domain, workload, max_clique)
    per_round = rho / rounds
    fit = Fit(model=fit_forest(names, shape, [], []))
    for v in names:
        m, cost = _measure(counts, (v,), min(alpha * per_round, rho / (2 * d)))
        fit.measurements.append(m)
        fit.rho_spent += cost
    model, warm = fit_graphical(names, shape, fit.measurements, iters=round_iters)
    rho_meas, rho_sel = alpha * per_round, (1 - alpha) * per_round
    budget_cells = max_model_size * (1 << 20) / 8
    final = False
    steps = 0
    while not final:
        remaining = rho - fit.rho_spent
        if remaining <= 0:
            break
        if remaining < 2 * (rho_meas + rho_sel):
            rho_meas, rho_sel, final = alpha * remaining, (1 - alpha) * remaining, True
        sigma = float(gaussian_sigma(1, ZCDP(rho_meas)))
        eps = epsilon_for(rho_sel)
        limit = budget_cells * float((fit.rho_spent + rho_meas + rho_sel) / rho)
        cliques = [m.clique for m in fit.measurements]
        options = [
            r
            for r in weights
            if model.tree.home(r) is not None or model_cells(names, shape, [*cliques, r]) <= limit
        ]
        scores = []
        for r in options:
            n_r = float(math.prod(domain[c].size for c in r))
            err = float(np.abs(counts(r) - model.counts(r)).sum())
            scores.append(weights[r] * (err - math.sqrt(2 / math.pi) * sigma * n_r))
        pick = options[_select(scores, eps, max(weights[r] for r in options))]
        fit.rho_spent += eps * eps / 8
        m, cost = _measure(counts, pick, rho_meas)
        fit.rho_spent += cost
        fit.measurements.append(m)
        fit.selected.append(pick)
        before = model.counts(pick)
        model, warm = fit_graphical(names, shape, fit.measurements, iters=round_iters, warm=warm)
        n_pick = float(math.prod(domain[c].size for c in pick))
        moved = float(np.abs(model.counts(pick) - before).sum())
        if moved <= math.sqrt(2 / math.pi) * sigma * n_pick:
            rho_meas, rho_sel = 4 * rho_meas, 4 * rho_sel  # sigma / 2, eps * 2
        steps += 1
        if max_rounds is not None and steps >= max_rounds:
            break
    fit.model, _ = fit_graphical(names, shape, fit.measurements, iters=final_iters, warm=warm)
    return fit
