"""A graphical model over a junction tree, fitted to noisy marginals (Private-PGM).

The model is the exponential family over the measured cliques ``r``::

    P_theta(x) = exp(sum_r theta_r(x_r) - log Z(theta)),

the maximum-entropy family whose marginals on the measured cliques are free (McKenna,
Sheldon & Miklau 2019, "Graphical-model based estimation and inference for differential
privacy", ICML; Private-PGM). Inference is exact on a **junction tree**:

1. **Triangulate** the graph whose edges join the columns of every clique, eliminating
   greedily the column whose elimination clique has the fewest cells (a min-weight
   heuristic; Koller & Friedman 2009, §9.4.3); the elimination cliques that are maximal are
   the cliques of a chordal graph containing every measured clique.
2. **Junction tree**: a maximum spanning tree of those cliques weighted by the size of
   their intersections has the running-intersection property (Jensen & Jensen 1994);
   disconnected parts are joined by empty separators, so the model is one tree.
3. **Belief propagation**: two passes of sum-product messages in log space (Shafer-Shenoy)
   give every clique's exact marginal and ``log Z``; any other marginal is computed from the
   calibrated beliefs, ``P(x) = prod_C b_C(x_C) / prod_S b_S(x_S)``, by variable elimination
   over the smallest subtree that holds the query's columns.

**Estimation** (Private-PGM's mirror descent): minimise ``L(mu) = sum_r ||mu_r - y_r||^2 /
(2 sigma_r^2)`` over the marginal polytope, ``mu_r = N P_theta(x_r)``, by the entropic
mirror-descent step ``theta_r <- theta_r - alpha (mu_r - y_r) / sigma_r^2``. ``alpha`` is
found by backtracking on the relative-smoothness inequality ``L(mu') <= L(mu) + <grad, mu' -
mu> + (N / alpha) KL(P' || P)`` (the KL is exact: ``sum_r <P'_r, theta'_r - theta_r> - (log
Z' - log Z)``); ``L`` is smooth relative to the entropy on the simplex, so the iteration
converges to the minimiser at rate ``O(1/t)`` (Bauschke, Bolte & Teboulle 2017; Lu, Freund &
Nesterov 2018). Fitting reads the noisy measurements only: it is post-processing.

Rows are sampled **i.i.d.** from the tree: the root clique's columns from its joint, then each
child's new columns given its separator (never a deterministic "round" assignment).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica.privacy.synth._model import Measurement, combine, draw, estimate_total

__all__ = [
    "GraphicalModel",
    "JunctionTree",
    "Warm",
    "belief_propagation",
    "fit_graphical",
    "junction_tree",
    "model_cells",
]

Clique = tuple[str, ...]
Array = NDArray[np.float64]


def _canon(clique: Iterable[str], index: Mapping[str, int]) -> Clique:
    return tuple(sorted(set(clique), key=index.__getitem__))


@dataclass(frozen=True)
class JunctionTree:
    """Maximal cliques (columns in domain order), tree edges, and a root-first order.

    ``order`` lists ``(node, parent)`` pairs, parents before children (``parent = -1`` for
    the root, node 0).
    """

    names: tuple[str, ...]
    shape: tuple[int, ...]
    cliques: tuple[Clique, ...]
    edges: tuple[tuple[int, int], ...]
    order: tuple[tuple[int, int], ...]

    @functools.cached_property
    def size(self) -> dict[str, int]:
        """Levels of every column."""
        return dict(zip(self.names, self.shape, strict=True))

    @functools.cached_property
    def links(self) -> list[_Link]:
        """Every tree edge seen from its child, parents before children."""
        return _links(self)

    def cells(self, clique: Sequence[str]) -> int:
        """Number of cells of a clique's table."""
        size = self.size
        return math.prod(size[v] for v in clique)

    def neighbours(self, node: int) -> list[int]:
        """Adjacent cliques of ``node``."""
        return [b if a == node else a for a, b in self.edges if node in (a, b)]

    def separator(self, a: int, b: int) -> Clique:
        """Columns shared by cliques ``a`` and ``b`` (domain order)."""
        other = set(self.cliques[b])
        return tuple(v for v in self.cliques[a] if v in other)

    def home(self, clique: Sequence[str]) -> int | None:
        """The smallest maximal clique containing ``clique``, or None."""
        want = set(clique)
        best: int | None = None
        for i, c in enumerate(self.cliques):
            if want <= set(c) and (best is None or self.cells(c) < self.cells(self.cliques[best])):
                best = i
        return best


