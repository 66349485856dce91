"""Fair classification when the protected attribute is private: DP exponentiated gradient.

:class:`DPExponentiatedGradient` is the differentially private version of the reduction of
Agarwal, Beygelzimer, Dudík, Langford and Wallach (2018), "A Reductions Approach to Fair
Classification" (ICML), following Jagielski, Kearns, Mao, Oprea, Roth, Sharifi-Malvajerdi and
Ullman (2019), "Differentially Private Fair Learning" (ICML), Sec. 4: a zero-sum game between
a learner choosing classifiers ``h`` from a finite public class ``H`` and an auditor choosing
Lagrange multipliers ``lambda >= 0``, ``||lambda||_1 <= B``, of the Lagrangian

    L(h, lambda) = err(h) + sum_k lambda_k v_k(h),

where ``v_k(h) = lhs_k(h) - bound_k`` are the constraint violations of
:mod:`ethica.fairness._constraints` (group rates against overall rates). Each of ``T`` rounds:

1. the learner best-responds to ``lambda_t`` *privately*: the **exponential mechanism**
   (McSherry & Talwar 2007) over ``H`` with utility ``u(h) = -sum_i d_{g_i, y_i} h(x_i)``,
   where ``d_{g,y}`` is the cost of predicting 1 rather than 0 for a row of group ``g`` and
   label ``y`` in ``L(., lambda_t)`` (computed from public values: ``lambda_t`` and the noisy
   group sizes below, rounded to an integer grid);
2. the auditor measures the violations ``v(h_t)`` from **noisy counts**: the number of rows
   of each (group, label) cell that ``h_t`` labels 1, plus exact discrete Laplace (pure DP) or
   discrete Gaussian (zCDP) noise from :mod:`ethica.privacy.noise`;
3. ``lambda`` moves by exponentiated gradient on the noisy violations (Agarwal et al. 2018,
   Alg. 1): ``theta += eta v~(h_t)``, ``lambda = B exp(theta) / (1 + sum exp(theta))``.

The released classifier is, with ``mixture="average"``, the uniform mixture of ``h_1 .. h_T``
(the learner's average play, whose fairness and error the game's regret bounds control, as in
the paper), or by default the best mixture of the classifiers met and the two constant
classifiers, chosen by the linear program of Agarwal et al. (2018, Sec. 3.3) on the noisy
counts (post-processing: each classifier's counts were released in the rounds it was chosen;
the constants' are 0 and the noisy sizes). The group sizes that normalise
every rate are released once, before the first round, as a noisy ``(group, label)`` table.

Sensitivity (neighbours: add or remove one row, ethica's ``Rows()`` unit)
--------------------------------------------------------------------------
* The size table and every round's count table give each row exactly one cell, so one row
  changes one cell by one: L1 and L2 sensitivity 1.
* The exponential mechanism's utility changes, when the row ``(x, g, y)`` is added, by
  ``-d_{g,y} h(x)``, a value in ``[min(0, -d), max(0, -d)]`` for every ``h``: an interval of
  width ``|d_{g,y}| <= Delta = max_{g,y} |d_{g,y}|`` (over all declared groups and both labels,
  not only those present). Sampling ``P(h) ∝ exp(eta u(h) / Delta)`` therefore has log
  probability ratios within an interval of width ``eta``: it is ``eta``-bounded-range, hence
  ``eta``-DP and ``eta**2 / 8``-zCDP (bounded range: Durfee & Rogers 2019; its zCDP bound:
  Cesar & Rogers 2021, "Bounding, Concentrating, and Truncating: Unifying Privacy Loss
  Composition for Data Analytics", ALT).

Accounting over the ``T`` rounds (stated, then charged once, before the data is read)
----------------------------------------------------------------------------------------
The budget is split by public weights: the size table 1 part, each round's counts 1 part and
its selection 2 parts, ``W = 1 + 3 T`` parts in all. The rounds are adaptive (``lambda_t``
depends on earlier noisy outputs only), so adaptive sequential composition applies:

* ``PureDP(epsilon)``: basic composition (Dwork, McSherry, Nissim & Smith 2006). Each part is
  ``epsilon / W``: the tables get discrete Laplace noise of scale ``W / epsilon``, each
  selection ``eta = 2 epsilon / W``, and ``epsilon/W + T (epsilon/W + 2 epsilon/W) = epsilon``.
* ``ZCDP(rho)`` (``ApproxDP(epsilon, delta)`` through the largest ``rho`` whose conversion fits,
  Canonne, Kamath & Steinke 2020, Cor. 13): zCDP composition (Bun & Steinke 2016, Lemma 2.3).
  Each part is ``rho / W``: the tables get discrete Gaussian noise with
  ``sigma >= 1 / sqrt(2 rho / W)`` (CKS 2020, Thm 4), each selection
  ``eta = sqrt(8 * 2 rho / W)`` (rounded down), so the total is at most ``rho``.

The paper composes its rounds in (epsilon, delta)-DP with the advanced composition theorem;
zCDP composition is at least as tight, and pure DP is offered by basic composition.

Post-processing (free): the rates, violations, multipliers, the mixture and its noisy training
error and violation are functions of the released tables and of the chosen indices only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.utils import Tags

from ethica._exceptions import InvalidParameterError
from ethica._typing import FloatArray
from ethica.fairness._constraints import FairnessConstraint
from ethica.fairness._hypothesis_pool import HypothesisPool
from ethica.fairness._learning_base import (
    BinaryFairClassifier,
    ConstantClassifier,
    check_number,
    mixture_positive_probability,
    require_sensitive_features,
    resolve_constraint,
)
from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, Budget, PureDP
from ethica.privacy.learning._charging import (
    SharedLedgerClone,
    check_ledger,
    draw_noise,
    dyadic_below,
    finite_rows,
    private_inputs,
    resolve_budget,
    run_charged,
    zcdp_of,
)
from ethica.privacy.learning._hypotheses import (
    position_dependent,
    randomised_model,
    stump_hypotheses,
)
from ethica.privacy.learning._labels import (
    check_declared_groups,
    code_labels,
    declared_codes,
    encode_declared,
    protected_column,
)
from ethica.privacy.noise import exponential_mechanism
from ethica.privacy.noise._gaussian import MAX_SIGMA
from ethica.privacy.noise._laplace import MAX_SCALE as MAX_LAPLACE_SCALE

__all__ = [
    "CountLagrangian",
    "DPExponentiatedGradient",
    "checked_plan",
    "round_plan",
    "selection_utilities",
]

#: Public weights of the budget split: the size table, each round's counts, each selection.
SIZE_PARTS, COUNT_PARTS, SELECT_PARTS = 1, 1, 2

#: Most rounds allowed (each round spends a share of the budget).
MAX_ROUNDS = 10_000

#: What the ledger records as the output (its SHA-256): the chosen indices and the tables.
_RELEASED = ("chosen", "sizes", "counts")

#: Bits of the integer grid the selection costs are rounded to (before the utilities).
COST_BITS = 30


def round_plan(budget: Budget, rounds: int) -> dict[str, Any]:
    """The noise of every release and the accounting over ``rounds`` rounds (public values
    only; see the module docstring). Keys starting with ``_`` hold exact values."""
    parts = SIZE_PARTS + rounds * (COUNT_PARTS + SELECT_PARTS)
    if isinstance(budget, PureDP):
        unit = budget.epsilon / parts
        scale = 1 / unit  # L1 sensitivity 1 per table
        eta = SELECT_PARTS * unit
        return {
            "composition": "basic composition of pure DP (Dwork et al. 2006)",
            "table_noise": "discrete Laplace",
            "table_scale": float(scale),
            "selection_eta": float(eta),
            "rounds": rounds,
            "parts": parts,
            "_scale": scale,
            "_eta": eta,
        }
    rho, _ = zcdp_of(budget)
    unit_rho = rho / parts
    sigma = gaussian_sigma(Fraction(1), ZCDP(unit_rho * COUNT_PARTS))
    eta = dyadic_below(math.sqrt(8 * float(unit_rho * SELECT_PARTS)))
    while eta > 0 and eta * eta / 8 > unit_rho * SELECT_PARTS:  # exact: never above its share
        eta -= Fraction(1, 1 << 40)
    return {
        "composition": "zCDP composition (Bun & Steinke 2016)",
        "table_noise": "discrete Gaussian",
        "table_sigma": float(sigma),
        "selection_eta": float(eta),
        "rho": float(rho),
        "rounds": rounds,
        "parts": parts,
        "_scale": sigma,
        "_eta": eta,
    }


def checked_plan(owner: str, budget: Budget, rounds: int) -> dict[str, Any]:
    """:func:`round_plan`, refused (free, before any charge) when its noise is out of the
    exact samplers' range."""
    plan = round_plan(budget, rounds)
    limit = MAX_LAPLACE_SCALE if isinstance(budget, PureDP) else MAX_SIGMA
    if plan["_scale"] > limit or plan["_eta"] <= 0:
        raise InvalidParameterError(
            f"{owner}: {budget} over {rounds} rounds leaves table noise "
            f"{float(plan['_scale']):.4g} and selection eta {float(plan['_eta']):.4g}, out "
            "of the exact samplers' range; spend more or play fewer rounds (max_iter). "
            "Nothing was charged."
        )
    return plan


