"""Fair post-processing when the protected attribute is private.

:class:`DPThresholdOptimizer` is the differentially private version of group-aware
thresholding (Hardt, Price and Srebro 2016, "Equality of Opportunity in Supervised
Learning", NeurIPS), following Jagielski, Kearns, Mao, Oprea, Roth, Sharifi-Malvajerdi and
Ullman (2019), "Differentially Private Fair Learning", ICML, Sec. 3 (the private
post-processing algorithm): the only statistics the thresholds need are, for each group,
label and candidate threshold, how many rows score at or above it. They are released once,
with noise, and the thresholds are then chosen from the noisy counts (post-processing,
which costs nothing: Dwork and Roth 2014, Prop. 2.1).

Mechanism and sensitivity
-------------------------
The score axis is cut into ``n_bins`` equal bins on the declared, public ``score_range``
(scores outside are clamped into the end bins; a non-finite score counts as the lowest);
candidate threshold ``j`` (``0 <= j <= n_bins``) predicts 1 for a row whose bin is at least
``j``, so ``j = n_bins`` predicts 0 for everybody. The released table is the histogram

    H[g, y, b] = |{rows i : group_i = g, label_i = y, bin(s_i) = b}|,

shape ``(groups, 2, n_bins)``, over the declared ``groups`` only (rows of other groups are
dropped; the list is public). Adding or removing one row (ethica's ``Rows()`` unit) changes
exactly one cell by one, so the L1 and L2 sensitivities of ``H`` are both 1. (The cumulative
table ``C[g, y, j] = sum_{b >= j} H[g, y, b]`` that the thresholds use would have L1
sensitivity up to ``n_bins``: one row is counted under every threshold below its score.
It is therefore computed from the *noisy* histogram, after the release.)

Noise: exact discrete Laplace with scale ``1 / epsilon`` (``PureDP(epsilon)``), or exact
discrete Gaussian with ``sigma >= 1 / sqrt(2 rho)`` (``ZCDP(rho)``; ``ApproxDP`` through the
tightest ``rho``), on every cell, from :mod:`ethica.privacy.noise`.

Post-processing: each noisy cumulative curve ``j -> C[g, y, j]`` is projected onto the
non-increasing, non-negative curves (isotonic regression, least squares), then the mixing
probabilities over thresholds minimise the expected error subject to the fairness
constraint (a linear program, as in :class:`~ethica.fairness.ThresholdOptimizer`).

The scoring model must be fitted beforehand (``prefit=True``), on data that is public or
under its own privacy budget (e.g. :class:`~ethica.privacy.learning.DPLogisticRegression`):
a model trained without privacy on the same rows would leak them through the scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import isotonic_regression
from sklearn.utils.validation import check_is_fitted

from ethica._exceptions import InfeasibleError, InvalidParameterError
from ethica._typing import FloatArray, IndexArray
from ethica.fairness._learning_base import EstimatorNotFittedError
from ethica.fairness._postprocessing import _scores
from ethica.privacy.budget._accounting import gaussian_sigma
from ethica.privacy.budget._budgets import ZCDP, Budget, PureDP
from ethica.privacy.learning._charging import (
    SharedLedgerClone,
    check_ledger,
    draw_noise,
    resolve_budget,
    run_charged,
    zcdp_of,
)
from ethica.privacy.learning._hypotheses import position_dependent, randomised_model
from ethica.privacy.learning._labels import (
    check_declared_classes,
    check_declared_groups,
    encode_declared,
    protected_column,
)
from ethica.privacy.noise._gaussian import MAX_SIGMA
from ethica.privacy.noise._laplace import MAX_SCALE as MAX_LAPLACE_SCALE

__all__ = ["DPThresholdOptimizer", "score_bins", "score_histogram"]

#: Constraint names (fairlearn's spellings) -> the labels whose rates are equalised
#: (None: all rows, i.e. selection rates).
_EVENTS: dict[str, tuple[int | None, ...]] = {
    "demographic_parity": (None,),
    "true_positive_rate_parity": (1,),
    "false_positive_rate_parity": (0,),
    "equalized_odds": (1, 0),
}

#: Most bins allowed (the table has ``groups * 2 * n_bins`` cells).
MAX_BINS = 100_000


def score_bins(scores: FloatArray, n_bins: int, score_range: tuple[float, float]) -> IndexArray:
    """Bin of each score on the public grid: ``floor((s - lo) / (hi - lo) * n_bins)``,
    clamped to ``[0, n_bins - 1]``; a NaN or ``-inf`` score is bin 0, ``+inf`` the last.

    The same function bins the training rows and the rows at predict time, so a row is
    counted above threshold ``j`` exactly when the fitted classifier treats it so.
    """
    lo, hi = score_range
    with np.errstate(all="ignore"):
        position = (np.asarray(scores, dtype=np.float64) - lo) / (hi - lo) * n_bins
        position = np.nan_to_num(position, nan=-1.0, posinf=float(n_bins), neginf=-1.0)
        bins = np.floor(np.clip(position, 0.0, n_bins - 1)).astype(np.intp)
    return bins


def score_histogram(
    bins: IndexArray, groups: IndexArray, labels: npt.NDArray[Any], n_groups: int, n_bins: int
) -> npt.NDArray[np.int64]:
    """The exact histogram ``H[g, y, b]`` (shape ``(n_groups, 2, n_bins)``) of rows with a
    declared group (``groups >= 0``); one row adds one to exactly one cell."""
    keep = groups >= 0
    flat = (groups[keep] * 2 + labels[keep].astype(np.intp)) * n_bins + bins[keep]
    counts = np.bincount(flat, minlength=n_groups * 2 * n_bins)
    return counts.astype(np.int64).reshape(n_groups, 2, n_bins)


def _cumulative(noisy: npt.NDArray[np.int64]) -> FloatArray:
    """``C[g, y, j]`` for ``j = 0..n_bins``: noisy counts at or above threshold ``j``,
    projected onto non-increasing, non-negative curves (post-processing)."""
    n_groups, _, n_bins = noisy.shape
    raw = np.cumsum(noisy[:, :, ::-1], axis=2)[:, :, ::-1].astype(np.float64)
    result = np.zeros((n_groups, 2, n_bins + 1))
    for g in range(n_groups):
        for y in range(2):
            fitted = isotonic_regression(raw[g, y], increasing=False)
            result[g, y, :n_bins] = np.maximum(fitted, 0.0)
    return result


class DPThresholdOptimizer(SharedLedgerClone, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Group-aware randomised thresholds from differentially private counts.

    See :mod:`ethica.privacy.learning._fair_postprocessing` for the mechanism, its
    sensitivity (1 per row) and the post-processing. For group ``a`` the classifier predicts
    1 when the score's bin reaches ``j``, choosing ``j`` with probability ``p_{a,j}``; ``p``
    minimises the expected error on the noisy counts subject to
    ``|r_a(p) - r(p)| <= tolerance`` for every group ``a`` and constrained rate ``r`` (the
    overall rate ``r`` weights groups by their noisy sizes).

    Parameters
    ----------
    estimator
        An already fitted scorer (``predict_proba`` or ``decision_function``), trained on
        public data or under its own budget.
    groups
        The protected groups, declared (public). Training rows of other groups are dropped
        (not counted, not reported).
    classes
        The two labels ``(negative, positive)``, declared (public; default ``(0, 1)``): which
        classes occur in ``y`` is never read from the data. Training rows with another label
        are dropped like rows of undeclared groups.
    constraints
        ``"demographic_parity"`` (default), ``"true_positive_rate_parity"``,
        ``"false_positive_rate_parity"`` or ``"equalized_odds"``.
    tolerance
        Allowed gap between a group's rate and the overall rate on the noisy counts
        (default 0: exact parity, as fairlearn's named constraints).
    n_bins
        Bins of the public score grid (``n_bins + 1`` candidate thresholds per group).
    score_range
        ``(lo, hi)`` of the score grid; default ``(0, 1)`` for probabilities.
    epsilon, delta, budget
        ``PureDP(epsilon)`` (discrete Laplace; default ``epsilon=1``),
        ``ApproxDP(epsilon, delta)`` or ``budget=ZCDP(rho)`` (discrete Gaussian).
    ledger, dataset
        Charge the budget to this registered dataset before the data is read.
    prefit
        Must be True (the scorer is never trained on the private rows).
    predict_method
        ``"auto"``, ``"predict_proba"``, ``"decision_function"`` or ``"predict"``.
    random_state
        Seed of ``predict``'s draws (not of the privacy noise: that comes from the OS).

    Attributes
    ----------
    classes_, group_names_
        The declared labels ``(negative, positive)`` and the declared groups.
    noisy_histogram_
        The released table ``H + noise``, shape ``(groups, 2, n_bins)`` (int64).
    score_range_
        The declared ``(lo, hi)`` as floats (predict bins scores with the same function).
    bin_edges_
        The public grid, ``n_bins + 1`` values; threshold ``j`` is ``bin_edges_[j]``
        (``j = n_bins``: nobody).
    thresholds_, threshold_probabilities_
        Per group, the thresholds used (score values; ``inf`` means nobody) and their
        probabilities.
    threshold_indices_
        Per group, the indices ``j`` of those thresholds.
    noisy_error_
        Expected error of the chosen classifier on the noisy counts.
    budget_, noise_
        The budget spent and the noise law with its scale.
    """

    def __init__(
        self,
        *,
        estimator: Any = None,
        groups: Sequence[Any] | None = None,
        classes: Sequence[Any] = (0, 1),
        constraints: str = "demographic_parity",
        tolerance: float = 0.0,
        n_bins: int = 20,
        score_range: tuple[float, float] = (0.0, 1.0),
        epsilon: float | None = None,
        delta: float | None = None,
        budget: Budget | None = None,
        ledger: Any = None,
        dataset: str | None = None,
        prefit: bool = True,
        predict_method: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.groups = groups
        self.classes = classes
        self.constraints = constraints
        self.tolerance = tolerance
        self.n_bins = n_bins
        self.score_range = score_range
        self.epsilon = epsilon
        self.delta = delta
        self.budget = budget
        self.ledger = ledger
        self.dataset = dataset
        self.prefit = prefit
        self.predict_method = predict_method
        self.random_state = random_state

    # ------------------------------------------------------------------ free checks
    def _check_params(self) -> tuple[list[Any], int, tuple[float, float], tuple[int | None, ...]]:
        name = type(self).__name__
        if self.prefit is not True:
            raise InvalidParameterError(
                f"{name}(prefit={self.prefit!r}): the scorer must be fitted beforehand, on "
                "public data or under its own budget (e.g. DPLogisticRegression); training it "
                "here on the private rows would leak them. Fit it, then pass prefit=True."
            )
        if self.estimator is None:
            raise InvalidParameterError(
                f"{name} needs estimator=<a fitted scorer>, e.g. a LogisticRegression fitted "
                "on public data."
            )
        try:
            check_is_fitted(self.estimator)
        except Exception:
            raise InvalidParameterError(
                f"{name}: estimator {type(self.estimator).__name__} is not fitted; fit it on "
                "public data (or with a private learner) first."
            ) from None
        groups = check_declared_groups(name, self.groups)
        n_bins = self.n_bins
        if (
            isinstance(n_bins, bool)
            or not isinstance(n_bins, int | np.integer)
            or not 1 <= n_bins <= MAX_BINS
        ):
            raise InvalidParameterError(
                f"{name}(n_bins={n_bins!r}) must be an integer in [1, {MAX_BINS}], e.g. 20."
            )
        try:
            lo, hi = (float(v) for v in self.score_range)
        except (TypeError, ValueError):
            lo, hi = math.nan, math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and hi - lo < 1e300):
            raise InvalidParameterError(
                f"{name}(score_range={self.score_range!r}) must be finite (lo, hi) with "
                "lo < hi, e.g. (0, 1) for probabilities."
            )
        if self.constraints not in _EVENTS:
            raise InvalidParameterError(
                f"{name}(constraints={self.constraints!r}) is not one of {list(_EVENTS)}."
            )
        tolerance = self.tolerance
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, int | float | np.integer | np.floating)
            or not 0 <= tolerance <= 1
        ):
            raise InvalidParameterError(
                f"{name}(tolerance={tolerance!r}) must be a number in [0, 1], e.g. 0.02."
            )
        return groups, int(n_bins), (lo, hi), _EVENTS[self.constraints]

    def _check_classes(self, y: Any) -> tuple[Any, Any]:
        """The declared ``(negative, positive)`` labels, checked against ``y``'s dtype only
        (a schema fact, not its values): free, before the charge."""
        return check_declared_classes(type(self).__name__, self.classes, y)

    def _scores_by_position(self, n_features: int) -> bool:
        """The public probe (:func:`position_dependent`) on the scores the fit will bin."""
        model, method = self.estimator, self.predict_method
        return position_dependent(lambda rows: _scores(model, rows, method), n_features, (0, 1))

    def _check_scorer(self, n_features: int) -> None:
        """Refuse a scorer whose labels are drawn at random when its labels are the scores
        (one added row would move many rows' bins: the histogram's sensitivity 1 fails)."""
        model, method = self.estimator, self.predict_method
        by_label = method == "predict" or (
            method == "auto"
            and not hasattr(model, "predict_proba")
            and not hasattr(model, "decision_function")
        )
        if (by_label and randomised_model(model)) or self._scores_by_position(n_features):
            raise InvalidParameterError(
                f"{type(self).__name__}: estimator {type(model).__name__} predicts at random, "
                "so its labels for a batch depend on each row's position and one added row "
                "would move many rows' bins; score with predict_method='predict_proba' (its "
                "probabilities are per-row) or pass a deterministic estimator. Nothing was "
                "charged."
            )

    def _calibrate(self, budget: Budget) -> dict[str, Any]:
        """The noise law and its scale for a table of L1 = L2 sensitivity 1 (public values
        only; runs before the charge)."""
        name = type(self).__name__
        fix = f"{budget} is too small for the exact samplers; spend more. Nothing was charged."
        if isinstance(budget, PureDP):
            scale = Fraction(1) / budget.epsilon
            if scale > MAX_LAPLACE_SCALE:
                raise InvalidParameterError(f"{name}: Laplace scale {float(scale):.4g}; {fix}")
            return {"mechanism": "discrete Laplace", "scale": float(scale), "_scale": scale}
        rho, _ = zcdp_of(budget)
        sigma = gaussian_sigma(Fraction(1), ZCDP(rho))
        if sigma > MAX_SIGMA:
            raise InvalidParameterError(f"{name}: Gaussian sigma {float(sigma):.4g}; {fix}")
        return {"mechanism": "discrete Gaussian", "sigma": float(sigma), "_scale": sigma}

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> DPThresholdOptimizer:
        """Release the noisy score histogram, then choose the thresholds from it.

        Parameters
        ----------
        X
            Features, as the fitted ``estimator`` takes them.
        y
            Binary labels.
        sensitive_features
            The protected attribute per row (one column); rows whose value is not among
            ``groups`` are dropped.

        Raises
        ------
        InvalidParameterError, BudgetExceededError
            Before the charge (nothing spent).
        ReleaseFailedError
            After the charge (generic message; the charge stands).
        """
        name = type(self).__name__
        groups, n_bins, score_range, events = self._check_params()
        budget = resolve_budget(name, self.epsilon, self.delta, self.budget)
        plan = self._calibrate(budget)
        if sensitive_features is None:
            raise InvalidParameterError(
                f"{name}.fit needs sensitive_features=<the protected column>, one per row."
            )
        protected = protected_column(sensitive_features)
        n_rows, x_rows = len(y), (X.shape[0] if hasattr(X, "shape") else len(X))
        if protected.ndim != 1 or protected.shape[0] != n_rows or x_rows != n_rows:
            raise InvalidParameterError(
                f"{name}.fit: X has {x_rows} rows, y {n_rows} and sensitive_features shape "
                f"{protected.shape}; pass one label and one protected value per row."
            )
        classes = self._check_classes(y)
        self._check_scorer(_width(X))
        ledger = check_ledger(name, self.ledger, self.dataset, budget)

        def release_histogram() -> npt.NDArray[np.int64]:
            scores = _scores(self.estimator, X, self.predict_method)
            codes = encode_declared(protected, groups)
            targets = np.asarray(y)
            labels = (targets == classes[1]).astype(np.int8)
            codes[~((targets == classes[0]) | (labels == 1))] = -1  # undeclared label: dropped
            exact = score_histogram(
                score_bins(scores, n_bins, score_range), codes, labels, len(groups), n_bins
            )
            size = exact.size
            draws = draw_noise(plan["mechanism"], plan["_scale"], size)
            # counts < 2**63 - |noise|: no wrap
            noisy: npt.NDArray[np.int64] = exact + draws.reshape(exact.shape)
            return noisy

        description = f"{name} on {len(groups)} groups x {n_bins} bins"
        noisy = run_charged(
            ledger, self.dataset, budget, description, release_histogram,
            released=lambda v: v.tolist(),
        )  # fmt: skip
        # everything below reads only the released table: post-processing
        self.classes_ = np.asarray(classes)
        self.group_names_ = groups
        self.noisy_histogram_ = noisy
        lo, hi = self.score_range_ = score_range
        self.bin_edges_ = lo + (hi - lo) * np.arange(n_bins + 1) / n_bins
        probabilities, self.noisy_error_ = _solve(_cumulative(noisy), events, float(self.tolerance))
        edges = np.concatenate([self.bin_edges_[:n_bins], [np.inf]])
        self.mixing_ = probabilities
        self.threshold_indices_ = [np.flatnonzero(p > 0) for p in probabilities]
        self.thresholds_ = [edges[j] for j in self.threshold_indices_]
        self.threshold_probabilities_ = [p[p > 0] for p in probabilities]
        self.budget_ = budget
        self.noise_ = {k: v for k, v in plan.items() if not k.startswith("_")}
        return self

    # ------------------------------------------------------------------ predict
    def _positive(self, X: Any, sensitive_features: Any) -> FloatArray:
        try:
            check_is_fitted(self, "noisy_histogram_")
        except Exception:
            raise EstimatorNotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y, "
                "sensitive_features=...) before predicting."
            ) from None
        if sensitive_features is None:
            raise InvalidParameterError(
                f"{type(self).__name__}.predict needs sensitive_features=... (one per row)."
            )
        protected = protected_column(sensitive_features)
        codes = encode_declared(protected, self.group_names_)
        if np.any(codes < 0):
            unknown = sorted({repr(v) for v in protected[codes < 0]})[:5]
            raise InvalidParameterError(
                f"unknown group(s) {unknown} at predict; {type(self).__name__} knows only "
                f"the declared groups {self.group_names_}."
            )
        scores = _scores(self.estimator, X, self.predict_method)
        if scores.shape[0] != codes.shape[0]:
            raise InvalidParameterError(
                f"sensitive_features has {codes.shape[0]} rows but X has {scores.shape[0]}."
            )
        n_bins = self.noisy_histogram_.shape[2]
        bins = score_bins(scores, n_bins, self.score_range_)  # the very grid of fit
        # P[predict 1 | group g, bin b] = sum_{j <= b} p_{g, j}
        at_most = np.cumsum(np.vstack(self.mixing_), axis=1)
        positive: FloatArray = np.clip(at_most[codes, bins], 0.0, 1.0)
        return positive

    def predict_proba(self, X: Any, *, sensitive_features: Any = None) -> FloatArray:
        """Probabilities of ``classes_`` under the randomised thresholds, shape (n, 2)."""
        positive = self._positive(X, sensitive_features)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any, *, sensitive_features: Any = None) -> npt.NDArray[Any]:
        """Labels drawn from :meth:`predict_proba` with a generator seeded by
        ``random_state`` (repeated calls agree)."""
        positive = self._positive(X, sensitive_features)
        draws = np.random.default_rng(self.random_state).random(positive.shape[0])
        chosen: npt.NDArray[Any] = self.classes_[(draws < positive).astype(np.intp)]
        return chosen


