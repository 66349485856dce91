"""Fair learning end to end: read and split a table, sweep a frontier, audit the chosen model.

Shared by ``ethica frontier``, ``ethica proxies`` and the demo. The science lives in
:mod:`ethica.fairness` (learners, frontier, proxies, audit) and :mod:`ethica.data`
(encoding); this module reads the rows once, checks what the learners need (a binary
label, at least two groups per protected attribute), splits train from held-out rows and
wires the pieces together.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica.data import TrainingEncoding, TrainingMatrix, fit_encoding, read_rows
from ethica.fairness import (
    AuditResult,
    FrontierResult,
    ProxyResult,
    audit,
    constraint_from_name,
    frontier,
    proxy_analysis,
)
from ethica.fairness._registry import constraint_name

__all__ = [
    "CONSTRAINT_HARMS",
    "ESTIMATORS",
    "LearningData",
    "LearningOptions",
    "audit_model",
    "encode_new_rows",
    "load_learning_data",
    "predict_rows",
    "resolve_estimator",
    "run_frontier",
    "run_proxies",
]

#: The audit's harm that matches each constraint (the rate the constraint equalises).
CONSTRAINT_HARMS: dict[str, str] = {
    "demographic_parity": "selection",
    "equal_opportunity": "false-negative",
    "equalized_odds": "false-positive",
    "false_positive_rate_parity": "false-positive",
    "error_rate_parity": "selection",
}


def _logistic_regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(solver="liblinear", random_state=0)


def _decision_tree() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=6, min_samples_leaf=20, random_state=0)


def _gradient_boosting() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=50, random_state=0)


#: Short names of base learners; any other ``package.module.Class`` path is imported.
ESTIMATORS: dict[str, Callable[[], Any]] = {
    "logistic-regression": _logistic_regression,
    "decision-tree": _decision_tree,
    "gradient-boosting": _gradient_boosting,
}


def resolve_estimator(name: str | None) -> Any:
    """A fresh base classifier from a short name or a dotted class path (None: LR)."""
    if name is None:
        return _logistic_regression()
    if name in ESTIMATORS:
        return ESTIMATORS[name]()
    module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except ImportError:
        cls = None
    if not callable(cls):
        raise InvalidParameterError(
            f"estimator {name!r} is neither one of {sorted(ESTIMATORS)} nor an importable "
            "class path; give e.g. sklearn.linear_model.LogisticRegression."
        )
    return cls()


@dataclass(frozen=True, eq=False)
class LearningData:
    """Training and held-out matrices encoded alike, and how they were obtained."""

    encoding: TrainingEncoding
    train: TrainingMatrix
    test: TrainingMatrix
    label: str
    protected: tuple[str, ...]
    held_out: str


def _check_label(frame: pd.DataFrame, label: str, positive: Any) -> None:
    if label not in frame.columns:
        return  # the encoding names the missing column and the ones available
    values = frame[label]
    missing = int(values.isna().sum())
    if missing:
        raise InvalidParameterError(
            f"label column {label!r} has {missing} missing value(s); drop or fill those rows "
            "before training."
        )
    distinct = sorted(map(str, values.unique()))
    if len(distinct) != 2:
        raise InvalidParameterError(
            f"label column {label!r} has {len(distinct)} distinct value(s) {distinct[:6]}, "
            "but the fair learners need a binary label; map it to two values first."
        )
    if positive is None and not set(values.unique().tolist()) <= {0, 1}:
        raise InvalidParameterError(
            f"label column {label!r} has values {distinct}; name the favourable one with "
            f"positive_label={distinct[-1]!r}."
        )


def _check_groups(frame: pd.DataFrame, protected: tuple[str, ...]) -> None:
    for column in protected:
        if column in frame.columns:
            groups = frame[column].dropna().unique()
            if len(groups) < 2:
                raise InvalidParameterError(
                    f"protected attribute {column!r} has a single group "
                    f"{[str(g) for g in groups]}; fairness compares at least two groups: "
                    "check the column or the rows selected."
                )


@dataclass(frozen=True)
class LearningOptions:
    """How the rows of every learning command are read, split and encoded.

    Parameters
    ----------
    label, positive_label
        Binary label column and its favourable value (default 1 / True).
    protected
        Protected column(s); one name or several.
    test
        Held-out rows (path, URL, table or frame). Without it a seeded random
        ``test_fraction`` of the source is held out.
    test_fraction, seed
        Share of the source held out when ``test`` is not given, and the seed of that split.
    exclude
        Columns that are not features (e.g. a sampling weight).
    include_protected
        Whether the protected columns are features too.
    """

    label: str
    protected: str | Sequence[str]
    positive_label: Any = None
    test: Any = None
    test_fraction: float = 0.3
    seed: int = 0
    exclude: Sequence[str] = ()
    include_protected: bool = False

    def __post_init__(self) -> None:
        names = (self.protected,) if isinstance(self.protected, str) else tuple(self.protected)
        object.__setattr__(self, "protected", names)
        object.__setattr__(self, "exclude", tuple(self.exclude))


def load_learning_data(source: Any, options: LearningOptions) -> LearningData:
    """Read ``source``, split off held-out rows (or read ``options.test``), encode both alike.

    Parameters
    ----------
    source
        Training rows (path, URL, table or frame).
    options
        Label, protected columns, held-out rows and encoding (:class:`LearningOptions`).
    """
    label, positive, test = options.label, options.positive_label, options.test
    test_fraction, seed, exclude = options.test_fraction, options.seed, options.exclude
    names = tuple(options.protected)
    if not names:
        raise InvalidParameterError("no protected attribute given; name at least one column.")
    frame = read_rows(source)
    unknown = [c for c in exclude if c not in frame.columns]
    if unknown:
        raise InvalidParameterError(
            f"columns {unknown} to exclude are not in the source, which has "
            f"{list(frame.columns)}; check their spelling."
        )
    _check_label(frame, label, positive)
    if test is None:
        if not 0.0 < test_fraction < 1.0:
            raise InvalidParameterError(
                f"test fraction {test_fraction!r} must lie strictly between 0 and 1; e.g. 0.3 "
                "holds out 30% of the rows."
            )
        order = np.random.default_rng(seed).permutation(len(frame))
        cut = round(len(frame) * (1.0 - test_fraction))
        train_frame, test_frame = frame.iloc[order[:cut]], frame.iloc[order[cut:]]
        held_out = f"a random {100 * test_fraction:.0f}% of the rows (seed {seed})"
    else:
        train_frame, test_frame = frame, read_rows(test)
        _check_label(test_frame, label, positive)
        held_out = "the held-out table" if isinstance(test, pd.DataFrame) else str(test)
    _check_groups(train_frame, names)
    dropped = {label, *names, *exclude}
    features = [c for c in train_frame.columns if c not in dropped]
    encoding = fit_encoding(
        train_frame,
        label=label,
        protected=names,
        positive=positive,
        features=features,
        include_protected=options.include_protected,
    )
    return LearningData(
        encoding=encoding,
        train=encoding.transform(train_frame),
        test=encoding.transform(test_frame),
        label=label,
        protected=names,
        held_out=held_out,
    )


def run_frontier(
    data: LearningData,
    constraint: str,
    *,
    points: int = 10,
    bounds: Sequence[float] | None = None,
    estimator: Any = None,
    target_disparity: float | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> FrontierResult:
    """Sweep ``constraint``'s bound on ``data`` (see :func:`ethica.fairness.frontier`)."""
    spec = constraint_from_name(constraint)
    return frontier(
        data.train.X,
        data.train.y,
        data.train.sensitive,
        data.test.X,
        data.test.y,
        data.test.sensitive,
        constraint=spec,
        points=points,
        bounds=bounds,
        estimator=resolve_estimator(None) if estimator is None else estimator,
        target_disparity=target_disparity,
        random_state=seed,
        progress=progress,
    )


