"""Junction-tree inference and Private-PGM estimation (ethica.privacy.synth._graphical)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ethica.privacy.synth._graphical import (
    GraphicalModel,
    belief_propagation,
    fit_graphical,
    junction_tree,
    model_cells,
)
from ethica.privacy.synth._model import Measurement

NAMES = ("a", "b", "c", "d", "e", "f", "g")
SHAPE = (2, 3, 4, 2, 3, 2, 3)
# a 4-cycle (needs a chord), a 3-way clique, a chain, and a column (g) joined to nothing
CLIQUES = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d"), ("b", "c", "e"), ("e", "f")]


def _theta(seed: int) -> dict[tuple[str, ...], np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {c: rng.normal(scale=1.5, size=[SHAPE[NAMES.index(v)] for v in c]) for c in CLIQUES}
    out[("g",)] = rng.normal(size=SHAPE[-1])
    return out


def _joint(theta: dict[tuple[str, ...], np.ndarray]) -> tuple[np.ndarray, float]:
    """Brute force: the normalised joint over all 2*3*4*2*3*2*3 = 1728 cells, and log Z."""
    log_p = np.zeros(SHAPE)
    for x in itertools.product(*[range(s) for s in SHAPE]):
        value = dict(zip(NAMES, x, strict=True))
        log_p[x] = sum(t[tuple(value[v] for v in c)] for c, t in theta.items())
    log_z = float(np.log(np.exp(log_p).sum()))
    return np.exp(log_p - log_z), log_z


def _marginal(joint: np.ndarray, clique: tuple[str, ...]) -> np.ndarray:
    kept = sorted(clique, key=NAMES.index)
    m = joint.sum(axis=tuple(i for i, v in enumerate(NAMES) if v not in clique))
    return np.transpose(m, [kept.index(v) for v in clique])


def _model(theta: dict[tuple[str, ...], np.ndarray]) -> tuple[GraphicalModel, float]:
    tree = junction_tree(NAMES, SHAPE, list(theta))
    pots = [np.zeros([SHAPE[NAMES.index(v)] for v in c]) for c in tree.cliques]
    for c, t in theta.items():
        home = tree.home(c)
        assert home is not None
        cl = tree.cliques[home]
        shape = [t.shape[c.index(v)] if v in c else 1 for v in cl]
        pots[home] = pots[home] + t.reshape(shape)
    beliefs, log_z = belief_propagation(tree, pots)
    return GraphicalModel(tree, beliefs, 1.0), log_z


def test_junction_tree_is_a_tree_with_running_intersection() -> None:
    tree = junction_tree(NAMES, SHAPE, CLIQUES)
    assert len(tree.edges) == len(tree.cliques) - 1  # one tree (g joins by an empty separator)
    for c in CLIQUES:
        assert tree.home(c) is not None  # every measured clique sits in a maximal clique
    # running intersection: the cliques holding any one column form a connected subtree
    for v in NAMES:
        holding = {i for i, c in enumerate(tree.cliques) if v in c}
        inner = [(a, b) for a, b in tree.edges if a in holding and b in holding]
        assert len(inner) == len(holding) - 1, v
    # the 4-cycle a-b-c-d was triangulated: some maximal clique holds a chord
    assert any({"a", "c"} <= set(c) or {"b", "d"} <= set(c) for c in tree.cliques)
    assert model_cells(NAMES, SHAPE, CLIQUES) == sum(tree.cells(c) for c in tree.cliques)


@pytest.mark.parametrize("seed", [0, 1])
def test_marginals_equal_brute_force_to_1e10(seed: int) -> None:
    theta = _theta(seed)
    joint, log_z = _joint(theta)
    model, got_log_z = _model(theta)
    assert got_log_z == pytest.approx(log_z, abs=1e-10)
    worst = 0.0
    for k in (1, 2, 3):
        for q in itertools.combinations(NAMES, k):
            for order in (q, q[::-1]):  # any axis order, in or outside the maximal cliques
                worst = max(
                    worst, float(np.abs(model.probabilities(order) - _marginal(joint, order)).max())
                )
    assert worst < 1e-10
    # a query spanning far-apart cliques goes through variable elimination
    q = ("a", "f", "g")
    assert model.tree.home(q) is None
    np.testing.assert_allclose(model.probabilities(q), _marginal(joint, q), atol=1e-12)


def test_a_wrong_potential_is_caught() -> None:
    """The brute-force comparison is sharp: a potential on the wrong axis order fails it."""
    theta = _theta(0)
    joint, _ = _joint(theta)
    bad = dict(theta)
    bad[("a", "b")] = theta[("a", "b")][:, ::-1]
    model, _ = _model(bad)
    assert (
        float(np.abs(model.probabilities(("a", "b")) - _marginal(joint, ("a", "b"))).max()) > 1e-3
    )


def test_samples_are_iid_draws_from_the_joint() -> None:
    theta = _theta(2)
    joint, _ = _joint(theta)
    model, _ = _model(theta)
    n = 400_000
    rows = model.sample(n, np.random.default_rng(0))
    empirical = np.zeros(SHAPE)
    np.add.at(empirical, tuple(rows.T), 1)
    # E[TV] <= 0.5 * sqrt(2/pi) * sqrt(K / n) = 0.026 for K = 1728 cells, n = 400k;
    # a sampler that ignores one clique's conditional is off by > 0.1
    assert 0.5 * np.abs(empirical / n - joint).sum() < 0.04
    # rows are independent: consecutive rows agree on column c as often as chance says
    p_c = _marginal(joint, ("c",))
    same = float((rows[1:, 2] == rows[:-1, 2]).mean())
    assert same == pytest.approx(float((p_c**2).sum()), abs=0.01)


def test_fit_reproduces_consistent_exact_marginals() -> None:
    theta = _theta(3)
    joint, _ = _joint(theta)
    n = 10_000.0
    ms = [Measurement(c, n * _marginal(joint, c), 1.0) for c in [*CLIQUES, ("g",)]]
    ms.append(Measurement(("c", "b"), n * _marginal(joint, ("c", "b")), 2.0))  # any axis order
    model, params = fit_graphical(NAMES, SHAPE, ms, iters=1000, tol=0.0)
    assert model.total == pytest.approx(n)
    for m in ms:
        assert float(np.abs(model.counts(m.clique) - m.values).max()) < 2.0  # of 10,000 rows
    # the max-entropy fit of the measured cliques is the generating model: a pair not measured
    # (a, e) comes out right too
    assert (
        float(np.abs(model.probabilities(("a", "e")) - _marginal(joint, ("a", "e"))).max()) < 1e-3
    )
    # warm start from the fitted parameters: already at the optimum
    again, _ = fit_graphical(NAMES, SHAPE, ms, iters=5, warm=params)
    np.testing.assert_allclose(again.counts(("b", "c")), model.counts(("b", "c")), atol=0.5)
    back = GraphicalModel.from_dict(model.to_dict(), NAMES, SHAPE)
    assert back.tree == model.tree  # the stored tree itself, never re-triangulated
    np.testing.assert_allclose(
        back.probabilities(("a", "f", "g")), model.probabilities(("a", "f", "g"))
    )