def _triangulate(
    names: Sequence[str], size: Mapping[str, int], cliques: Sequence[Clique]
) -> list[Clique]:
    """Maximal cliques of a chordal supergraph (greedy min-weight elimination)."""
    index = {v: i for i, v in enumerate(names)}
    adj: dict[str, set[str]] = {v: set() for v in names}
    for c in cliques:
        for a, b in itertools.combinations(c, 2):
            adj[a].add(b)
            adj[b].add(a)
    remaining = set(names)
    found: list[Clique] = []

    def weight(v: str) -> tuple[int, int]:
        family = (adj[v] & remaining) | {v}
        return math.prod(size[u] for u in family), index[v]

    while remaining:
        v = min(remaining, key=weight)
        nb = adj[v] & remaining
        for a, b in itertools.combinations(nb, 2):
            adj[a].add(b)
            adj[b].add(a)
        found.append(_canon(nb | {v}, index))
        remaining.remove(v)
    sets = [set(c) for c in found]
    maximal: list[Clique] = []
    for c, s in zip(found, sets, strict=True):
        if c not in maximal and not any(s < t for t in sets):
            maximal.append(c)
    return maximal


def junction_tree(
    names: Sequence[str], shape: Sequence[int], cliques: Sequence[Sequence[str]]
) -> JunctionTree:
    """The junction tree of the measured ``cliques`` plus every single column."""
    maximal = _maximal_cliques(names, shape, cliques)
    # Kruskal on intersection sizes (zero-weight edges join disconnected parts)
    pairs = sorted(
        itertools.combinations(range(len(maximal)), 2),
        key=lambda p: -len(set(maximal[p[0]]) & set(maximal[p[1]])),
    )
    label = list(range(len(maximal)))

    def find(i: int) -> int:
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    edges: list[tuple[int, int]] = []
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            label[ra] = rb
            edges.append((a, b))
    return tree_of(names, shape, maximal, edges)


def tree_of(
    names: Sequence[str],
    shape: Sequence[int],
    cliques: Sequence[Clique],
    edges: Sequence[tuple[int, int]],
) -> JunctionTree:
    """The :class:`JunctionTree` of given maximal cliques and tree edges (root: clique 0)."""
    order: list[tuple[int, int]] = [(0, -1)]
    seen = {0}
    for node, _ in order:  # breadth first: the list grows while it is walked
        for a, b in edges:
            child = b if a == node else a if b == node else -1
            if child >= 0 and child not in seen:
                seen.add(child)
                order.append((child, node))
    return JunctionTree(
        tuple(names), tuple(shape), tuple(cliques), tuple((a, b) for a, b in edges), tuple(order)
    )


def model_cells(
    names: Sequence[str], shape: Sequence[int], cliques: Sequence[Sequence[str]]
) -> int:
    """Cells of the junction tree's clique tables: AIM's model size (times 8 bytes)."""
    size = dict(zip(names, shape, strict=True))
    return sum(math.prod(size[v] for v in c) for c in _maximal_cliques(names, shape, cliques))


def _maximal_cliques(
    names: Sequence[str], shape: Sequence[int], cliques: Sequence[Sequence[str]]
) -> list[Clique]:
    """Maximal cliques of the triangulated graph of ``cliques`` plus every single column."""
    index = {v: i for i, v in enumerate(names)}
    given = [_canon(c, index) for c in cliques] + [(v,) for v in names]
    return _triangulate(names, dict(zip(names, shape, strict=True)), given)


def _expand(sub: Clique, array: Array, full: Clique) -> Array:
    """``array`` over ``sub`` (a subsequence of ``full``) broadcastable over ``full``."""
    where = set(sub)
    shape = [array.shape[sub.index(v)] if v in where else 1 for v in full]
    out: Array = array.reshape(shape)
    return out


def _axes_out(full: Clique, keep: Clique) -> tuple[int, ...]:
    want = set(keep)
    return tuple(i for i, v in enumerate(full) if v not in want)