def audit_model(
    model: Any, data: LearningData, constraint: str, *, subgroups: bool = True
) -> AuditResult:
    """Audit ``model``'s decisions on the held-out rows, for the constraint's harm."""
    decisions = np.asarray(model.predict(data.test.X)).astype(np.int8)
    sensitive = np.asarray(data.test.sensitive, dtype=object).reshape(len(decisions), -1)
    frame = pd.DataFrame(
        {name: sensitive[:, j].astype(str) for j, name in enumerate(data.protected)}
    )
    outcome, decision = _free_name("outcome", frame), _free_name("decision", frame)
    frame[outcome] = data.test.y
    frame[decision] = decisions
    return audit(
        frame,
        label=outcome,
        prediction=decision,
        protected=list(data.protected),
        harm=CONSTRAINT_HARMS[constraint_name(constraint)],
        subgroups=subgroups,
    )


def encode_new_rows(encoding: TrainingEncoding, source: Any) -> Any:
    """Feature matrix of new rows encoded as in training; no label column is needed.

    New rows to score have no outcome yet, and the protected columns are only needed when
    they are features (``include_protected``); absent ones are filled with placeholders
    that no feature reads.
    """
    frame = read_rows(source)
    fill: dict[str, Any] = {}
    if encoding.label not in frame.columns:
        fill[encoding.label] = encoding.positive
    feature_columns = set(encoding.feature_columns)
    for column in encoding.protected:
        if column not in frame.columns and column not in feature_columns:
            fill[column] = ""
    return encoding.transform(frame.assign(**fill) if fill else frame).X


def predict_rows(bundle: dict[str, Any], source: Any) -> Any:
    """Decisions of a saved frontier model (``ethica frontier --model-out``) on new rows.

    ``bundle`` is the loaded joblib file (``model`` and ``encoding``); ``source`` is a
    frame, path or table with the feature columns, with or without the label column.
    """
    return bundle["model"].predict(encode_new_rows(bundle["encoding"], source))


def _free_name(name: str, frame: pd.DataFrame) -> str:
    while name in frame.columns:
        name += "_"
    return name


def run_proxies(
    data: LearningData,
    constraint: str = "demographic_parity",
    *,
    estimator: Any = None,
    top: int | None = 10,
) -> ProxyResult:
    """Train with and without the protected columns and rank their proxies."""
    return proxy_analysis(
        data.train,
        data.test,
        protected=data.protected,
        constraint=constraint_from_name(constraint),
        estimator=estimator,
        top=top,
    )
