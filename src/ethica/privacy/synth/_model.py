"""A tree-structured (forest) model of the population, fitted exactly from noisy marginals.

Given noisy measurements of 1-way marginals and of 2-way marginals on the edges of a forest
(MST's maximum spanning tree; AIM's selections restricted to keep a forest), the maximum
entropy distribution consistent with consistent edge marginals is the tree factorisation
(Chow & Liu 1968)::

    P(x) = prod_v P(x_v) * prod_{(u,v) in E} P(x_u, x_v) / (P(x_u) P(x_v)),

and it is sampled exactly along the tree: a root from ``P(x_root)``, every child from
``P(x_child | x_parent)``. Fitting is post-processing of the noisy measurements only:

1. **Combine**: repeated measurements of a clique are averaged with inverse-variance weights.
2. **Node marginals**: each node's counts are estimated from its own 1-way measurement and
   from the row/column sums of every incident edge measurement (inverse-variance weighted:
   a sum over ``k`` noisy cells has variance ``k sigma**2``); the total ``N`` likewise from
   every measurement's sum.
3. **Project**: each node vector and each edge table onto the non-negative vectors summing to
   ``N`` (Euclidean projection onto the scaled simplex; Duchi et al. 2008), then each edge table
   by iterative proportional fitting (Deming & Stephan 1940) to its two node marginals, so the
   marginals are non-negative and mutually consistent.

This replaces Private-PGM's general inference (McKenna, Sheldon & Miklau 2019) for the
tree-structured models ethica fits; on a tree the two agree up to the projection step.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["ForestModel", "Measurement", "combine", "draw", "estimate_total", "fit_forest"]

_FLOOR = 1e-9


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal: ``values = counts(clique) + N(0, sigma**2)`` per cell (discrete)."""

    clique: tuple[str, ...]
    values: NDArray[np.float64]
    sigma: float


def project_simplex(y: NDArray[np.float64], total: float) -> NDArray[np.float64]:
    """Euclidean projection of ``y`` (flattened) onto ``{x >= 0, sum x = total}``."""
    flat = y.ravel()
    if total <= 0:
        return np.zeros_like(y)
    u = np.sort(flat)[::-1]
    css = np.cumsum(u) - total
    k = np.arange(1, flat.size + 1)
    positive = u - css / k > 0
    r = int(np.nonzero(positive)[0][-1])
    theta = css[r] / (r + 1)
    out: NDArray[np.float64] = np.maximum(flat - theta, 0.0).reshape(y.shape)
    return out


