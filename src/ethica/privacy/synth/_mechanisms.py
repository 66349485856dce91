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
(annealing); stop when the budget is spent. ethica's AIM keeps the model a forest so that
inference stays exact (:mod:`._model`): candidates are the 1-way marginals and the 2-way
marginals that are forest edges already or join two trees; 3-way workload queries weight the
candidates but are not measured directly (documented restriction).

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
from ethica.privacy.synth._model import ForestModel, Measurement, fit_forest

__all__ = ["Fit", "aim", "mst"]

Counts = Callable[[Sequence[str]], NDArray[np.float64]]


@dataclass
class Fit:
    """A fitted model, its measurements, the selections, and the zCDP spent."""

    model: ForestModel
    measurements: list[Measurement] = field(default_factory=list)
    selected: list[tuple[str, ...]] = field(default_factory=list)
    rho_spent: Fraction = Fraction(0)


def _measure(
    counts: Counts, clique: tuple[str, ...], rho: Fraction
) -> tuple[Measurement, Fraction]:
    """Noisy marginal spending at most ``rho`` (sensitivity 1), and its exact cost."""
    sigma = gaussian_sigma(1, ZCDP(rho))
    exact = counts(clique)
    noise = discrete_gaussian(sigma, exact.size).reshape(exact.shape)
    cost = 1 / (2 * sigma * sigma)
    grid = 1 << 60  # round the cost *up* to a fixed grid: exact, and small rationals
    return Measurement(clique, exact + noise, float(sigma)), Fraction(math.ceil(cost * grid), grid)


def _eps_for(rho: Fraction) -> Fraction:
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
    eps = _eps_for(third / (d - 1))
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


def workload_weights(
    domain: Domain, workload: Sequence[tuple[str, ...]]
) -> dict[tuple[str, ...], float]:
    """AIM's candidate weights ``w_r = sum_{s in W} |r ∩ s|`` over 1- and 2-way cliques."""
    cands: list[tuple[str, ...]] = [(v,) for v in domain.names]
    cands += list(itertools.combinations(domain.names, 2))
    out = {}
    for r in cands:
        w = float(sum(len(set(r) & set(s)) for s in workload))
        if w > 0 and (len(r) == 1 or any(set(r) <= set(s) for s in workload)):
            out[r] = w
    return out


def aim(
    domain: Domain,
    counts: Counts,
    rho: Fraction,
    workload: Sequence[tuple[str, ...]],
    *,
    max_rounds: int | None = None,
) -> Fit:
    """Forest-restricted AIM (module docstring) spending at most ``rho``."""
    names, shape = domain.names, domain.shape
    d = len(names)
    alpha = Fraction(9, 10)
    rounds = 16 * d
    weights = workload_weights(domain, workload)
    fit = Fit(model=fit_forest(names, shape, [], []))
    per_round = rho / rounds
    one_way = alpha * per_round  # AIM measures all 1-way marginals at the round's sigma
    for v in names:
        m, cost = _measure(counts, (v,), min(one_way, rho / (2 * d)))
        fit.measurements.append(m)
        fit.rho_spent += cost
    edges: list[tuple[str, str]] = []
    model = fit_forest(names, shape, fit.measurements, edges)
    rho_meas, rho_sel = alpha * per_round, (1 - alpha) * per_round
    final = False
    steps = 0
    while not final:
        remaining = rho - fit.rho_spent
        if remaining <= 0:
            break
        if remaining < 2 * (rho_meas + rho_sel):
            rho_meas, rho_sel, final = alpha * remaining, (1 - alpha) * remaining, True
        sigma = float(gaussian_sigma(1, ZCDP(rho_meas)))
        eps = _eps_for(rho_sel)
        tree = _trees(names, edges)
        options = [
            r for r in weights if len(r) == 1 or tuple(r) in edges or tree[r[0]] != tree[r[1]]
        ]
        scores = []
        for r in options:
            n_r = float(np.prod([domain[c].size for c in r]))
            err = float(np.abs(counts(r) - model.counts(r)).sum())
            scores.append(weights[r] * (err - math.sqrt(2 / math.pi) * sigma * n_r))
        pick = options[_select(scores, eps, max(weights[r] for r in options))]
        fit.rho_spent += eps * eps / 8
        m, cost = _measure(counts, pick, rho_meas)
        fit.rho_spent += cost
        fit.measurements.append(m)
        fit.selected.append(pick)
        if len(pick) == 2 and pick not in edges:
            edges.append((pick[0], pick[1]))
        before = model.counts(pick)
        model = fit_forest(names, shape, fit.measurements, edges)
        n_pick = float(np.prod([domain[c].size for c in pick]))
        moved = float(np.abs(model.counts(pick) - before).sum())
        if moved <= math.sqrt(2 / math.pi) * sigma * n_pick:
            rho_meas, rho_sel = 4 * rho_meas, 4 * rho_sel  # sigma / 2, eps * 2
        steps += 1
        if max_rounds is not None and steps >= max_rounds:
            break
    fit.model = model
    return fit


def _trees(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Component label of every node of the forest."""
    label = {v: v for v in names}

    def find(v: str) -> str:
        while label[v] != v:
            v = label[v]
        return v

    for a, b in edges:
        label[find(a)] = find(b)
    return {v: find(v) for v in names}