@dataclass(frozen=True)
class _Link:
    """A tree edge seen from its child: the separator's axes in both cliques."""

    child: int
    parent: int
    child_axes: tuple[int, ...]  # axes of the child's table summed out to the separator
    parent_axes: tuple[int, ...]  # axes of the parent's table summed out to the separator
    in_child: tuple[int, ...]  # shape broadcasting a separator table over the child
    in_parent: tuple[int, ...]  # shape broadcasting a separator table over the parent


def _links(tree: JunctionTree) -> list[_Link]:
    size = tree.size
    out = []
    for node, parent in tree.order[1:]:
        sep = set(tree.separator(node, parent))
        c, p = tree.cliques[node], tree.cliques[parent]
        out.append(
            _Link(
                node,
                parent,
                tuple(i for i, v in enumerate(c) if v not in sep),
                tuple(i for i, v in enumerate(p) if v not in sep),
                tuple(size[v] if v in sep else 1 for v in c),
                tuple(size[v] if v in sep else 1 for v in p),
            )
        )
    return out


def belief_propagation(
    tree: JunctionTree, potentials: Sequence[Array]
) -> tuple[list[Array], float]:
    """Normalised clique marginals and ``log Z`` of ``exp(sum of potentials)``.

    Two passes of sum-product on the junction tree, in probability space with every
    potential shifted by its maximum and every upward message normalised (the shifts and
    normalisers add up to ``log Z``); downward messages divide the calibrated belief by the
    upward message (Hugin), with ``0 / 0 = 0`` (a zero upward message zeroes the belief).
    """
    links = tree.links
    log_z = 0.0
    inner: list[Array] = []
    for theta in potentials:
        shift = float(theta.max())
        inner.append(np.exp(theta - shift))
        log_z += shift
    up: dict[int, Array] = {}
    for link in reversed(links):  # children before parents
        message = inner[link.child].sum(axis=link.child_axes)
        total = float(message.sum())
        up[link.child] = message / total if total > 0 else message
        log_z += float(np.log(total)) if total > 0 else -np.inf
        inner[link.parent] = inner[link.parent] * up[link.child].reshape(link.in_parent)
    root_total = float(inner[0].sum())
    log_z += float(np.log(root_total)) if root_total > 0 else -np.inf
    beliefs: list[Array] = [np.empty(0)] * len(inner)
    beliefs[0] = inner[0] / root_total
    for link in links:  # parents before children
        parent = beliefs[link.parent]
        upward = up[link.child].reshape(link.in_parent)
        message = np.divide(parent, upward, out=np.zeros_like(parent), where=upward > 0).sum(
            axis=link.parent_axes
        )
        child = inner[link.child] * message.reshape(link.in_child)
        total = float(child.sum())
        beliefs[link.child] = child / total if total > 0 else child
    return beliefs, log_z


