"""The price of fairness: the error/disparity Pareto frontier of a constrained learner.

Sweep the bound of a constraint, train an :class:`ExponentiatedGradient` model at each bound
(each run warm-started with every classifier met at the earlier bounds), and measure the
expected error and disparity of each randomised model on held-out rows. A point is
*dominated* when another has no larger error and no larger disparity, one strictly smaller.
The frontier's quality is its *hypervolume*: the area dominated by its points and bounded by
a reference point ``(r_error, r_disparity)`` (Zitzler and Thiele 1998):

    HV = area( union_i [error_i, r_error] x [disparity_i, r_disparity] ).

The held-out rows are a sample, so each point carries intervals at ``confidence``: the error
a Wilson score interval (Wilson 1927) on the expected number of mistakes of the randomised
model over the ``n`` held-out rows (each row's expected loss lies in [0, 1], so its variance
is at most that of a Bernoulli of the same mean and the interval is conservative); the
disparity a Newcombe hybrid score interval (Newcombe 1998) for the difference between the
two (group, event) cells that attain it, with their expected positives over their rows
(conditional on which two cells are extreme).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ethica._exceptions import ConvergenceWarning, InvalidParameterError
from ethica._results import ResultPart
from ethica._typing import BoolArray, FloatArray, LabelArray
from ethica.fairness._constraints import BoundConstraint, DemographicParity, FairnessConstraint
from ethica.fairness._hypothesis_pool import HypothesisPool
from ethica.fairness._intervals import newcombe_difference, wilson_interval
from ethica.fairness._learning_base import binary_labels
from ethica.fairness._learning_results import LearningResult
from ethica.fairness._reductions import ExponentiatedGradient

__all__ = [
    "FrontierPoint",
    "FrontierResult",
    "disparity_interval",
    "error_interval",
    "frontier",
    "hypervolume",
    "pareto_mask",
]


def pareto_mask(
    errors: Sequence[float] | FloatArray, disparities: Sequence[float] | FloatArray
) -> BoolArray:
    """True for the points no other point dominates (both objectives minimised)."""
    e = np.asarray(errors, dtype=np.float64)
    d = np.asarray(disparities, dtype=np.float64)
    no_worse = (e[None, :] <= e[:, None]) & (d[None, :] <= d[:, None])
    better = (e[None, :] < e[:, None]) | (d[None, :] < d[:, None])
    dominated: BoolArray = np.asarray((no_worse & better).any(axis=1))
    return ~dominated


def hypervolume(
    errors: Sequence[float] | FloatArray,
    disparities: Sequence[float] | FloatArray,
    reference: tuple[float, float] = (1.0, 1.0),
) -> float:
    """Area dominated by the points inside the box up to ``reference`` (module docstring)."""
    e = np.asarray(errors, dtype=np.float64)
    d = np.asarray(disparities, dtype=np.float64)
    inside = (e < reference[0]) & (d < reference[1])
    keep = pareto_mask(e[inside], d[inside])
    e, d = e[inside][keep], d[inside][keep]
    order = np.lexsort((d, e))
    area, ceiling = 0.0, reference[1]
    for i in order:
        if d[i] < ceiling:
            area += (reference[0] - e[i]) * (ceiling - d[i])
            ceiling = d[i]
    return float(area)


def error_interval(
    predictions: FloatArray, labels: LabelArray, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson interval of the expected error ``mean_i |h_i - y_i|`` over ``n`` rows.

    ``predictions`` are per-row ``P[h = 1]`` (module docstring: conservative for a
    randomised model).
    """
    mistakes = float(np.sum(np.abs(np.asarray(predictions, dtype=np.float64) - labels)))
    low, high = wilson_interval(
        np.array([mistakes]), np.array([float(labels.shape[0])]), confidence
    )
    return float(low[0]), float(high[0])