def _solve(
    cumulative: FloatArray, events: tuple[int | None, ...], tolerance: float
) -> tuple[list[FloatArray], float]:
    """Mixing probabilities over thresholds minimising the expected error on the (noisy,
    projected) counts subject to ``|r_g - r| <= tolerance`` per event; Hardt et al.'s LP."""
    n_groups, _, n_thresholds = cumulative.shape
    totals = cumulative[:, :, 0]  # (g, y)
    n = max(float(totals.sum()), 1.0)
    negatives_above = cumulative[:, 0, :]
    positives_below = totals[:, 1, None] - cumulative[:, 1, :]
    objective = ((negatives_above + positives_below) / n).ravel()
    n_vars = n_groups * n_thresholds
    rows: list[FloatArray] = []
    for event in events:
        above = cumulative.sum(axis=1) if event is None else cumulative[:, event, :]
        size = above[:, 0]
        present = size > 0  # a group with no (noisy) members there is not constrained
        if present.sum() < 2:
            continue
        rate = np.where(present[:, None], above / np.where(present, size, 1.0)[:, None], 0.0)
        share = np.where(present, size, 0.0) / size[present].sum()
        overall = (share[:, None] * rate).ravel()  # r(p) = overall @ p
        for g in np.flatnonzero(present):
            own = np.zeros(n_vars)
            own[g * n_thresholds : (g + 1) * n_thresholds] = rate[g]
            rows.extend([own - overall, overall - own])
    a_eq = np.kron(np.eye(n_groups), np.ones((1, n_thresholds)))
    result = linprog(
        objective,
        A_ub=np.array(rows) if rows else None,
        b_ub=np.full(len(rows), tolerance) if rows else None,
        A_eq=a_eq,
        b_eq=np.ones(n_groups),
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:  # pragma: no cover - everybody at 'nobody' is feasible
        raise InfeasibleError(f"the threshold LP failed: {result.message}")
    mixing = np.where(result.x < 1e-12, 0.0, result.x).reshape(n_groups, n_thresholds)
    probabilities = [row / row.sum() for row in mixing]
    return probabilities, float(result.fun)


def _width(X: Any) -> int:
    """Columns of ``X`` from its shape alone (public), 1 for a one-dimensional ``X``."""
    shape = getattr(X, "shape", None) or np.shape(X)
    return int(shape[1]) if len(shape) > 1 else 1
