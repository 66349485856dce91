"""Fairness constraints on a classifier's outputs, as immutable specifications.

Every constraint here is a *parity* constraint in the sense of Agarwal, Beygelzimer, Dudík,
Langford and Wallach (2018), "A Reductions Approach to Fair Classification", ICML. For a
(possibly randomised) classifier ``h``, protected attribute ``A`` and label ``Y``, each
constraint names a set of conditioning *events* ``E`` and a per-example quantity ``g``:

    mu_{a,E}(h) = E[g(X, Y, h(X)) | A = a, E],      mu_{*,E}(h) = E[g(X, Y, h(X)) | E].

With a difference bound ``eps`` it requires, for every group ``a`` and event ``E``,

    |mu_{a,E}(h) - mu_{*,E}(h)| <= eps,

and with a ratio bound ``r`` in (0, 1] it requires ``r * mu_{a,E} <= mu_{*,E}`` and
``r * mu_{*,E} <= mu_{a,E}``. Both are linear in ``h``, which is what makes the reductions
(:mod:`ethica.fairness._reductions`) and the post-processing LP possible.

A spec (e.g. ``DemographicParity(difference_bound=0.01)``) never changes. ``spec.bind(y,
sensitive_features)`` returns a new :class:`BoundConstraint` that holds the data-dependent
pieces: group and event of every row and the linear maps used by the learners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ethica._exceptions import InvalidParameterError
from ethica._typing import FloatArray, IndexArray, LabelArray
from ethica.fairness._registry import constraint_name

__all__ = [
    "BoundConstraint",
    "DemographicParity",
    "EqualOpportunity",
    "EqualizedOdds",
    "ErrorRateParity",
    "FairnessConstraint",
    "FalsePositiveRateParity",
    "TruePositiveRateParity",
    "encode_groups",
    "encode_known_groups",
]


#: Default difference bound when neither bound is given.
DEFAULT_DIFFERENCE_BOUND = 0.01

# Event selectors: which label value a row must have to belong to the event (None: all rows).
_ALL: tuple[int | None, ...] = (None,)


def encode_groups(sensitive_features: Any) -> tuple[IndexArray, tuple[str, ...]]:
    """Encode one or several protected columns as integer group codes.

    Several columns (a 2-D array or a DataFrame) define their intersection as the group.

    Returns
    -------
    codes, names
        ``codes[i]`` indexes ``names``; names join column values with ``", "``.
    """
    values = np.asarray(sensitive_features, dtype=object)
    if values.ndim == 1:
        keys = [str(v) for v in values]
    elif values.ndim == 2:
        keys = [", ".join(str(v) for v in row) for row in values]
    else:
        raise InvalidParameterError(
            f"sensitive_features must be 1-D or 2-D, got an array of shape {values.shape}; "
            "pass one column per protected attribute."
        )
    names, codes = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    return codes.astype(np.intp), tuple(str(n) for n in names)


def encode_known_groups(
    sensitive_features: Any, known: tuple[str, ...]
) -> tuple[IndexArray, list[str]]:
    """Encode protected values against the group names ``known`` from training.

    Returns
    -------
    codes, unknown
        ``codes[i]`` indexes ``known`` (``-1`` for a group not in it); ``unknown`` lists,
        sorted, the groups of ``sensitive_features`` missing from ``known``.
    """
    codes, names = encode_groups(sensitive_features)
    index = {name: i for i, name in enumerate(known)}
    mapped = np.array([index.get(name, -1) for name in names], dtype=np.intp)
    return mapped[codes], [name for name in names if name not in index]


@dataclass(frozen=True)
class FairnessConstraint:
    """Base of the parity constraint specs (see the module docstring for the definition).

    Parameters
    ----------
    difference_bound
        Largest allowed ``|mu_{a,E} - mu_{*,E}|``, in [0, 1]. Defaults to 0.01 when
        ``ratio_bound`` is not given either.
    ratio_bound
        Smallest allowed ratio between a group's and the overall value, in (0, 1].
    """

    difference_bound: float | None = None
    ratio_bound: float | None = None

    #: Label values that define the conditioning events (None: every row).
    events: ClassVar[tuple[int | None, ...]] = _ALL
    #: Whether the constrained quantity is the error ``1[h != y]`` rather than ``h``.
    on_error: ClassVar[bool] = False
    #: Canonical name (:mod:`ethica.fairness._registry`), used in results and reports.
    name: ClassVar[str] = "parity"

    def __post_init__(self) -> None:
        if self.difference_bound is not None and self.ratio_bound is not None:
            raise InvalidParameterError(
                f"{type(self).__name__} got difference_bound={self.difference_bound} and "
                f"ratio_bound={self.ratio_bound}; give only one of them."
            )
        if self.difference_bound is not None:
            _check_unit_interval("difference_bound", self.difference_bound, type(self).__name__)
        if self.ratio_bound is not None:
            _check_unit_interval("ratio_bound", self.ratio_bound, type(self).__name__)
            if self.ratio_bound == 0:
                raise InvalidParameterError(
                    f"{type(self).__name__}(ratio_bound=0) constrains nothing; give a ratio "
                    "in (0, 1], e.g. 0.8 for the four-fifths rule."
                )

    @property
    def bound(self) -> float:
        """The bound in force: the ratio bound if given, else the difference bound."""
        if self.ratio_bound is not None:
            return self.ratio_bound
        if self.difference_bound is not None:
            return self.difference_bound
        return DEFAULT_DIFFERENCE_BOUND

    @property
    def uses_ratio(self) -> bool:
        """Whether the constraint is a ratio constraint."""
        return self.ratio_bound is not None

    def with_bound(self, bound: float) -> FairnessConstraint:
        """A copy of this spec with another bound of the same kind (difference or ratio)."""
        if self.uses_ratio:
            return type(self)(ratio_bound=bound)
        return type(self)(difference_bound=bound)

    def bind(self, y: Any, sensitive_features: Any) -> BoundConstraint:
        """Attach data; returns a new :class:`BoundConstraint` (this spec is unchanged).

        Parameters
        ----------
        y
            Binary labels coded 0/1.
        sensitive_features
            One protected column (1-D) or several (2-D; their intersection is the group).
        """
        labels = np.asarray(y)
        if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
            raise InvalidParameterError(
                f"{type(self).__name__}.bind needs labels coded 0/1, got values "
                f"{np.unique(labels)[:5].tolist()}; encode the favourable outcome as 1."
            )
        codes, names = encode_groups(sensitive_features)
        if codes.shape[0] != labels.shape[0]:
            raise InvalidParameterError(
                f"sensitive_features has {codes.shape[0]} rows but y has {labels.shape[0]}; "
                "pass one protected value per row."
            )
        if len(names) < 2:
            raise InvalidParameterError(
                f"the protected attribute has a single group {list(names)}; a fairness "
                "constraint needs at least two groups to compare: check the column."
            )
        return BoundConstraint(
            spec=self, labels=labels.astype(np.int8), groups=codes, group_names=names
        )


def _check_unit_interval(name: str, value: float, owner: str) -> None:
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InvalidParameterError(
            f"{owner}({name}={value!r}) is outside [0, 1]; give a bound between 0 and 1."
        )


@dataclass(frozen=True)
class DemographicParity(FairnessConstraint):
    """Demographic (statistical) parity: equal selection rates.

    ``mu_a = P[h(X) = 1 | A = a]`` compared with ``P[h(X) = 1]`` (Agarwal et al. 2018, Eq. 1;
    Calders and Verwer 2010).
    """

    events: ClassVar[tuple[int | None, ...]] = _ALL
    name: ClassVar[str] = "demographic_parity"


@dataclass(frozen=True)
class EqualOpportunity(FairnessConstraint):
    """Equal opportunity: equal true-positive rates.

    ``mu_a = P[h(X) = 1 | A = a, Y = 1]`` compared with ``P[h(X) = 1 | Y = 1]``
    (Hardt, Price and Srebro 2016, Def. 2.2). fairlearn calls it true-positive-rate
    parity: :class:`TruePositiveRateParity` is this class under that name.
    """

    events: ClassVar[tuple[int | None, ...]] = (1,)
    name: ClassVar[str] = "equal_opportunity"


@dataclass(frozen=True)
class FalsePositiveRateParity(FairnessConstraint):
    """False-positive-rate parity: ``P[h(X) = 1 | A = a, Y = 0]`` equal across groups.

    The ``Y = 0`` half of equalized odds (Hardt, Price and Srebro 2016; Agarwal et al. 2018).
    """

    events: ClassVar[tuple[int | None, ...]] = (0,)
    name: ClassVar[str] = "false_positive_rate_parity"


@dataclass(frozen=True)
class EqualizedOdds(FairnessConstraint):
    """Equalized odds: equal true- and false-positive rates.

    ``P[h(X) = 1 | A = a, Y = y]`` compared with ``P[h(X) = 1 | Y = y]`` for ``y`` in {0, 1}
    (Hardt, Price and Srebro 2016, Def. 2.1; Agarwal et al. 2018, Eq. 2).
    """

    events: ClassVar[tuple[int | None, ...]] = (0, 1)
    name: ClassVar[str] = "equalized_odds"


@dataclass(frozen=True)
class ErrorRateParity(FairnessConstraint):
    """Error-rate parity: ``P[h(X) != Y | A = a]`` compared with ``P[h(X) != Y]``.

    (Agarwal et al. 2018, Sec. 2, "error rate parity"; a.k.a. overall accuracy equality.)
    """

    events: ClassVar[tuple[int | None, ...]] = _ALL
    on_error: ClassVar[bool] = True
    name: ClassVar[str] = "error_rate_parity"


@dataclass(frozen=True, eq=False)
class BoundConstraint:
    """A constraint spec attached to training labels and groups.

    Rows ``k`` of the constraint are ``(cell, sign)`` with a cell being a (group, event)
    pair; :meth:`violations` gives ``lhs_k(h) - bound_k`` (feasible when all are <= 0).
    Everything is linear in the per-row predictions ``h`` (values in [0, 1]).
    """

    spec: FairnessConstraint
    labels: LabelArray
    groups: IndexArray
    group_names: tuple[str, ...]
    cell_of_row: IndexArray = field(init=False, repr=False)
    event_of_row: IndexArray = field(init=False, repr=False)
    cell_event: IndexArray = field(init=False, repr=False)
    cell_group: IndexArray = field(init=False, repr=False)
    cell_size: FloatArray = field(init=False, repr=False)
    event_size: FloatArray = field(init=False, repr=False)
    slope: FloatArray = field(init=False, repr=False)
    offset: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n_groups = len(self.group_names)
        event_of_row = np.full(self.labels.shape[0], -1, dtype=np.intp)
        for index, label in enumerate(self.spec.events):
            mask = np.ones_like(self.labels, dtype=bool) if label is None else self.labels == label
            event_of_row[mask] = index
        in_event = event_of_row >= 0
        cell_of_row = np.where(in_event, event_of_row * n_groups + self.groups, -1)
        n_cells = len(self.spec.events) * n_groups
        cell_size = np.bincount(cell_of_row[in_event], minlength=n_cells).astype(np.float64)
        empty = np.flatnonzero(cell_size == 0)
        if empty.size:
            cell = int(empty[0])
            label = self.spec.events[cell // n_groups]
            raise InvalidParameterError(
                f"group {self.group_names[cell % n_groups]!r} has no rows with label {label} "
                f"so {type(self.spec).__name__} cannot be measured for it; merge or drop "
                "that group."
            )
        event_size = np.bincount(event_of_row[in_event], minlength=len(self.spec.events))
        labels = self.labels.astype(np.float64)
        # g(h) = offset + slope * h; for the error, 1[h != y] = y + (1 - 2y) h.
        slope = 1.0 - 2.0 * labels if self.spec.on_error else np.ones_like(labels)
        offset = labels if self.spec.on_error else np.zeros_like(labels)
        cells = np.arange(n_cells)
        for name, value in (
            ("cell_of_row", cell_of_row),
            ("event_of_row", event_of_row),
            ("cell_event", cells // n_groups),
            ("cell_group", cells % n_groups),
            ("cell_size", cell_size),
            ("event_size", event_size.astype(np.float64)),
            ("slope", slope),
            ("offset", offset),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_constraints(self) -> int:
        """Number of one-sided constraints (two per (group, event) cell)."""
        return 2 * int(self.cell_size.shape[0])

    @property
    def bounds(self) -> FloatArray:
        """Right-hand side of every one-sided constraint."""
        value = 0.0 if self.spec.uses_ratio else self.spec.bound
        return np.full(self.n_constraints, value)

    def coefficients(self) -> tuple[FloatArray, FloatArray]:
        """Coefficients of ``mu_cell`` and ``mu_event`` in each one-sided constraint."""
        n_cells = self.cell_size.shape[0]
        ratio = self.spec.bound if self.spec.uses_ratio else 1.0
        on_cell = np.concatenate([np.full(n_cells, ratio), np.full(n_cells, -1.0)])
        on_event = np.concatenate([np.full(n_cells, -1.0), np.full(n_cells, ratio)])
        return on_cell, on_event

    def _means(self, columns: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Cell and event means of ``g`` for a matrix with one column per classifier."""
        values = self.offset[:, None] + self.slope[:, None] * columns
        rows = self.cell_of_row >= 0
        cell_sum = np.zeros((self.cell_size.shape[0], columns.shape[1]))
        np.add.at(cell_sum, self.cell_of_row[rows], values[rows])
        event_sum = np.zeros((self.event_size.shape[0], columns.shape[1]))
        np.add.at(event_sum, self.event_of_row[rows], values[rows])
        return cell_sum / self.cell_size[:, None], event_sum / self.event_size[:, None]

    def cell_values(self, predictions: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``mu_{a,E}`` for every cell (event-major) and ``mu_{*,E}`` for every event.

        ``predictions`` holds per-row ``P[h = 1]`` for one classifier.
        """
        cell_mean, event_mean = self._means(np.asarray(predictions, dtype=float)[:, None])
        return cell_mean[:, 0], event_mean[:, 0]

    def violations(self, predictions: FloatArray) -> FloatArray:
        """``lhs_k(h) - bound_k`` per constraint.

        For a matrix of predictions (one column per classifier) the result has one column
        per classifier too.
        """
        matrix = np.asarray(predictions, dtype=float)
        is_matrix = matrix.ndim == 2
        cell_mean, event_mean = self._means(matrix if is_matrix else matrix[:, None])
        on_cell, on_event = self.coefficients()
        cells = np.vstack([cell_mean, cell_mean])
        events = np.vstack([event_mean[self.cell_event]] * 2)
        result: FloatArray = (
            on_cell[:, None] * cells + on_event[:, None] * events - self.bounds[:, None]
        )
        return result if is_matrix else result[:, 0]

    def disparity(self, predictions: FloatArray) -> float:
        """Largest between-group difference ``max_E (max_a mu_{a,E} - min_a mu_{a,E})``."""
        cell_mean, _ = self.cell_values(predictions)
        n_groups = len(self.group_names)
        table = cell_mean.reshape(len(self.spec.events), n_groups)
        return float((table.max(axis=1) - table.min(axis=1)).max())

    def cost_gradient(self, multipliers: FloatArray) -> FloatArray:
        """Per-row derivative of ``sum_k multipliers_k * lhs_k(h)`` with respect to ``h_i``.

        This is the fairness part of the cost of predicting 1 on row ``i`` in the Lagrangian
        (Agarwal et al. 2018, Sec. 3.2).
        """
        n_cells = self.cell_size.shape[0]
        on_cell, on_event = self.coefficients()
        per_cell = (on_cell * multipliers).reshape(2, n_cells).sum(axis=0)
        per_event_rows = (on_event * multipliers).reshape(2, n_cells).sum(axis=0)
        per_event = np.bincount(
            self.cell_event, weights=per_event_rows, minlength=self.event_size.shape[0]
        )
        rows = self.cell_of_row >= 0
        gradient = np.zeros(self.labels.shape[0])
        cell = self.cell_of_row[rows]
        event = self.event_of_row[rows]
        gradient[rows] = (
            per_cell[cell] / self.cell_size[cell] + per_event[event] / (self.event_size[event])
        )
        result: FloatArray = gradient * self.slope
        return result


@dataclass(frozen=True)
class TruePositiveRateParity(EqualOpportunity):
    """True-positive-rate parity: fairlearn's name of :class:`EqualOpportunity`.

    The same constraint, ``P[h(X) = 1 | A = a, Y = 1]`` compared with ``P[h(X) = 1 | Y = 1]``
    (Hardt, Price and Srebro 2016, Def. 2.2), under the canonical name
    ``"equal_opportunity"``. An instance is not equal to an :class:`EqualOpportunity` of the
    same bound (dataclass equality compares classes) but constrains, reports and resolves
    exactly like one.
    """


#: Canonical name (:mod:`ethica.fairness._registry`) -> constraint spec class.
CONSTRAINTS: dict[str, type[FairnessConstraint]] = {
    cls.name: cls
    for cls in (
        DemographicParity,
        EqualOpportunity,
        EqualizedOdds,
        FalsePositiveRateParity,
        ErrorRateParity,
    )
}


def constraint_from_name(name: str, bound: float | None = None) -> FairnessConstraint:
    """Resolve any accepted spelling of a constraint (e.g. ``"demographic_parity"``) to a spec.

    Aliases (fairlearn's ``"true_positive_rate_parity"``, class names, the hyphenated
    spellings) resolve through :func:`ethica.fairness._registry.constraint_name`.
    """
    return CONSTRAINTS[constraint_name(name)](difference_bound=bound)