def disparity_interval(
    bound: BoundConstraint, predictions: FloatArray, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe interval of the difference between the two cells that attain the disparity.

    The disparity is ``max_E (max_a mu_{a,E} - min_a mu_{a,E})``; for the event ``E`` that
    attains it, the interval is that of ``mu_{hi,E} - mu_{lo,E}`` with the expected
    positives ``mu * n`` over each cell's ``n`` rows (module docstring).
    """
    cell_mean, _ = bound.cell_values(np.asarray(predictions, dtype=np.float64))
    n_groups = len(bound.group_names)
    table = cell_mean.reshape(len(bound.spec.events), n_groups)
    sizes = bound.cell_size.reshape(len(bound.spec.events), n_groups)
    event = int(np.argmax(table.max(axis=1) - table.min(axis=1)))
    hi, lo = int(np.argmax(table[event])), int(np.argmin(table[event]))
    n1, n2 = sizes[event, hi], sizes[event, lo]
    _, low, high = newcombe_difference(
        np.array([table[event, hi] * n1]),
        np.array([n1]),
        np.array([table[event, lo] * n2]),
        np.array([n2]),
        confidence,
    )
    return float(low[0]), float(high[0])


@dataclass(frozen=True)
class FrontierPoint(ResultPart):
    """One trained model: its bound, held-out and training error and disparity.

    ``error_interval`` and ``disparity_interval`` are the held-out values' confidence
    intervals (module docstring); ``None`` when not computed.
    """

    bound: float
    error: float
    disparity: float
    train_error: float
    train_disparity: float
    dominated: bool
    error_interval: tuple[float, float] | None = None
    disparity_interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class FrontierResult(LearningResult):
    """The swept frontier.

    Attributes
    ----------
    constraint
        Registry name of the constraint swept (e.g. ``"demographic-parity"``).
    points
        Every bound tried, in sweep order, with ``dominated`` flags.
    hypervolume, reference
        Hypervolume of the held-out points and the reference point used.
    chosen
        Index of the chosen point: the most accurate undominated point whose held-out
        disparity is at most ``target_disparity`` (else the least disparate one).
    target_disparity
        The disparity the choice aimed for.
    n_test, confidence
        Held-out rows measured, and the coverage of the points' intervals.
    models
        The fitted model of every point (not serialised).
    """

    kind: ClassVar[str] = "frontier"
    _not_serialised: ClassVar[tuple[str, ...]] = ("models",)

    constraint: str
    points: tuple[FrontierPoint, ...]
    hypervolume: float
    reference: tuple[float, float]
    chosen: int
    target_disparity: float
    models: tuple[ExponentiatedGradient, ...] = field(repr=False, compare=False)
    n_test: int = 0
    confidence: float = 0.95

    @property
    def chosen_model(self) -> ExponentiatedGradient:
        """The fitted model of the chosen point."""
        return self.models[self.chosen]

    def pareto(self) -> tuple[FrontierPoint, ...]:
        """The undominated points, by increasing error."""
        return tuple(sorted((p for p in self.points if not p.dominated), key=lambda p: p.error))

    def _rows(self) -> list[dict[str, Any]]:
        return [
            {
                "constraint": self.constraint,
                "bound": p.bound,
                "error": p.error,
                "disparity": p.disparity,
                "train_error": p.train_error,
                "train_disparity": p.train_disparity,
                "error_ci_low": None if p.error_interval is None else p.error_interval[0],
                "error_ci_high": None if p.error_interval is None else p.error_interval[1],
                "disparity_ci_low": (
                    None if p.disparity_interval is None else p.disparity_interval[0]
                ),
                "disparity_ci_high": (
                    None if p.disparity_interval is None else p.disparity_interval[1]
                ),
                "dominated": p.dominated,
                "chosen": i == self.chosen,
            }
            for i, p in enumerate(self.points)
        ]


def _default_bounds(train_bound: BoundConstraint, start: Any, points: int) -> list[float]:
    """Bounds from 0 up to the unconstrained model's worst violation on the training rows."""
    worst = float(train_bound.violations(np.asarray(start, dtype=np.float64)).max())
    return [float(b) for b in np.linspace(0.0, max(worst, 1e-3), points)]


def frontier(
    X_train: Any,
    y_train: Any,
    sensitive_train: Any,
    X_test: Any,
    y_test: Any,
    sensitive_test: Any,
    *,
    constraint: FairnessConstraint | None = None,
    points: int = 10,
    bounds: Sequence[float] | None = None,
    estimator: Any = None,
    target_disparity: float | None = None,
    reference: tuple[float, float] = (1.0, 1.0),
    max_iter: int = 50,
    random_state: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FrontierResult:
    """Sweep a constraint's bound and measure each model on held-out rows.

    Parameters
    ----------
    X_train, y_train, sensitive_train, X_test, y_test, sensitive_test
        Training and held-out features, 0/1 labels and protected values.
    constraint
        Spec whose bound is swept (default ``DemographicParity()``); it is not changed.
    points
        Number of bounds when ``bounds`` is not given: evenly spaced from 0 to the
        unconstrained model's worst training violation.
    bounds
        Explicit bounds, each in [0, 1].
    estimator
        Base classifier accepting ``sample_weight`` (default LogisticRegression).
    target_disparity
        Held-out disparity the chosen point must not exceed (default: the spec's bound).
    reference
        Reference point of the hypervolume.
    max_iter, random_state
        Passed to every :class:`ExponentiatedGradient`.
    progress
        Called as ``progress(done, total)`` after each model is trained (``total`` counts
        the unconstrained run that sets the default bounds).
    """
    spec = DemographicParity() if constraint is None else constraint
    if not isinstance(spec, FairnessConstraint) or spec.uses_ratio:
        raise InvalidParameterError(
            "frontier sweeps a difference bound and needs a constraint spec such as "
            f"DemographicParity(), got {spec!r}."
        )
    if bounds is None and (isinstance(points, bool) or not isinstance(points, int) or points < 2):
        raise InvalidParameterError(f"points={points!r} must be an integer of at least 2.")
    models: list[ExponentiatedGradient] = []
    pool: HypothesisPool | None = None
    total = points + 1 if bounds is None else len(bounds)
    trained = [0]

    def fit(bound: float) -> ExponentiatedGradient:
        nonlocal pool
        model = ExponentiatedGradient(
            estimator=estimator,
            constraint=spec.with_bound(bound),
            max_iter=max_iter,
            random_state=random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported per point below
            pool = model.fit_warm(X_train, y_train, sensitive_features=sensitive_train, pool=pool)
        trained[0] += 1
        if progress is not None:
            progress(trained[0], total)
        return model

    y_train, y_test = _coded_labels(y_train, y_test)
    train_bound = type(spec)(difference_bound=0.0).bind(y_train, sensitive_train)
    if bounds is None:
        loosest = fit(1.0)  # a bound of 1 never binds: the unconstrained solution
        start = loosest._pmf_predict(X_train)[:, 1]
        bounds = _default_bounds(train_bound, start, points)
    sweep = sorted(float(b) for b in bounds)
    for b in sweep:
        if not 0.0 <= b <= 1.0:
            raise InvalidParameterError(f"bound {b!r} is outside [0, 1]; give bounds in [0, 1].")
    for b in reversed(sweep):  # loosest first: each run warm-starts the next, tighter one
        models.insert(0, fit(b))
    test_bound = type(spec)(difference_bound=0.0).bind(y_test, sensitive_test)
    rows = []
    for model in models:
        train_positive = model._pmf_predict(X_train)[:, 1]
        test_positive = model._pmf_predict(X_test)[:, 1]
        rows.append(
            (
                float(np.mean(np.abs(test_positive - y_test))),
                test_bound.disparity(test_positive),
                float(np.mean(np.abs(train_positive - y_train))),
                train_bound.disparity(train_positive),
                error_interval(test_positive, y_test),
                disparity_interval(test_bound, test_positive),
            )
        )
    errors = [r[0] for r in rows]
    disparities = [r[1] for r in rows]
    keep = pareto_mask(errors, disparities)
    result_points = tuple(
        FrontierPoint(
            bound=b,
            error=r[0],
            disparity=r[1],
            train_error=r[2],
            train_disparity=r[3],
            dominated=not bool(k),
            error_interval=r[4],
            disparity_interval=r[5],
        )
        for b, r, k in zip(sweep, rows, keep, strict=True)
    )
    target = spec.bound if target_disparity is None else float(target_disparity)
    return FrontierResult(
        constraint=spec.name,
        points=result_points,
        hypervolume=hypervolume(errors, disparities, reference),
        reference=(float(reference[0]), float(reference[1])),
        chosen=_choose(result_points, target),
        target_disparity=target,
        models=tuple(models),
        n_test=int(y_test.shape[0]),
    )


def _coded_labels(y_train: Any, y_test: Any) -> tuple[LabelArray, LabelArray]:
    """Both label vectors coded 0/1 with the training classes."""
    classes, coded = binary_labels(y_train)
    test = np.asarray(y_test)
    unknown = sorted(set(np.unique(test).tolist()) - set(classes.tolist()))
    if unknown:
        raise InvalidParameterError(
            f"held-out labels {unknown} never occur in training labels {classes.tolist()}; "
            "encode both splits the same way."
        )
    return coded, (test == classes[1]).astype(np.int8)


def _choose(points: Sequence[FrontierPoint], target: float) -> int:
    candidates = [i for i, p in enumerate(points) if not p.dominated and p.disparity <= target]
    if candidates:
        return min(candidates, key=lambda i: points[i].error)
    return min(range(len(points)), key=lambda i: (points[i].disparity, points[i].error))