def _ipf(
    table: NDArray[np.float64], rows: NDArray[np.float64], cols: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Scale ``table`` to row sums ``rows`` and column sums ``cols`` (both sum to the same)."""
    t: NDArray[np.float64] = table + _FLOOR * max(rows.sum(), 1.0) / table.size
    for _ in range(100):
        t *= (rows / np.maximum(t.sum(axis=1), 1e-300))[:, None]
        t *= (cols / np.maximum(t.sum(axis=0), 1e-300))[None, :]
        if np.abs(t.sum(axis=1) - rows).max() <= 1e-9 * max(rows.sum(), 1.0):
            break
    return t


@dataclass
class ForestModel:
    """Node marginals and consistent edge tables of a forest (counts, summing to ``total``)."""

    names: tuple[str, ...]
    shape: tuple[int, ...]
    total: float
    nodes: dict[str, NDArray[np.float64]]
    edges: dict[tuple[str, str], NDArray[np.float64]] = field(default_factory=dict)

    def neighbours(self, v: str) -> list[str]:
        """Adjacent nodes of ``v``."""
        return [b if a == v else a for a, b in self.edges if v in (a, b)]

    def table(self, u: str, v: str) -> NDArray[np.float64]:
        """The edge table with axes ``(u, v)``."""
        if (u, v) in self.edges:
            return self.edges[(u, v)]
        return self.edges[(v, u)].T

    def conditional(self, parent: str, child: str) -> NDArray[np.float64]:
        """``P(child | parent)``, rows indexed by the parent's level."""
        t = self.table(parent, child)
        sums = t.sum(axis=1, keepdims=True)
        uniform = np.full_like(t, 1.0 / t.shape[1])
        out: NDArray[np.float64] = np.where(sums > 0, t / np.maximum(sums, 1e-300), uniform)
        return out

    def _path(self, u: str, v: str) -> list[str] | None:
        parent: dict[str, str | None] = {u: None}
        queue = [u]
        while queue:
            x = queue.pop(0)
            if x == v:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for y in self.neighbours(x):
                if y not in parent:
                    parent[y] = x
                    queue.append(y)
        return None

    def probabilities(self, clique: Sequence[str]) -> NDArray[np.float64]:
        """The model's marginal distribution on a 1- or 2-column clique (sums to 1)."""
        if len(clique) == 1:
            p = self.nodes[clique[0]]
            one: NDArray[np.float64] = p / max(p.sum(), 1e-300)
            return one
        if len(clique) != 2:
            raise ValueError("the forest model answers 1- and 2-way marginals exactly.")
        u, v = clique
        pu = self.nodes[u] / max(self.nodes[u].sum(), 1e-300)
        path = self._path(u, v)
        if path is None:
            pv = self.nodes[v] / max(self.nodes[v].sum(), 1e-300)
            return np.outer(pu, pv)
        joint = np.diag(pu)
        for a, b in itertools.pairwise(path):
            joint = joint @ self.conditional(a, b)
        two: NDArray[np.float64] = joint
        return two

    def counts(self, clique: Sequence[str]) -> NDArray[np.float64]:
        """:meth:`probabilities` scaled to the estimated total."""
        return self.probabilities(clique) * self.total

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """``n`` i.i.d. records (level indices, columns in :attr:`names` order)."""
        out = np.zeros((n, len(self.names)), dtype=np.int64)
        col = {name: i for i, name in enumerate(self.names)}
        done: set[str] = set()
        for root in self.names:
            if root in done:
                continue
            p = self.probabilities([root])
            out[:, col[root]] = draw(np.tile(np.cumsum(p), (1, 1)), np.zeros(n, np.int64), rng)
            done.add(root)
            queue = [root]
            while queue:
                parent = queue.pop(0)
                for child in self.neighbours(parent):
                    if child in done:
                        continue
                    cond = np.cumsum(self.conditional(parent, child), axis=1)
                    out[:, col[child]] = draw(cond, out[:, col[parent]], rng)
                    done.add(child)
                    queue.append(child)
        return out


def draw(
    cum: NDArray[np.float64], rows: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """Inverse-CDF draws, row ``rows[i]`` of the cumulative table ``cum`` for draw ``i``.

    Each row is scaled to end at 1 and shifted by its index, so the whole table is one
    non-decreasing sequence and draw ``i`` is one binary search for ``rows[i] + u_i``:
    memory stays that of the table, however many levels a row has.
    """
    k = cum.shape[1]
    ends = cum[:, -1:]
    scaled = np.where(ends > 0, cum / np.maximum(ends, 1e-300), np.arange(1, k + 1) / k)
    flat = (scaled + np.arange(cum.shape[0])[:, None]).ravel()
    u = rng.random(rows.size)
    found = np.searchsorted(flat, rows + u, side="right") - rows * k
    out: NDArray[np.int64] = np.clip(found, 0, k - 1).astype(np.int64)
    return out


def combine(
    items: Iterable[Measurement],
) -> dict[tuple[str, ...], tuple[NDArray[np.float64], float]]:
    """Inverse-variance average of repeated measurements of a clique: (values, sigma)."""
    grouped: dict[tuple[str, ...], list[Measurement]] = {}
    for m in items:
        grouped.setdefault(m.clique, []).append(m)
    out = {}
    for clique, ms in grouped.items():
        w = np.array([1.0 / m.sigma**2 for m in ms])
        values = sum(wi * m.values for wi, m in zip(w, ms, strict=True)) / w.sum()
        out[clique] = (np.asarray(values, dtype=np.float64), float(1.0 / np.sqrt(w.sum())))
    return out


def estimate_total(combined: dict[tuple[str, ...], tuple[NDArray[np.float64], float]]) -> float:
    """The total ``N``: inverse-variance weighted mean of every measurement's sum (at least 1)."""
    num = den = 0.0
    for values, sigma in combined.values():
        var = sigma**2 * values.size
        num += values.sum() / var
        den += 1.0 / var
    return max(num / den, 1.0) if den else 1.0


def fit_forest(
    names: Sequence[str],
    shape: Sequence[int],
    measurements: Sequence[Measurement],
    edges: Sequence[tuple[str, str]],
) -> ForestModel:
    """Fit the forest model (module docstring) from 1-way and edge measurements."""
    combined = combine(_oriented(measurements, edges))
    total = estimate_total(combined)
    nodes: dict[str, NDArray[np.float64]] = {}
    for i, v in enumerate(names):
        estimates: list[tuple[NDArray[np.float64], float]] = []
        if (v,) in combined:
            values, sigma = combined[(v,)]
            estimates.append((values, sigma**2))
        for (a, b), (values, sigma) in ((k, c) for k, c in combined.items() if len(k) == 2):
            if v == a:
                estimates.append((values.sum(axis=1), sigma**2 * values.shape[1]))
            elif v == b:
                estimates.append((values.sum(axis=0), sigma**2 * values.shape[0]))
        if estimates:
            w = np.array([1.0 / var for _, var in estimates])
            y = sum(wi * e for wi, (e, _) in zip(w, estimates, strict=True)) / w.sum()
            nodes[v] = project_simplex(np.asarray(y, dtype=np.float64), total)
        else:
            nodes[v] = np.full(shape[i], total / shape[i])
    model = ForestModel(tuple(names), tuple(shape), total, nodes)
    for a, b in edges:
        values, _ = combined[(a, b)]
        t = project_simplex(values, total)
        model.edges[(a, b)] = _ipf(t, nodes[a], nodes[b])
    return model


def _oriented(ms: Sequence[Measurement], edges: Sequence[tuple[str, str]]) -> list[Measurement]:
    """Measurements with each 2-way clique oriented as its edge ``(a, b)``."""
    forward = set(edges)
    out = []
    for m in ms:
        if len(m.clique) == 2 and m.clique not in forward and m.clique[::-1] in forward:
            m = Measurement(m.clique[::-1], m.values.T, m.sigma)
        out.append(m)
    return out