@dataclass
class GraphicalModel:
    """A junction-tree model: normalised clique marginals and the estimated total ``N``."""

    tree: JunctionTree
    beliefs: list[Array]
    total: float
    _cache: dict[Clique, Array] = field(default_factory=dict, repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Columns, in domain order."""
        return self.tree.names

    @property
    def shape(self) -> tuple[int, ...]:
        """Levels of every column, in domain order."""
        return self.tree.shape

    def probabilities(self, clique: Sequence[str]) -> Array:
        """The model's exact marginal distribution on ``clique`` (axes in ``clique`` order)."""
        index = {v: i for i, v in enumerate(self.names)}
        key = _canon(clique, index)
        if key not in self._cache:
            self._cache[key] = self._marginal(key)
        got = self._cache[key]
        out: Array = np.transpose(got, [key.index(v) for v in clique])
        return out

    def counts(self, clique: Sequence[str]) -> Array:
        """:meth:`probabilities` scaled to the estimated total."""
        return self.probabilities(clique) * self.total

    def _marginal(self, key: Clique) -> Array:
        tree = self.tree
        home = tree.home(key)
        if home is not None:
            c = tree.cliques[home]
            out: Array = self.beliefs[home].sum(axis=_axes_out(c, key))
            return out
        # smallest subtree holding the query: prune leaves that add no queried column
        alive = set(range(len(tree.cliques)))
        want = set(key)
        changed = True
        while changed:
            changed = False
            for node in sorted(alive):
                nbs = [b for b in tree.neighbours(node) if b in alive]
                if len(nbs) == 1 and (set(tree.cliques[node]) & want) <= set(
                    tree.separator(node, nbs[0])
                ):
                    alive.remove(node)
                    changed = True
        factors: list[tuple[Clique, Array]] = [(tree.cliques[i], self.beliefs[i]) for i in alive]
        for a, b in tree.edges:
            if a in alive and b in alive:
                sep = tree.separator(a, b)
                mu = self.beliefs[a].sum(axis=_axes_out(tree.cliques[a], sep))
                factors.append((sep, np.where(mu > 0, 1.0 / np.maximum(mu, 1e-300), 0.0)))
        return _eliminate(factors, key, self.names, tree.size)

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
        """``n`` i.i.d. records (level indices, columns in :attr:`names` order)."""
        tree = self.tree
        col = {v: i for i, v in enumerate(self.names)}
        out = np.zeros((n, len(self.names)), dtype=np.int64)
        for node, parent in tree.order:
            c = tree.cliques[node]
            sep = tree.separator(node, parent) if parent >= 0 else ()
            new = tuple(v for v in c if v not in set(sep))
            if not new:
                continue
            table = np.transpose(self.beliefs[node], [c.index(v) for v in (*sep, *new)])
            n_sep = math.prod(tree.size[v] for v in sep)
            table = table.reshape(n_sep, -1)
            sums = table.sum(axis=1, keepdims=True)
            cond = np.where(sums > 0, table / np.maximum(sums, 1e-300), 1.0 / table.shape[1])
            rows = (
                np.ravel_multi_index(
                    tuple(out[:, col[v]] for v in sep), [tree.size[v] for v in sep]
                )
                if sep
                else np.zeros(n, dtype=np.int64)
            )
            flat = draw(np.cumsum(cond, axis=1), np.asarray(rows, dtype=np.int64), rng)
            values = np.unravel_index(flat, [tree.size[v] for v in new])
            for v, vals in zip(new, values, strict=True):
                out[:, col[v]] = vals
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form (cliques, tree edges, clique marginals)."""
        return {
            "kind": "junction_tree",
            "total": self.total,
            "cliques": [list(c) for c in self.tree.cliques],
            "edges": [list(e) for e in self.tree.edges],
            "beliefs": [b.tolist() for b in self.beliefs],
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], names: Sequence[str], shape: Sequence[int]
    ) -> GraphicalModel:
        """Rebuild from :meth:`to_dict`."""
        cliques = [tuple(str(v) for v in c) for c in data["cliques"]]
        edges = [(int(a), int(b)) for a, b in data["edges"]]
        tree = tree_of(names, shape, cliques, edges)  # as stored: never re-triangulated
        return cls(
            tree,
            [np.asarray(b, dtype=np.float64) for b in data["beliefs"]],
            float(data["total"]),
        )


def _eliminate(
    factors: list[tuple[Clique, Array]],
    keep: Clique,
    names: Sequence[str],
    size: Mapping[str, int],
) -> Array:
    """Sum-product variable elimination of every column not in ``keep`` (min-size first)."""
    index = {v: i for i, v in enumerate(names)}
    want = set(keep)
    pending = {v for f, _ in factors for v in f} - want
    while pending:
        v = min(pending, key=lambda u: (_union_cells(factors, u, size), index[u]))
        touching = [(f, a) for f, a in factors if v in f]
        factors = [(f, a) for f, a in factors if v not in f]
        union = _canon({u for f, _ in touching for u in f}, index)
        product: Array = np.ones([1] * len(union))
        for f, a in touching:
            product = product * _expand(f, a, union)
        rest = tuple(u for u in union if u != v)
        factors.append((rest, product.sum(axis=union.index(v))))
        pending.remove(v)
    result: Array = np.ones([1] * len(keep))
    for f, a in factors:
        result = result * _expand(f, a, keep)
    out: Array = np.broadcast_to(result, [size[v] for v in keep]).copy()
    return out / max(float(out.sum()), 1e-300)


def _union_cells(factors: list[tuple[Clique, Array]], v: str, size: Mapping[str, int]) -> int:
    """Cells of the product of every factor that holds ``v`` (its elimination cost)."""
    union = {u for f, _ in factors if v in f for u in f}
    return math.prod(size[u] for u in union)


def fit_graphical(
    names: Sequence[str],
    shape: Sequence[int],
    measurements: Sequence[Measurement],
    *,
    iters: int = 1000,
    warm: Warm | None = None,
    tol: float = 1e-7,
) -> tuple[GraphicalModel, Warm]:
    """Fit the model (module docstring) to noisy measurements by mirror descent.

    Parameters
    ----------
    names, shape
        Columns and their numbers of levels.
    measurements
        Noisy marginals; repeated cliques are combined by inverse-variance weighting.
    iters
        At most this many accepted mirror-descent steps.
    warm
        Parameters ``theta_r`` and step size of an earlier fit to start from (AIM refits
        after each round; a clique measured since starts at 0).
    tol
        Stop when a step lowers the loss by less than ``tol`` times the loss.

    Returns
    -------
    (GraphicalModel, Warm)
        The fitted model, and its parameters and step size (to warm-start the next fit).
    """
    index = {v: i for i, v in enumerate(names)}
    canonical = []
    for m in measurements:
        key = _canon(m.clique, index)
        values = np.transpose(m.values, [m.clique.index(v) for v in key])
        canonical.append(Measurement(key, values, m.sigma))
    data = combine(canonical)
    total = estimate_total(data)
    tree = junction_tree(names, shape, list(data))
    homes = {r: tree.home(r) for r in data}
    theta = {
        r: np.array(warm.theta[r]) if warm and r in warm.theta else np.zeros(y.shape)
        for r, (y, _) in data.items()
    }

    def lift(th: Mapping[Clique, Array]) -> list[Array]:
        """Clique potentials: each ``theta_r`` broadcast into its home clique and summed."""
        pots = [np.zeros([tree.size[v] for v in c]) for c in tree.cliques]
        for r, t in th.items():
            home = homes[r]
            assert home is not None
            pots[home] += _expand(r, t, tree.cliques[home])
        return pots

    # per measured clique: its data, weight 1 / sigma**2, home clique and the axes summed out
    plan = []
    for r, (y, sigma) in data.items():
        home = homes[r]
        assert home is not None
        plan.append((r, y, 1.0 / sigma**2, home, _axes_out(tree.cliques[home], r)))

    def evaluate(pots: list[Array]) -> _State:
        beliefs, log_z = belief_propagation(tree, pots)
        loss = 0.0
        grads: dict[Clique, Array] = {}
        marg: dict[Clique, Array] = {}
        for r, y, weight, home, axes in plan:
            p = beliefs[home].sum(axis=axes) if axes else beliefs[home]
            diff = total * p - y
            loss += 0.5 * weight * float(np.vdot(diff, diff))
            grads[r] = diff * weight
            marg[r] = p
        return _State(pots, beliefs, log_z, loss, grads, marg)

    def inner(grads: Mapping[Clique, Array], marg: Mapping[Clique, Array]) -> float:
        """``sum_r <grads_r, marg_r>``."""
        return sum(float(np.vdot(grads[r], marg[r])) for r in grads)

    now = evaluate(lift(theta))
    lipschitz = sum(total / sigma**2 for _, sigma in data.values())
    alpha = warm.alpha if warm else 1.0 / max(lipschitz, 1e-300)
    for _ in range(iters):
        step = lift(now.grads)
        at_now = inner(now.grads, now.marg)
        for _try in range(60):
            new = evaluate([p - alpha * g for p, g in zip(now.pots, step, strict=True)])
            at_new = inner(now.grads, new.marg)
            linear = total * (at_new - at_now)
            kl = -alpha * at_new - (new.log_z - now.log_z)
            if new.loss <= now.loss + linear + (total / alpha) * max(kl, 0.0) + 1e-12 * abs(
                now.loss
            ):
                break
            alpha /= 2
        theta = {r: theta[r] - alpha * now.grads[r] for r in theta}
        improvement, now = now.loss - new.loss, new
        alpha *= 1.25
        if improvement <= tol * max(now.loss, 1e-12):
            break
    return GraphicalModel(tree, now.beliefs, total), Warm(theta, alpha)


@dataclass(frozen=True)
class Warm:
    """Parameters ``theta_r`` per measured clique and the last step size: a warm start."""

    theta: dict[Clique, Array]
    alpha: float


@dataclass(frozen=True)
class _State:
    pots: list[Array]
    beliefs: list[Array]
    log_z: float
    loss: float
    grads: dict[Clique, Array]
    marg: dict[Clique, Array]