@dataclass(frozen=True)
class CountLagrangian:
    """The Lagrangian of a parity constraint computed from ``(group, label)`` count tables.

    ``sizes[g, y]`` are the (noisy) numbers of rows of group ``g`` and label ``y``; a count
    table ``S[g, y]`` holds how many of them a classifier labels 1. Each cell size is
    clamped to at least 1. The constraint rows are ordered as in
    :class:`~ethica.fairness.BoundConstraint` (cells event-major, then the two signs).
    """

    spec: FairnessConstraint
    sizes: FloatArray

    @property
    def _member(self) -> FloatArray:
        """``member[e, y]``: 1 when label ``y`` belongs to event ``e``."""
        return np.array(
            [[1.0 if e is None or e == y else 0.0 for y in (0, 1)] for e in self.spec.events]
        )

    @property
    def _cell_size(self) -> FloatArray:
        size: FloatArray = np.maximum(self._member @ np.maximum(self.sizes, 0.0).T, 1.0)
        return size  # (events, groups)

    def _coefficients(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        n_cells = self._cell_size.size
        ratio = self.spec.bound if self.spec.uses_ratio else 1.0
        on_cell = np.concatenate([np.full(n_cells, ratio), np.full(n_cells, -1.0)])
        on_event = np.concatenate([np.full(n_cells, -1.0), np.full(n_cells, ratio)])
        bounds = np.full(2 * n_cells, 0.0 if self.spec.uses_ratio else self.spec.bound)
        return on_cell, on_event, bounds

    @property
    def total(self) -> float:
        """Number of rows (noisy, at least 1)."""
        return max(float(np.maximum(self.sizes, 0.0).sum()), 1.0)

    def _event_values(self, positives: FloatArray) -> FloatArray:
        """Per (event, group): the sum of ``g`` (the prediction, or the error) over the cell."""
        values = positives
        if self.spec.on_error:  # errors: false positives and false negatives
            values = np.column_stack([positives[:, 0], self.sizes[:, 1] - positives[:, 1]])
        result: FloatArray = self._member @ values.T
        return result

    def rates(self, positives: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``mu_{g,E}`` (shape (events, groups)) and ``mu_{*,E}`` from a count table."""
        cells = self._event_values(positives)
        size = self._cell_size
        return cells / size, cells.sum(axis=1) / size.sum(axis=1)

    def violations(self, positives: FloatArray) -> FloatArray:
        """``lhs_k - bound_k`` for every one-sided constraint (feasible when all <= 0)."""
        cell_rate, event_rate = self.rates(positives)
        on_cell, on_event, bounds = self._coefficients()
        n_groups = self.sizes.shape[0]
        cells = np.tile(cell_rate.ravel(), 2)
        events = np.tile(np.repeat(event_rate, n_groups), 2)
        result: FloatArray = on_cell * cells + on_event * events - bounds
        return result

    def error(self, positives: FloatArray) -> float:
        """Training error of a classifier from its count table."""
        mistakes = positives[:, 0].sum() + (self.sizes[:, 1] - positives[:, 1]).sum()
        return float(mistakes) / self.total

    def costs(self, multipliers: FloatArray) -> FloatArray:
        """``d[g, y]``: the change of ``L(h, lambda)`` when ``h`` labels one more row of group
        ``g`` and label ``y`` as 1 (error part ``(1 - 2y) / n`` plus the fairness part, as
        :meth:`~ethica.fairness.BoundConstraint.cost_gradient`)."""
        size = self._cell_size
        n_events, n_groups = size.shape
        on_cell, on_event, _ = self._coefficients()
        per_cell = (on_cell * multipliers).reshape(2, -1).sum(axis=0).reshape(n_events, n_groups)
        per_event = (on_event * multipliers).reshape(2, -1).sum(axis=0)
        per_event = per_event.reshape(n_events, n_groups).sum(axis=1)
        fairness = per_cell / size + (per_event / size.sum(axis=1))[:, None]  # (e, g)
        slope = np.array([1.0, -1.0]) if self.spec.on_error else np.ones(2)
        by_label = (self._member * slope).T @ fairness  # (y, g)
        error = np.array([1.0, -1.0]) / self.total
        result: FloatArray = by_label.T + error[None, :]
        return result


class _ReleasedPool(HypothesisPool):
    """The mixture LP of :class:`~ethica.fairness._hypothesis_pool.HypothesisPool` over
    classifiers known only by their errors and violations on the released counts."""

    def __init__(self, errors: list[float], violations: FloatArray) -> None:
        self.errors = np.asarray(errors, dtype=np.float64)
        self.violations = violations
        self.models = list(range(len(errors)))


class DPExponentiatedGradient(SharedLedgerClone, BinaryFairClassifier):
    """Randomised fair classifier learnt with the protected attribute kept private.

    See :mod:`ethica.privacy.learning._fair_reduction` for the game, the mechanisms, their
    sensitivities and the accounting over the rounds. The protected attribute is needed to
    fit, not to predict (the classifiers of ``H`` read ``X`` only).

    Parameters
    ----------
    constraints
        A constraint spec from :mod:`ethica.fairness` (``DemographicParity(difference_bound=
        0.02)``, ``EqualizedOdds(...)``, ...), a name, or a fairlearn moment (default
        ``DemographicParity()``).
    groups
        The protected groups, declared (public); training rows of other groups are dropped.
    classes
        ``(negative, positive)``, declared (required with a ledger); ``None`` reads them from
        ``y`` as scikit-learn does (not protected). Rows with another label are dropped.
    hypotheses
        The finite public class ``H``: fitted, deterministic classifiers predicting 0/1,
        each labelling a row from that row alone (randomised ones are refused) (e.g.
        :func:`~ethica.privacy.learning.public_hypotheses` on public data). Default: the
        decision stumps of :func:`~ethica.privacy.learning.stump_hypotheses` on
        ``feature_range`` with ``n_thresholds`` thresholds per feature.
    epsilon, delta, budget
        ``PureDP(epsilon)`` (default ``epsilon=1``), ``ApproxDP(epsilon, delta)`` or
        ``budget=ZCDP(rho)``: the whole fit's cost, charged once.
    max_iter
        ``T``, the number of rounds (each spends a share of the budget).
    multiplier_bound
        ``B``, the bound on ``||lambda||_1``. A larger ``B`` enforces the constraint harder
        but raises the selection's sensitivity (``Delta`` grows with ``B``).
    eta0
        The multipliers' learning rate is ``eta0 / B``.
    mixture
        ``"best"`` (default): the mixture of the classifiers met and the two constants that
        minimises the error subject to the constraint on the released counts (the LP of
        :class:`~ethica.fairness.ExponentiatedGradient`; post-processing). ``"average"``: the
        learner's average play, as in Jagielski et al. (2019).
    feature_range, n_thresholds
        The default stumps' public grid.
    ledger, dataset
        Charge the budget to this registered dataset before the data is read.
    random_state
        Seed of ``predict``'s draws (not of the privacy noise: that comes from the OS).

    Attributes
    ----------
    predictors_, weights_
        The distinct classifiers of the mixture and their weights (frequency over rounds).
    chosen_
        Index in ``H`` of each round's classifier.
    noisy_sizes_, noisy_counts_
        The released tables: ``(groups, 2)`` sizes and, per round, ``(groups, 2)`` positives.
    multipliers_
        The multipliers of the last round.
    noisy_error_, noisy_violation_
        Training error and worst violation of the mixture, estimated from the released tables.
    budget_, noise_
        The budget spent and the plan: noise laws, scales, ``eta`` and the composition.
    """

    randomised = True

    def __init__(
        self,
        *,
        constraints: Any = None,
        groups: Sequence[Any] | None = None,
        classes: Sequence[Any] | None = None,
        hypotheses: Sequence[Any] | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
        budget: Budget | None = None,
        max_iter: int = 10,
        multiplier_bound: float = 10.0,
        eta0: float = 2.0,
        mixture: str = "best",
        feature_range: tuple[float, float] = (0.0, 1.0),
        n_thresholds: int = 8,
        ledger: Any = None,
        dataset: str | None = None,
        random_state: int | None = None,
    ) -> None:
        self.constraints = constraints
        self.groups = groups
        self.classes = classes
        self.hypotheses = hypotheses
        self.epsilon = epsilon
        self.delta = delta
        self.budget = budget
        self.max_iter = max_iter
        self.multiplier_bound = multiplier_bound
        self.eta0 = eta0
        self.mixture = mixture
        self.feature_range = feature_range
        self.n_thresholds = n_thresholds
        self.ledger = ledger
        self.dataset = dataset
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        if tags.classifier_tags is not None:
            tags.classifier_tags.poor_score = True
        return tags

    # ------------------------------------------------------------------ free checks
    def _check_params(self) -> tuple[FairnessConstraint, list[Any], Budget]:
        name = type(self).__name__
        check_number(name, "max_iter", self.max_iter, integer=True, high=MAX_ROUNDS)
        check_number(name, "multiplier_bound", self.multiplier_bound, high=1e6)
        check_number(name, "eta0", self.eta0, high=1e6)
        check_number(name, "n_thresholds", self.n_thresholds, integer=True, high=10_000)
        try:
            lo, hi = (float(v) for v in self.feature_range)
        except (TypeError, ValueError):
            lo, hi = math.nan, math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InvalidParameterError(
                f"{name}(feature_range={self.feature_range!r}) must be finite (lo, hi) with "
                "lo < hi, declared from domain knowledge, e.g. (0, 1) for scaled features."
            )
        if self.mixture not in ("best", "average"):
            raise InvalidParameterError(
                f"{name}(mixture={self.mixture!r}) must be 'best' (the best mixture of the "
                "classifiers met, on the released counts) or 'average' (the average play)."
            )
        spec = resolve_constraint(self.constraints, name)
        groups = check_declared_groups(name, self.groups)
        budget = resolve_budget(name, self.epsilon, self.delta, self.budget)
        return spec, groups, budget

    def _hypothesis_class(self, n_features: int) -> list[Any]:
        name = type(self).__name__
        if self.hypotheses is None:
            lo, hi = (float(v) for v in self.feature_range)
            return stump_hypotheses(n_features, (lo, hi), int(self.n_thresholds))
        if isinstance(self.hypotheses, str) or not isinstance(self.hypotheses, Sequence):
            raise InvalidParameterError(
                f"{name}(hypotheses=...) must be a list of fitted classifiers predicting 0/1, "
                f"got {type(self.hypotheses).__name__}."
            )
        hypotheses = list(self.hypotheses)
        if not hypotheses:
            raise InvalidParameterError(f"{name}(hypotheses=[]) is empty; pass at least one.")
        bounds = (float(self.feature_range[0]), float(self.feature_range[1]))
        for index, model in enumerate(hypotheses):
            width = getattr(model, "n_features_in_", n_features)
            if not callable(getattr(model, "predict", None)) or width != n_features:
                raise InvalidParameterError(
                    f"{name}: hypotheses[{index}] ({type(model).__name__}) must be fitted on "
                    f"{n_features} features and have predict(X); it has "
                    f"{width if hasattr(model, 'predict') else 'no predict'}."
                )
            if randomised_model(model) or position_dependent(model.predict, n_features, bounds):
                raise InvalidParameterError(
                    f"{name}: hypotheses[{index}] ({type(model).__name__}) predicts at random "
                    "or by position (on public probe points, its label for a row changed when "
                    "the batch did), so one added row would move many counts, beyond the "
                    "sensitivity 1 the noise covers; pass deterministic per-row classifiers, "
                    "e.g. the members of a mixture (predictors_). Nothing was charged."
                )
        return hypotheses

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> DPExponentiatedGradient:
        """Play the private game, then keep the best mixture (or the average play) of the
        classifiers met, from the released counts.

        Raises
        ------
        InvalidParameterError, BudgetExceededError
            Before the charge (nothing spent).
        ReleaseFailedError
            After the charge (generic message; the charge stands).
        """
        name = type(self).__name__
        spec, groups, budget = self._check_params()
        rounds = int(self.max_iter)
        plan = checked_plan(name, budget, rounds)
        require_sensitive_features(sensitive_features, name)
        X, y = private_inputs(self, X, y, charged=self.ledger is not None, dtype="numeric")
        protected = protected_column(sensitive_features)
        if protected.ndim != 1 or protected.shape[0] != X.shape[0]:
            raise InvalidParameterError(
                f"{name}.fit: X has {X.shape[0]} rows and sensitive_features shape "
                f"{protected.shape}; pass one protected value per row (one column)."
            )
        ledger = check_ledger(name, self.ledger, self.dataset, budget)
        classes, coded = code_labels(name, self.classes, y, charged=ledger is not None)
        hypotheses = self._hypothesis_class(X.shape[1])
        n_groups = len(groups)
        multiplier_bound, eta0 = float(self.multiplier_bound), float(self.eta0)

        def play() -> dict[str, Any]:
            codes = encode_declared(protected, groups)
            labels, keep = (
                (coded, np.ones(codes.shape[0], bool))
                if coded is not None
                else (declared_codes(classes, y))
            )
            codes[~keep] = -1  # undeclared labels drop their rows
            cell = np.where(codes >= 0, codes * 2 + labels, -1)
            finite = finite_rows(X)  # so do NaN or inf features (row-local)
            counts = _positive_counts(hypotheses, X[finite], cell[finite], n_groups)  # (2G, H)
            cell = cell[finite]
            sizes = np.bincount(cell[cell >= 0], minlength=2 * n_groups).astype(np.int64)
            noisy_sizes = sizes + _noise(plan, sizes.size)
            lagrangian = CountLagrangian(spec, noisy_sizes.reshape(n_groups, 2).astype(float))
            theta = np.zeros(2 * len(spec.events) * n_groups)
            chosen, tables, lambdas = [], [], []
            for _ in range(rounds):
                exp_theta = np.exp(theta - theta.max())
                multipliers = (
                    multiplier_bound * exp_theta / (np.exp(-theta.max()) + exp_theta.sum())
                )
                index = _select(counts, lagrangian.costs(multipliers), plan["_eta"])
                table = counts[:, index] + _noise(plan, counts.shape[0])
                noisy = table.reshape(n_groups, 2).astype(float)
                theta = theta + eta0 / multiplier_bound * lagrangian.violations(noisy)
                chosen.append(index)
                tables.append(table)
                lambdas.append(multipliers)
            return {
                "chosen": chosen,
                "sizes": noisy_sizes,
                "counts": np.array(tables, dtype=np.int64),
                "multipliers": lambdas[-1],
            }

        description = f"{name} on {n_groups} groups, {len(hypotheses)} hypotheses, {rounds} rounds"
        released = run_charged(
            ledger, self.dataset, budget, description, play,
            released=lambda r: {k: np.asarray(r[k]).tolist() for k in _RELEASED},
        )  # fmt: skip
        # everything below reads only the released values: post-processing
        self._keep(hypotheses, released, spec, n_groups)
        self.classes_ = np.asarray(classes)
        self.group_names_ = groups
        self.budget_ = budget
        self.noise_ = {k: v for k, v in plan.items() if not k.startswith("_")}
        self.n_iter_ = rounds
        return self

    def _keep(
        self,
        hypotheses: list[Any],
        released: dict[str, Any],
        spec: FairnessConstraint,
        n_groups: int,
    ) -> None:
        chosen = np.asarray(released["chosen"], dtype=np.intp)
        self.chosen_ = chosen
        self.noisy_sizes_ = released["sizes"].reshape(n_groups, 2)
        self.noisy_counts_ = released["counts"].reshape(-1, n_groups, 2)
        self.multipliers_ = released["multipliers"]
        lagrangian = CountLagrangian(spec, self.noisy_sizes_.astype(float))
        distinct = np.unique(chosen)
        # each classifier met: the mean of its noisy count tables over the rounds it was chosen
        tables = [self.noisy_counts_[chosen == i].mean(axis=0) for i in distinct]
        if self.mixture == "average":  # the learner's average play (Jagielski et al. 2019)
            models = [hypotheses[i] for i in distinct]
            weights = np.array([np.mean(chosen == i) for i in distinct])
        else:  # the best mixture on the released counts, constants included (both known)
            models = [hypotheses[i] for i in distinct]
            models += [ConstantClassifier(0), ConstantClassifier(1)]
            tables += [np.zeros((n_groups, 2)), lagrangian.sizes]
            pool = _ReleasedPool(
                [lagrangian.error(t) for t in tables],
                np.column_stack([lagrangian.violations(t) for t in tables]),
            )
            weights = pool.best_mixture(float(self.multiplier_bound)).weights
        kept = np.flatnonzero(weights > 0)
        self.predictors_ = [models[i] for i in kept]
        self.weights_ = weights[kept] / weights[kept].sum()
        mixed = sum(w * tables[i] for w, i in zip(self.weights_, kept, strict=True))
        self.noisy_error_ = lagrangian.error(np.asarray(mixed))
        self.noisy_violation_ = float(lagrangian.violations(np.asarray(mixed)).max())

    def _positive_probability(self, X: Any) -> FloatArray:
        return mixture_positive_probability(self.predictors_, X, self.weights_)

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of ``classes_`` under the mixture, shape (n, 2); no protected
        attribute is needed."""
        return self._pmf_predict(X)


def _positive_counts(
    hypotheses: list[Any], X: Any, cell: npt.NDArray[np.intp], n_groups: int
) -> npt.NDArray[np.int64]:
    """``C[c, h]``: rows of cell ``c`` (group * 2 + label) that hypothesis ``h`` labels 1."""
    predictions = np.column_stack([np.asarray(h.predict(X)) == 1 for h in hypotheses])
    counts = np.zeros((2 * n_groups, len(hypotheses)), dtype=np.int64)
    for c in range(2 * n_groups):
        counts[c] = predictions[cell == c].sum(axis=0)
    return counts


def _noise(plan: dict[str, Any], size: int) -> npt.NDArray[np.int64]:
    return draw_noise(plan["table_noise"], plan["_scale"], size)


def selection_utilities(
    counts: npt.NDArray[np.int64], costs: FloatArray
) -> tuple[list[int], list[int], int]:
    """The exponential mechanism's inputs (module docstring): the costs ``d[g, y]`` rounded
    to an integer grid (public values, g-major), the exact integer utilities
    ``u(h) = -sum_c d_c C[c, h]`` and the range bound ``Delta = max_c |d_c|`` (at least 1)."""
    largest = float(np.max(np.abs(costs)))
    shift = COST_BITS - (math.frexp(largest)[1] if largest > 0 else 0)
    grid = [int(v) for v in np.round(np.ldexp(costs.ravel(), shift))]
    delta = max(max(abs(v) for v in grid), 1)
    utilities = [-sum(d * int(c) for d, c in zip(grid, column, strict=True)) for column in counts.T]
    return grid, utilities, delta


def _select(counts: npt.NDArray[np.int64], costs: FloatArray, eta: Fraction) -> int:
    """Sample ``P(h) ∝ exp(eta u(h) / Delta)``: ``eta``-bounded-range (module docstring)."""
    _, utilities, delta = selection_utilities(counts, costs)
    # exponential_mechanism samples exp(epsilon u / (2 Delta)): epsilon = 2 eta
    return exponential_mechanism(utilities, 2 * eta, delta)
