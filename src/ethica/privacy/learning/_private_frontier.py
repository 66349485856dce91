"""The three-way frontier: error × unfairness × privacy budget of the DP fair learners.

:func:`private_frontier` fits the differentially private fair learners,
:class:`~ethica.privacy.learning.DPExponentiatedGradient` (``"reduction"``) and
:class:`~ethica.privacy.learning.DPThresholdOptimizer` (``"postprocessing"``), over a grid of
budgets ``epsilon`` and fairness bounds, and measures each on held-out rows (Jagielski et al.
2019 describe this trade-off; the frontier makes it visible). Each grid point fits the learner
``repeats`` times (fresh noise each time) and reports the *expected* classifier over the noise:
the randomised classifier that runs one of the fits chosen uniformly, i.e. per held-out row the
mean of the fits' ``P[h(x) = 1]``. Its intervals are those of ethica's exact frontier
(:mod:`ethica.fairness._frontier`): a Wilson interval (Wilson 1927) for the expected error and a
Newcombe hybrid score interval (Newcombe 1998) for the difference between the two
(group, event) cells that attain the disparity. They cover the sampling of the held-out rows for
this expected classifier; how much one deployed fit varies with the noise is shown by the range
of the fits' disparities (``disparity_min``/``disparity_max``).

A point is on the three-way Pareto frontier when no other point has no larger error, no larger
disparity and no larger epsilon, one of them strictly smaller. The optional no-noise reference
(``epsilon=None``: the same learner with a budget so large its noise is nil) reads the data
without a meaningful budget, so it is refused when a ledger is charged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ethica._exceptions import BudgetExceededError, InvalidParameterError
from ethica._results import ResultPart
from ethica._typing import FloatArray
from ethica.fairness._constraints import FairnessConstraint
from ethica.fairness._frontier import disparity_interval, error_interval
from ethica.fairness._learning_base import resolve_constraint
from ethica.fairness._learning_results import LearningResult
from ethica.privacy.budget._accounting import sequential_composition
from ethica.privacy.budget._budgets import PureDP
from ethica.privacy.learning._charging import check_ledger
from ethica.privacy.learning._fair_postprocessing import DPThresholdOptimizer
from ethica.privacy.learning._fair_reduction import DPExponentiatedGradient, checked_plan
from ethica.privacy.learning._labels import (
    check_declared_classes,
    check_declared_groups,
    encode_declared,
    protected_column,
)

__all__ = ["LEARNERS", "PrivateFrontierPoint", "PrivateFrontierResult", "private_frontier"]

#: The learners the frontier can sweep.
LEARNERS = ("reduction", "postprocessing")

#: The "no noise" budget of the reference points (noise scales ~ 1e-5: no count moves).
NO_NOISE = 1e6

#: ethica constraint name -> DPThresholdOptimizer's spelling.
_POSTPROCESSING_NAMES = {
    "demographic_parity": "demographic_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "false_positive_rate_parity": "false_positive_rate_parity",
    "equalized_odds": "equalized_odds",
}


@dataclass(frozen=True)
class PrivateFrontierPoint(ResultPart):
    """One (learner, epsilon, bound): the expected classifier over ``fits`` noisy fits.

    ``epsilon`` is None for the no-noise reference. ``disparity_min``/``disparity_max`` are
    the range of the individual fits' held-out disparities.
    """

    learner: str
    epsilon: float | None
    bound: float
    fits: int
    error: float
    error_interval: tuple[float, float]
    disparity: float
    disparity_interval: tuple[float, float]
    disparity_min: float
    disparity_max: float
    pareto: bool


@dataclass(frozen=True)
class PrivateFrontierResult(LearningResult):
    """The three-way frontier (module docstring).

    Attributes
    ----------
    constraint
        Registry name of the constraint (e.g. ``"demographic_parity"``).
    points
        Every grid point, learner by learner, epsilon by epsilon (reference last).
    groups
        The declared groups measured.
    n_test, confidence
        Held-out rows (of the declared groups) and the intervals' coverage.
    total_epsilon
        The budget all private fits spent together (basic composition: the sum). With a
        ledger, the whole sum and every fit's calibration are checked before the first fit.
    """

    kind: ClassVar[str] = "private_frontier"

    constraint: str
    points: tuple[PrivateFrontierPoint, ...]
    groups: tuple[str, ...]
    n_test: int
    confidence: float
    total_epsilon: float

    def pareto(self) -> tuple[PrivateFrontierPoint, ...]:
        """The undominated points, by epsilon then error."""
        front = (p for p in self.points if p.pareto)
        return tuple(sorted(front, key=lambda p: (_eps(p.epsilon), p.error)))

    def _rows(self) -> list[dict[str, Any]]:
        return [
            {
                "constraint": self.constraint,
                "learner": p.learner,
                "epsilon": p.epsilon,
                "bound": p.bound,
                "fits": p.fits,
                "error": p.error,
                "error_ci_low": p.error_interval[0],
                "error_ci_high": p.error_interval[1],
                "disparity": p.disparity,
                "disparity_ci_low": p.disparity_interval[0],
                "disparity_ci_high": p.disparity_interval[1],
                "disparity_min": p.disparity_min,
                "disparity_max": p.disparity_max,
                "pareto": p.pareto,
            }
            for p in self.points
        ]


def _eps(epsilon: float | None) -> float:
    return float("inf") if epsilon is None else epsilon


def _three_way_pareto(points: Sequence[tuple[float, float, float]]) -> list[bool]:
    values: FloatArray = np.array(points, dtype=np.float64)
    no_worse = np.all(values[None, :, :] <= values[:, None, :], axis=2)
    better = np.any(values[None, :, :] < values[:, None, :], axis=2)
    dominated = np.any(no_worse & better, axis=1)
    return [not bool(flag) for flag in dominated.tolist()]


def private_frontier(
    X: Any,
    y: Any,
    sensitive_features: Any,
    X_test: Any,
    y_test: Any,
    sensitive_test: Any,
    *,
    groups: Sequence[Any],
    epsilons: Sequence[float] = (0.1, 1.0, 10.0),
    bounds: Sequence[float] = (0.01, 0.05),
    constraints: Any = None,
    classes: Sequence[Any] = (0, 1),
    learners: Sequence[str] = LEARNERS,
    hypotheses: Sequence[Any] | None = None,
    scorer: Any = None,
    repeats: int = 3,
    max_iter: int = 10,
    reference: bool = True,
    confidence: float = 0.95,
    ledger: Any = None,
    dataset: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PrivateFrontierResult:
    """Fit the DP fair learners over ``epsilons`` × ``bounds`` and measure them held out.

    Parameters
    ----------
    X, y, sensitive_features
        The private training rows (labels in the declared ``classes``).
    X_test, y_test, sensitive_test
        Held-out rows; only rows of the declared ``groups`` and ``classes`` are measured.
        **They are measured exactly, without noise or charge**: pass public rows (or rows
        whose owner may see exact figures), never private ones.
    groups, classes
        Declared (public) groups and ``(negative, positive)`` labels.
    epsilons, bounds
        The grid: ``PureDP(epsilon)`` per fit, and the constraint's difference bound (the
        reduction's bound, the post-processing's tolerance).
    constraints
        A difference-bound spec (default ``DemographicParity()``; its own bound is replaced by
        each of ``bounds``).
    learners
        Any of ``"reduction"`` (needs ``hypotheses``, default stumps) and
        ``"postprocessing"`` (needs a fitted public ``scorer``).
    repeats
        Fits per grid point (the expected classifier over them is measured).
    max_iter
        Rounds of the reduction.
    reference
        Add each learner's no-noise point per bound (``epsilon=None``); refused with a ledger.
    ledger, dataset
        Charge every private fit (``repeats × len(epsilons) × len(bounds)`` per learner).
    progress
        Called as ``progress(done, total)`` after each fit.
    """
    spec = resolve_constraint(constraints, "private_frontier")
    declared = check_declared_groups("private_frontier", groups)
    labels = check_declared_classes("private_frontier", classes, y_test)
    chosen = _check_grid(spec, learners, epsilons, bounds, repeats, scorer, reference, ledger)
    _check_sweep_budget(chosen, epsilons, bounds, repeats, max_iter, scorer, ledger, dataset)
    grid: list[tuple[str, float | None, float]] = [
        (learner, float(e), float(b)) for learner in chosen for e in epsilons for b in bounds
    ]
    if reference:
        grid += [(learner, None, float(b)) for learner in chosen for b in bounds]
    codes = encode_declared(protected_column(sensitive_test), declared)
    targets = np.asarray(y_test)
    keep = (codes >= 0) & ((targets == labels[0]) | (targets == labels[1]))
    coded = (targets[keep] == labels[1]).astype(np.int8)
    names = np.asarray([*declared, None], dtype=object)[codes[keep]]  # the declared values
    measured = type(spec)(difference_bound=0.0).bind(coded, names)
    X_kept = X_test[keep] if hasattr(X_test, "shape") else np.asarray(X_test)[keep]
    total = sum(1 if e is None else int(repeats) for _, e, _ in grid)
    done = 0
    rows = []
    for learner, epsilon, bound in grid:
        positives = []
        for _ in range(1 if epsilon is None else int(repeats)):
            model = _learner(
                learner, spec, bound, NO_NOISE if epsilon is None else epsilon, declared,
                classes, hypotheses, scorer, max_iter,
                None if epsilon is None else ledger, None if epsilon is None else dataset,
            )  # fmt: skip
            model.fit(X, y, sensitive_features=sensitive_features)
            positives.append(_positive(model, learner, X_kept, names))
            done += 1
            if progress is not None:
                progress(done, total)
        mean = np.mean(positives, axis=0)
        each = [measured.disparity(p) for p in positives]
        rows.append(
            (
                learner,
                epsilon,
                bound,
                len(positives),
                float(np.mean(np.abs(mean - coded))),
                error_interval(mean, coded, confidence),
                measured.disparity(mean),
                disparity_interval(measured, mean, confidence),
                min(each),
                max(each),
            )
        )
    front = _three_way_pareto([(r[4], r[6], _eps(r[1])) for r in rows])
    points = tuple(PrivateFrontierPoint(*r, pareto=f) for r, f in zip(rows, front, strict=True))
    spent = sum(float(e) for _, e, _ in grid if e is not None) * int(repeats)
    return PrivateFrontierResult(
        constraint=spec.name,
        points=points,
        groups=tuple(str(g) for g in declared),
        n_test=int(coded.shape[0]),
        confidence=float(confidence),
        total_epsilon=spent,
    )


def _check_grid(
    spec: FairnessConstraint,
    learners: Sequence[str],
    epsilons: Sequence[float],
    bounds: Sequence[float],
    repeats: int,
    scorer: Any,
    reference: bool,
    ledger: Any,
) -> list[str]:
    """Every free check of the sweep (nothing is fitted before they pass)."""
    owner = "private_frontier"
    if spec.uses_ratio:
        raise InvalidParameterError(
            f"{owner} sweeps a difference bound; got {spec!r}. Pass e.g. DemographicParity()."
        )
    chosen = list(dict.fromkeys(learners))
    if not chosen or any(learner not in LEARNERS for learner in chosen):
        raise InvalidParameterError(f"{owner}(learners={learners!r}) must be among {LEARNERS}.")
    if "postprocessing" in chosen:
        if scorer is None:
            raise InvalidParameterError(
                f"{owner}: the post-processing learner needs scorer=<a scorer fitted on public "
                "data>, or learners=('reduction',)."
            )
        if spec.name not in _POSTPROCESSING_NAMES:
            raise InvalidParameterError(
                f"{owner}: DPThresholdOptimizer cannot enforce {spec.name}; use "
                "learners=('reduction',)."
            )
    if not epsilons or not bounds:
        raise InvalidParameterError(f"{owner} needs at least one epsilon and one bound.")
    for name, values in (("epsilons", epsilons), ("bounds", bounds)):
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InvalidParameterError(f"{owner}: {name} holds {value!r}; pass numbers > 0.")
    if any(b > 1 for b in bounds):
        raise InvalidParameterError(f"{owner}(bounds={list(bounds)!r}) must lie in (0, 1].")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InvalidParameterError(f"{owner}(repeats={repeats!r}) must be an integer >= 1.")
    if reference and ledger is not None:
        raise InvalidParameterError(
            f"{owner}: the no-noise reference reads the private rows without a meaningful "
            "budget; pass reference=False when charging a ledger."
        )
    return chosen


def _check_sweep_budget(
    learners: list[str],
    epsilons: Sequence[float],
    bounds: Sequence[float],
    repeats: int,
    max_iter: int,
    scorer: Any,
    ledger: Any,
    dataset: str | None,
) -> None:
    """Before the first fit: every fit's noise can be calibrated, and the ledger holds the
    whole sweep (a sweep that could stop half-way would spend budget and return nothing)."""
    owner = "private_frontier"
    for epsilon in epsilons:
        budget = PureDP(epsilon)
        if "reduction" in learners:
            checked_plan(owner, budget, int(max_iter))
        if "postprocessing" in learners:
            DPThresholdOptimizer(estimator=scorer)._calibrate(budget)
    if ledger is None:
        return
    opened = check_ledger(owner, ledger, dataset, PureDP(1))
    assert opened is not None and dataset is not None
    fits = len(learners) * len(bounds) * int(repeats)
    total = sequential_composition([PureDP(e) for e in epsilons for _ in range(fits)])
    remaining = opened.status(dataset).remaining
    if not total <= remaining:
        raise BudgetExceededError(
            f"{owner}: the sweep's {fits * len(epsilons)} fits spend {total} together but "
            f"{dataset!r} has {remaining} left; nothing was charged. Sweep fewer epsilons, "
            "bounds or repeats.",
            requested=total,
            remaining=remaining,
        )


def _learner(
    learner: str,
    spec: FairnessConstraint,
    bound: float,
    epsilon: float,
    groups: list[Any],
    classes: Sequence[Any],
    hypotheses: Sequence[Any] | None,
    scorer: Any,
    max_iter: int,
    ledger: Any,
    dataset: str | None,
) -> Any:
    if learner == "reduction":
        return DPExponentiatedGradient(
            constraints=spec.with_bound(bound), groups=groups, classes=classes,
            hypotheses=hypotheses, epsilon=epsilon, max_iter=max_iter,
            ledger=ledger, dataset=dataset,
        )  # fmt: skip
    return DPThresholdOptimizer(
        estimator=scorer, groups=groups, classes=classes,
        constraints=_POSTPROCESSING_NAMES[spec.name], tolerance=bound, epsilon=epsilon,
        ledger=ledger, dataset=dataset,
    )  # fmt: skip


def _positive(model: Any, learner: str, X: Any, groups: Any) -> FloatArray:
    """Per-row ``P[h(x) = 1]``; post-processing reads the group, the reduction does not."""
    if learner == "reduction":
        result: FloatArray = model.predict_proba(X)[:, 1]
    else:
        result = model.predict_proba(X, sensitive_features=groups)[:, 1]
    return result
