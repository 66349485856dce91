"""``MetricFrame``: fairlearn's disaggregated-metric result, computed from count tables.

fairlearn's users change one import::

    from ethica.fairness import MetricFrame   # was: from fairlearn.metrics import MetricFrame

and keep their code: the constructor (``metrics`` as a callable or a dict, ``y_true``,
``y_pred``, ``sensitive_features``, ``control_features``, ``sample_params``, ``n_boot``,
``ci_quantiles``, ``random_state``), the results (``overall``, ``by_group``,
``group_min``/``group_max``, ``difference``/``ratio`` with ``method`` and ``errors``, the
bootstrap ``*_ci`` results) and their shapes (a scalar or Series for a single callable, a
Series or DataFrame for a dict) are fairlearn's. fairlearn's own MetricFrame test files are
run against this class in ``tests/compat``.

What differs is the arithmetic. A binary metric with default arguments (fairlearn's
selection and error rates and ``count``; scikit-learn's accuracy, precision, recall, F1,
balanced accuracy, zero-one loss) is a function of each group's confusion counts, so one
``bincount`` over all rows gives every group's value (see
:mod:`ethica.fairness._metric_registry`); any other callable is called once per group on
that group's rows, which are found by one stable sort rather than a pandas ``groupby``.
:meth:`MetricFrame.intervals` adds Wilson score intervals (Wilson 1927) for the metrics that
are proportions.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, reduce
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica._typing import IndexArray, LabelArray
from ethica.fairness._intervals import wilson_interval
from ethica.fairness._metric_registry import (
    ConfusionCounts,
    CountMetric,
    resolve_count_metric,
)

__all__ = ["MetricFrame"]

ErrorsMode = Literal["raise", "coerce"]
CompareMethod = Literal["between_groups", "to_overall"]

# fairlearn's messages, word for word: its users (and its tests) match on them.
_SF_DICT_CONVERSION_FAILURE = (
    "DataFrame.from_dict() failed on sensitive features. "
    "Please ensure each array is strictly 1-D. "
    "The __cause__ field of this exception may contain further information."
)
_FEATURE_LIST_NONSCALAR = "Feature lists must be of scalar types"
_FEATURE_DF_COLUMN_BAD_NAME = "DataFrame column names must be strings. Name '{0}' is of type {1}"
_SERIES_NAME_NOT_STRING = "Series name must be a string. Value '{0}' was of type {1}"
_FEATURE_HAS_MISSING_VALUES = (
    "Feature '{0}' contains missing values. Remove or replace them before "
    "constructing a MetricFrame"
)
_DUPLICATE_FEATURE_NAME = "Detected duplicate feature name: '{0}'"
_TOO_MANY_FEATURE_DIMS = "Feature array has too many dimensions"
_SAMPLE_PARAMS_NOT_DICT = "Sample parameters must be a dictionary"
_SAMPLE_PARAM_KEYS_NOT_IN_FUNC_DICT = "Keys in 'sample_params' do not match those in 'metric'"
_METRIC_FUNCTION_NONE = "Found 'None' instead of metric function"
_METRIC_FUNCTION_NOT_CALLABLE = "Object passed as metric function not callable"
_COMPARE_METHODS = ("between_groups", "to_overall")
_INVALID_COMPARE_METHOD = "Unrecognised comparison method: {0}"
_VALID_ERROR_STRING = ["raise", "coerce"]
_INVALID_ERRORS_VALUE_ERROR_MESSAGE = (
    f"Invalid error value specified. Valid values are {_VALID_ERROR_STRING}"
)
_MF_CONTAINS_NON_SCALAR_ERROR_MESSAGE = (
    "Metric frame contains non-scalar cells. Please remove non-scalar columns from your"
    " metric frame or use parameter errors='coerce'."
)
_BOOTSTRAP_NEED_N_AND_CI = "Must specify both n_boot and ci_quantiles"
_BOOTSTRAP_N_BOOT_INT_GT_ZERO = "Must have n_boot be a positive integer"
_BOOTSTRAP_CI_INVALID = "Must have all ci_quantiles be floats in (0, 1)"
_BOOTSTRAP_NOT_INITIALIZED = (
    "Could not compute confidence intervals:"
    " Bootstrapping parameters n_boot and ci_quantiles were not specified"
    " in the MetricFrame constructor."
)
_BOOTSTRAP_QUANTILE_ERROR = (
    "Error calling numpy.quantiles. Most likely due to a metric returning a non-scalar result"
)
_ROW = "__ethica_metric_frame_row__"


def _error(message: str) -> InvalidParameterError:
    return InvalidParameterError(message)


def _to_array(values: Any) -> npt.NDArray[Any]:
    """``np.asarray`` then squeeze unit dimensions, keeping one element 1-D."""
    result = np.asarray(values)
    if result.size > 1:
        return np.squeeze(result)
    return result if result.size == 0 else result.reshape(1)


def _consistent_length(*arrays: Any) -> None:
    from sklearn.utils import check_consistent_length

    check_consistent_length(*arrays)


class GroupingFeature:
    """One sensitive or control feature: its name, and each row's group as a code.

    ``levels`` holds the distinct values in pandas' sort order with the dtype pandas infers
    for them (as a column built from the values would have); ``codes[i]`` indexes it.
    """

    def __init__(self, base_name: str, values: Any, index: int) -> None:
        self.name_ = f"{base_name}{index}"
        if isinstance(values, pd.Series):
            name = values.name
            if name is not None:
                if not isinstance(name, str):
                    raise _error(_SERIES_NAME_NOT_STRING.format(name, type(name)))
                self.name_ = name
        codes, uniques = pd.factorize(values, sort=False)
        if codes.shape[0] and codes.min() < 0:
            raise _error(_FEATURE_HAS_MISSING_VALUES.format(self.name_))
        inferred = pd.Index(list(uniques))
        ordered, order = inferred.sort_values(return_indexer=True)
        rank = np.empty(order.shape[0], dtype=np.intp)
        rank[order] = np.arange(order.shape[0])
        self.levels: pd.Index = ordered
        self.codes: IndexArray = rank[codes]

    @property
    def raw_feature_(self) -> list[Any]:
        """The feature's value per row (as fairlearn's ``GroupFeature`` exposes it)."""
        return list(self.levels.take(self.codes))

    def take(self, rows: IndexArray) -> GroupingFeature:
        """This feature on the rows ``rows`` (a bootstrap sample), levels re-derived."""
        present = np.zeros(len(self.levels), dtype=bool)
        present[self.codes[rows]] = True
        remap = np.cumsum(present) - 1
        copy = object.__new__(GroupingFeature)
        copy.name_ = self.name_
        copy.levels = self.levels[present]
        copy.codes = remap[self.codes[rows]].astype(np.intp)
        return copy


@dataclass(frozen=True)
class _Metric:
    """A metric function with its name, sample parameters and (if any) count formula."""

    name: str
    function: Callable[..., Any]
    params: dict[str, npt.NDArray[Any]]
    counted: CountMetric | None


@dataclass(frozen=True)
class _Cells:
    """Rows grouped into cells (combinations of feature values that occur)."""

    features: tuple[GroupingFeature, ...]
    of_row: IndexArray
    level_codes: IndexArray  # (n_cells, n_features)

    @property
    def n_cells(self) -> int:
        return int(self.level_codes.shape[0])

    @cached_property
    def order(self) -> tuple[IndexArray, IndexArray]:
        """Rows sorted by cell (stable: original order within a cell) and cell offsets."""
        order = np.argsort(self.of_row, kind="stable")
        sizes = np.bincount(self.of_row, minlength=self.n_cells)
        return order, np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)

    def rows_of(self, cell: int) -> IndexArray:
        order, offsets = self.order
        rows: IndexArray = order[offsets[cell] : offsets[cell + 1]]
        return rows


def _cells(features: Sequence[GroupingFeature], n_rows: int) -> _Cells:
    """Combine per-feature codes into cells; only combinations that occur are kept."""
    if not features:
        return _Cells((), np.zeros(n_rows, dtype=np.intp), np.zeros((1, 0), dtype=np.intp))
    if len(features) == 1:
        only = features[0]
        return _Cells((only,), only.codes, np.arange(len(only.levels))[:, None])
    sizes = [len(f.levels) for f in features]
    combined = np.zeros(n_rows, dtype=np.int64)
    for feature, size in zip(features, sizes, strict=True):
        combined = combined * size + feature.codes
    product = int(np.prod(np.array(sizes, dtype=np.float64)))
    if product <= max(4 * n_rows, 1 << 16):
        present = np.flatnonzero(np.bincount(combined, minlength=product))
        remap = np.zeros(product, dtype=np.intp)
        remap[present] = np.arange(present.shape[0])
        of_row = remap[combined]
    else:
        present, inverse = np.unique(combined, return_inverse=True)
        of_row = inverse.astype(np.intp).reshape(-1)
    level_codes = np.zeros((present.shape[0], len(features)), dtype=np.intp)
    remainder = present.copy()
    for j in range(len(features) - 1, -1, -1):
        remainder, level_codes[:, j] = np.divmod(remainder, sizes[j])
    return _Cells(tuple(features), of_row, level_codes)


def _binary(values: npt.NDArray[Any]) -> LabelArray | None:
    """``values`` as int8 when it is 1-D, numeric and only 0/1; else None."""
    if values.ndim != 1 or values.dtype.kind not in "biuf":
        return None
    if values.dtype.kind == "b":
        return values.astype(np.int8)
    if not ((values == 0) | (values == 1)).all():
        return None
    return values.astype(np.int8)


class _Data:
    """The rows as arrays: labels, predictions, and the count-table key per row."""

    def __init__(self, y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> None:
        self.y_true = y_true
        self.y_pred = y_pred
        true01, pred01 = _binary(y_true), _binary(y_pred)
        self.outcome: IndexArray | None = (
            None if true01 is None or pred01 is None else (2 * true01 + pred01).astype(np.intp)
        )

    def take(self, rows: IndexArray) -> _Data:
        copy = object.__new__(_Data)
        copy.y_true, copy.y_pred = self.y_true[rows], self.y_pred[rows]
        copy.outcome = None if self.outcome is None else self.outcome[rows]
        return copy


def _counts(data: _Data, cells: _Cells, weights: npt.NDArray[Any] | None) -> ConfusionCounts:
    assert data.outcome is not None
    key = cells.of_row * 4 + data.outcome
    size = 4 * cells.n_cells
    rows = np.bincount(key, minlength=size).reshape(-1, 4)
    table = rows if weights is None else np.bincount(key, weights, size).reshape(-1, 4)
    n_rows = rows.sum(axis=1)
    total = n_rows if weights is None else np.bincount(cells.of_row, weights, cells.n_cells)
    return ConfusionCounts(
        tn=table[:, 0], fp=table[:, 1], fn=table[:, 2], tp=table[:, 3], rows=n_rows, total=total
    )


def _call(metric: _Metric, data: _Data, rows: IndexArray | None) -> Any:
    if rows is None:
        return metric.function(data.y_true, data.y_pred, **metric.params)
    params = {k: v[rows] for k, v in metric.params.items()}
    return metric.function(data.y_true[rows], data.y_pred[rows], **params)


def _count_path_weights(metric: _Metric) -> tuple[bool, npt.NDArray[Any] | None]:
    """Whether ``metric`` can use the count table, and the weights it would use."""
    if metric.counted is None:
        return False, None
    if not metric.params:
        return True, None
    if set(metric.params) != {"sample_weight"} or not metric.counted.weighted:
        return False, None
    weights = metric.params["sample_weight"]
    if weights.ndim != 1 or weights.dtype.kind not in "biuf":
        return False, None
    return True, weights.astype(np.float64)


def _evaluate(metric: _Metric, data: _Data, cells: _Cells) -> list[Any]:
    """The metric's value in every cell, from counts where it can, else per-cell calls."""
    usable, weights = _count_path_weights(metric)
    if usable and data.outcome is not None:
        assert metric.counted is not None
        counts = _counts(data, cells, weights)
        values, degenerate = metric.counted.formula(counts)
        if metric.counted.integer:
            result: list[Any] = [int(v) for v in values]
        else:
            result = [np.float64(v) for v in values]
        for cell in np.flatnonzero(degenerate):
            result[cell] = _call(metric, data, cells.rows_of(int(cell)))
        return result
    if cells.n_cells == 1:
        return [_call(metric, data, None)]
    return [_call(metric, data, cells.rows_of(cell)) for cell in range(cells.n_cells)]


def _row_series(values: dict[str, Any]) -> pd.Series:
    return pd.Series(dtype=float) if not values else pd.Series(values)


def _assemble(cells: _Cells, rows: list[dict[str, Any]]) -> pd.Series | pd.DataFrame:
    """Results per cell in fairlearn's shape: a Series without grouping, else a DataFrame.

    The frame is put together by pandas' own ``groupby().apply`` on one row per cell, so
    its index, dtypes and missing combinations (NaN rows of the full product of levels
    when several features group) are exactly those of a ``groupby`` over the rows.
    """
    if not cells.features:
        return _row_series(rows[0])
    names = [f.name_ for f in cells.features]
    small = pd.DataFrame(
        {f.name_: f.levels.take(cells.level_codes[:, j]) for j, f in enumerate(cells.features)}
    )
    small[_ROW] = np.arange(cells.n_cells)
    series = [_row_series(r) for r in rows]
    result = small.groupby(names).apply(
        lambda frame: series[int(frame[_ROW].iloc[0])], include_groups=False
    )
    if len(names) > 1:
        product = pd.MultiIndex.from_product([np.unique(small[n]) for n in names], names=names)
        result = result.reindex(index=product)
    return result


def _scalar_or_nan(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda column: column.apply(lambda v: v if np.isscalar(v) else np.nan))


def _below_one(value: Any) -> Any:
    return 1 / value if value > 1 else value


class _Disaggregated:
    """Overall and per-group results (always Series/DataFrame) and their aggregates."""

    def __init__(self, overall: pd.Series | pd.DataFrame, by_group: pd.DataFrame) -> None:
        self.overall = overall
        self.by_group = by_group

    def extreme(
        self, how: Literal["min", "max"], control: list[str] | None, errors: str
    ) -> pd.Series | pd.DataFrame:
        frame = self.by_group if errors == "raise" else _scalar_or_nan(self.by_group)
        try:
            if not control:
                result: pd.Series | pd.DataFrame = frame.agg(how, axis=0)
            else:
                result = frame.groupby(level=control).agg(how)
        except ValueError as error:
            if errors == "raise":
                raise _error(_MF_CONTAINS_NON_SCALAR_ERROR_MESSAGE) from error
            raise
        return result

    def difference(
        self, control: list[str] | None, method: str, errors: str
    ) -> pd.Series | pd.DataFrame:
        if method == "between_groups":
            subtrahend = self.extreme("min", control, errors)
        else:
            subtrahend = self.overall
        gaps = (_scalar_or_nan(self.by_group) - subtrahend).abs()
        result: pd.Series | pd.DataFrame = (
            gaps.max() if control is None else gaps.groupby(level=control).max()
        )
        return result

    def ratio(
        self, control: list[str] | None, method: str, errors: str
    ) -> pd.Series | pd.DataFrame:
        if method == "between_groups":
            low = self.extreme("min", control, errors)
            return low / self.extreme("max", control, errors)
        if control is not None:
            ratios = self.by_group.unstack(level=control) / self.overall.unstack(level=control)
        else:
            ratios = self.by_group / self.overall
        ratios = ratios.apply(lambda column: column.transform(_below_one))
        result: pd.Series | pd.DataFrame = ratios.min() if not control else ratios.min().unstack(0)
        return result


def _none_to_nan(target: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    return target.where(target.notna(), np.nan)


def _quantiles(quantiles: list[float], samples: list[pd.Series] | list[pd.DataFrame]) -> list[Any]:
    """Per-entry quantiles of bootstrap results (aligned on the union of their rows)."""
    first = samples[0]
    if isinstance(first, pd.Series):
        try:
            values = np.quantile(np.asarray(samples), q=quantiles, axis=0)
        except (ValueError, TypeError) as error:
            raise _error(_BOOTSTRAP_QUANTILE_ERROR) from error
        return [pd.Series(v, index=first.index, name=first.name) for v in values]
    index = reduce(lambda a, b: a.union(b), [s.index for s in samples])
    aligned = [s.reindex(index) for s in samples]
    try:
        values = np.nanquantile(np.asarray(aligned, dtype=np.float64), q=quantiles, axis=0)
    except (ValueError, TypeError) as error:
        raise _error(_BOOTSTRAP_QUANTILE_ERROR) from error
    return [pd.DataFrame(v, index=index, columns=first.columns) for v in values]


def _compute(
    metrics: dict[str, _Metric],
    data: _Data,
    control: Sequence[GroupingFeature],
    sensitive: Sequence[GroupingFeature],
) -> _Disaggregated:
    """Overall and per-group results of ``metrics`` on ``data``."""
    n_rows = data.y_true.shape[0]
    overall_cells = _cells(control, n_rows)
    group_cells = _cells([*control, *sensitive], n_rows)
    results = []
    for cells in (overall_cells, group_cells):
        per_metric = {name: _evaluate(metric, data, cells) for name, metric in metrics.items()}
        rows = [
            {name: values[cell] for name, values in per_metric.items()}
            for cell in range(cells.n_cells)
        ]
        results.append(_assemble(cells, rows))
    overall, by_group = results
    assert isinstance(by_group, pd.DataFrame)
    return _Disaggregated(overall, by_group)


def _bootstrap_seeds(n_boot: int, random_state: Any) -> npt.NDArray[np.uint32]:
    high = np.iinfo(np.uint32).max
    if random_state is None or isinstance(random_state, numbers.Integral):
        seed = None if random_state is None else int(random_state)
        generator = np.random.default_rng(seed)
        return generator.integers(low=0, high=high, size=n_boot, dtype=np.uint32)
    if isinstance(random_state, np.random.RandomState):
        return random_state.randint(low=0, high=high, size=n_boot, dtype=np.uint32)
    raise _error(f"Unsupported random_state: {random_state}")


class MetricFrame:
    r"""Metrics disaggregated by groups, with fairlearn's constructor and results.

    For every metric :math:`f` and group :math:`a` (a combination of sensitive and control
    feature values), ``by_group`` holds :math:`f(y_{\text{true}}[A = a], y_{\text{pred}}[A
    = a])` and ``overall`` holds :math:`f` on all rows (per control group when there are
    control features). The aggregates over the sensitive groups are ``group_min()``,
    ``group_max()``, ``difference()`` (``max_a f_a - min_a f_a``, or ``max_a |f_a - f|`` with
    ``method="to_overall"``) and ``ratio()`` (``min_a f_a / max_a f_a``, or
    ``min_a min(f_a / f, f / f_a)``), as in fairlearn (Weerts et al. 2023, "Fairlearn:
    Assessing and Improving Fairness of AI Systems", JMLR 24(257)).

    Parameters
    ----------
    metrics
        A callable ``f(y_true, y_pred, **sample_params)`` or a dict of them. With a callable,
        ``overall`` is a scalar (a Series with control features) and ``by_group`` a Series;
        with a dict (even of one), they are a Series and a DataFrame.
    y_true, y_pred
        Labels and predictions per row.
    sensitive_features, control_features
        Group columns: a list, array (1-D or 2-D), Series, DataFrame or dict of 1-D arrays.
        Unnamed columns are called ``sensitive_feature_<i>`` / ``control_feature_<i>``.
    sample_params
        Per-row arguments (e.g. ``sample_weight``) split with the rows: ``{name: array}``
        for a callable, ``{metric: {name: array}}`` for a dict.
    n_boot, ci_quantiles, random_state
        Bootstrap: ``n_boot`` resamples of the rows; the ``*_ci`` results hold the
        ``ci_quantiles`` of every result over them.

    Notes
    -----
    The metrics of :mod:`ethica.fairness._metric_registry` with default arguments on 0/1
    labels and predictions are computed from one confusion-count table (values equal to
    the per-group calls); other metrics are called once per group. :meth:`intervals` adds
    Wilson score intervals for metrics that are proportions.
    """

    def __init__(
        self,
        *,
        metrics: Callable[..., Any] | dict[str, Callable[..., Any]],
        y_true: Any,
        y_pred: Any,
        sensitive_features: Any,
        control_features: Any = None,
        sample_params: dict[str, Any] | None = None,
        n_boot: int | None = None,
        ci_quantiles: list[float] | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        _consistent_length(y_true, y_pred)
        y_t, y_p = _to_array(y_true), _to_array(y_pred)
        self._metrics = self._annotate(metrics, sample_params, y_t.shape[0])
        sensitive = self._process_features("sensitive_feature_", sensitive_features, y_t)
        self._sf_names = [f.name_ for f in sensitive]
        control = None
        self._cf_names: list[str] | None = None
        if control_features is not None:
            control = self._process_features("control_feature_", control_features, y_t)
            self._cf_names = [f.name_ for f in control]
        seen: set[str] = set()
        for name in self._sf_names + (self._cf_names or []):
            if name in seen:
                raise _error(_DUPLICATE_FEATURE_NAME.format(name))
            seen.add(name)
        self._sensitive = tuple(sensitive)
        self._control = tuple(control or ())
        self._data = _Data(y_t, y_p)
        self._raw = _compute(self._metrics, self._data, self._control, self._sensitive)
        self._cache: dict[tuple[Any, ...], Any] = {}

        self._ci_quantiles = ci_quantiles
        self._n_boot = n_boot
        wants_ci = ci_quantiles is not None and len(ci_quantiles) > 0
        if n_boot is not None and wants_ci:
            assert ci_quantiles is not None
            if not isinstance(n_boot, numbers.Integral) or n_boot < 1:
                raise _error(_BOOTSTRAP_N_BOOT_INT_GT_ZERO)
            for quantile in ci_quantiles:
                if not isinstance(quantile, float) or quantile <= 0 or quantile >= 1:
                    raise _error(_BOOTSTRAP_CI_INVALID)
            self._bootstrap(int(n_boot), list(ci_quantiles), random_state)
        elif (n_boot is not None) ^ wants_ci:
            raise _error(_BOOTSTRAP_NEED_N_AND_CI)

    # -- construction -------------------------------------------------------------------

    def _annotate(self, metrics: Any, sample_params: Any, n_rows: int) -> dict[str, _Metric]:
        if sample_params is not None and not isinstance(sample_params, dict):
            raise _error(_SAMPLE_PARAMS_NOT_DICT)
        params = sample_params or {}
        if not isinstance(metrics, dict):
            self._user_supplied_callable = True
            metric = self._metric(metrics, None, params)
            return {metric.name: metric}
        self._user_supplied_callable = False
        if not set(params).issubset(set(metrics)):
            raise _error(_SAMPLE_PARAM_KEYS_NOT_IN_FUNC_DICT)
        result = {}
        for name, function in metrics.items():
            metric = self._metric(function, name, params.get(name, {}))
            result[metric.name] = metric
        return result

    @staticmethod
    def _metric(function: Any, name: str | None, params: Any) -> _Metric:
        if not isinstance(params, dict):
            raise _error(_SAMPLE_PARAMS_NOT_DICT)
        if function is None:
            raise _error(_METRIC_FUNCTION_NONE)
        if not callable(function):
            raise _error(_METRIC_FUNCTION_NOT_CALLABLE)
        if name is None:
            if hasattr(function, "__name__"):
                name = str(function.__name__)
            else:
                warnings.warn("Supplied 'func' had no __name__ attribute", stacklevel=4)
                name = "metric"
        arrays = {k: np.asarray(v) for k, v in params.items() if v is not None}
        return _Metric(name, function, arrays, resolve_count_metric(function))

    def _process_features(
        self, base_name: str, features: Any, sample_array: Any
    ) -> list[GroupingFeature]:
        """Split ``features`` into named 1-D grouping features (fairlearn's rules)."""
        result: list[GroupingFeature] = []
        if isinstance(features, pd.Series):
            _consistent_length(features, sample_array)
            result.append(GroupingFeature(base_name, features, 0))
        elif isinstance(features, pd.DataFrame):
            result.extend(self._frame_features(base_name, features, sample_array))
        elif isinstance(features, list):
            if not all(pd.api.types.is_scalar(f) for f in features):
                raise _error(_FEATURE_LIST_NONSCALAR)
            values = np.atleast_1d(np.squeeze(np.asarray(features, dtype=object)))
            _consistent_length(values, sample_array)
            result.append(GroupingFeature(base_name, values, 0))
        elif isinstance(features, dict):
            try:
                frame = pd.DataFrame.from_dict(features)
            except ValueError as error:
                raise _error(_SF_DICT_CONVERSION_FAILURE) from error
            result.extend(self._frame_features(base_name, frame, sample_array))
        else:
            values = np.asarray(features)
            if values.dtype.kind not in "biufUS":
                values = values.astype(object)
            values = np.squeeze(values)
            if values.ndim == 1:
                _consistent_length(values, sample_array)
                result.append(GroupingFeature(base_name, values, 0))
            elif values.ndim == 2:
                for i in range(values.shape[1]):
                    _consistent_length(values[:, i], sample_array)
                    result.append(GroupingFeature(base_name, values[:, i], i))
            else:
                raise _error(_TOO_MANY_FEATURE_DIMS)
        return result

    @staticmethod
    def _frame_features(
        base_name: str, frame: pd.DataFrame, sample_array: Any
    ) -> list[GroupingFeature]:
        result = []
        for i in range(len(frame.columns)):
            name = frame.columns[i]
            if not isinstance(name, str):
                raise _error(_FEATURE_DF_COLUMN_BAD_NAME.format(name, type(name)))
            column = frame.iloc[:, i]
            _consistent_length(column, sample_array)
            result.append(GroupingFeature(base_name, column, i))
        return result

    def _bootstrap(self, n_boot: int, quantiles: list[float], random_state: Any) -> None:
        seeds = _bootstrap_seeds(n_boot, random_state)
        n_rows = self._data.y_true.shape[0]
        samples = []
        for seed in seeds:
            rows = np.asarray(np.random.RandomState(seed).choice(n_rows, size=n_rows), np.intp)
            metrics = {
                name: _Metric(
                    m.name, m.function, {k: v[rows] for k, v in m.params.items()}, m.counted
                )
                for name, m in self._metrics.items()
            }
            samples.append(
                _compute(
                    metrics,
                    self._data.take(rows),
                    [f.take(rows) for f in self._control],
                    [f.take(rows) for f in self._sensitive],
                )
            )
        control = self.control_levels
        extract = self._extract
        self._ci: dict[Any, Any] = {
            "overall": [
                extract(x, False) for x in _quantiles(quantiles, [s.overall for s in samples])
            ],
            "by_group": [
                extract(x, True) for x in _quantiles(quantiles, [s.by_group for s in samples])
            ],
        }
        for how in ("min", "max"):
            values = [s.extreme(how, control, "raise") for s in samples]
            self._ci[how] = [extract(x, False) for x in _quantiles(quantiles, values)]
        for method in _COMPARE_METHODS:
            for kind in ("difference", "ratio"):
                values = [_none_to_nan(getattr(s, kind)(control, method, "raise")) for s in samples]
                self._ci[kind, method] = [extract(x, False) for x in _quantiles(quantiles, values)]

    # -- shapes -------------------------------------------------------------------------

    def _extract(self, result: Any, no_control_levels: bool) -> Any:
        """fairlearn's result shapes: unwrap the single column of a bare callable."""
        if not self._user_supplied_callable:
            return result
        if self.control_levels or no_control_levels:
            return result.iloc[:, 0]
        return result.iloc[0]

    def _none_to_nan(self, target: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        return _none_to_nan(target)

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = compute()
            except Exception as error:  # replayed on every call, as fairlearn caches it
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    @staticmethod
    def _check_errors(errors: str) -> None:
        if errors not in _VALID_ERROR_STRING:
            raise _error(_INVALID_ERRORS_VALUE_ERROR_MESSAGE)

    @staticmethod
    def _check_method(method: str) -> None:
        if method not in _COMPARE_METHODS:
            raise _error(_INVALID_COMPARE_METHOD.format(method))

    def _check_bootstrap_initialized(self) -> None:
        if self._ci_quantiles is None or len(self._ci_quantiles) == 0 or self._n_boot is None:
            raise _error(_BOOTSTRAP_NOT_INITIALIZED)

    # -- fairlearn's results ------------------------------------------------------------

    @property
    def overall(self) -> Any:
        """The metrics on all rows (per control group when there are control features)."""
        return self._cached(("overall",), lambda: self._extract(self._raw.overall, False))

    @property
    def by_group(self) -> pd.Series | pd.DataFrame:
        """The metrics per group (combination of control and sensitive feature values)."""
        result: pd.Series | pd.DataFrame = self._cached(
            ("by_group",), lambda: self._extract(self._raw.by_group, True)
        )
        return result

    @property
    def control_levels(self) -> list[str] | None:
        """Names of the control features in the index of ``by_group`` (None without)."""
        return self._cf_names

    @property
    def sensitive_levels(self) -> list[str]:
        """Names of the sensitive features in the index of ``by_group``."""
        return self._sf_names

    @property
    def ci_quantiles(self) -> list[float] | None:
        """The bootstrap quantiles asked for."""
        return self._ci_quantiles

    @property
    def n_boot(self) -> int | None:
        """The number of bootstrap resamples asked for."""
        return self._n_boot

    def group_min(self, errors: ErrorsMode = "raise") -> Any:
        """Smallest value over the sensitive groups (per control group)."""
        self._check_errors(errors)
        return self._extreme("min", errors)

    def group_max(self, errors: ErrorsMode = "raise") -> Any:
        """Largest value over the sensitive groups (per control group)."""
        self._check_errors(errors)
        return self._extreme("max", errors)

    def _extreme(self, how: Literal["min", "max"], errors: str) -> Any:
        return self._cached(
            (how, errors),
            lambda: self._extract(self._raw.extreme(how, self.control_levels, errors), False),
        )

    def difference(
        self, method: CompareMethod = "between_groups", errors: ErrorsMode = "coerce"
    ) -> Any:
        """Largest difference between groups (``between_groups``) or to ``overall``."""
        self._check_errors(errors)
        self._check_method(method)
        return self._cached(
            ("difference", method, errors),
            lambda: self._extract(
                _none_to_nan(self._raw.difference(self.control_levels, method, errors)), False
            ),
        )

    def ratio(self, method: CompareMethod = "between_groups", errors: ErrorsMode = "coerce") -> Any:
        """Smallest ratio (at most 1) between groups or of each group to ``overall``."""
        self._check_errors(errors)
        self._check_method(method)
        return self._cached(
            ("ratio", method, errors),
            lambda: self._extract(
                _none_to_nan(self._raw.ratio(self.control_levels, method, errors)), False
            ),
        )

    @property
    def overall_ci(self) -> list[Any]:
        """Bootstrap quantiles of ``overall``, one entry per ``ci_quantiles``."""
        self._check_bootstrap_initialized()
        return list(self._ci["overall"])

    @property
    def by_group_ci(self) -> list[Any]:
        """Bootstrap quantiles of ``by_group``, one entry per ``ci_quantiles``."""
        self._check_bootstrap_initialized()
        return list(self._ci["by_group"])

    def group_min_ci(self) -> list[Any]:
        """Bootstrap quantiles of ``group_min()``."""
        self._check_bootstrap_initialized()
        return list(self._ci["min"])

    def group_max_ci(self) -> list[Any]:
        """Bootstrap quantiles of ``group_max()``."""
        self._check_bootstrap_initialized()
        return list(self._ci["max"])

    def difference_ci(self, method: CompareMethod = "between_groups") -> list[Any]:
        """Bootstrap quantiles of ``difference(method)``."""
        self._check_method(method)
        self._check_bootstrap_initialized()
        return list(self._ci["difference", method])

    def ratio_ci(self, method: CompareMethod = "between_groups") -> list[Any]:
        """Bootstrap quantiles of ``ratio(method)``."""
        self._check_method(method)
        self._check_bootstrap_initialized()
        return list(self._ci["ratio", method])

    # -- ethica's addition --------------------------------------------------------------

    def intervals(self, confidence: float = 0.95) -> pd.DataFrame:
        r"""Wilson score intervals of every proportion metric, per group.

        A metric that is a proportion :math:`\hat p = x / n` of its group's confusion
        counts (selection rate, true/false positive/negative rates, accuracy, precision,
        recall, zero-one loss; see :mod:`ethica.fairness._metric_registry`) gets the Wilson
        interval (Wilson 1927)

        .. math::
            \frac{\hat p + z^2/(2n) \pm z\sqrt{\hat p(1-\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}.

        Parameters
        ----------
        confidence
            Coverage of each interval, in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Indexed like ``by_group``; columns ``(metric, "lower")`` and
            ``(metric, "upper")`` for each proportion metric.

        Raises
        ------
        InvalidParameterError
            If ``confidence`` is not in (0, 1), no metric is a proportion, the labels and
            predictions are not 0/1, or a proportion metric has sample parameters.
        """
        if not isinstance(confidence, float | int) or not 0.0 < float(confidence) < 1.0:
            raise _error(f"confidence={confidence!r} must lie strictly between 0 and 1; e.g. 0.95.")
        proportions = {
            name: m
            for name, m in self._metrics.items()
            if m.counted is not None and m.counted.proportion is not None
        }
        if not proportions:
            raise _error(
                f"none of the metrics {list(self._metrics)} is a proportion of confusion "
                "counts, so there is no Wilson interval; use n_boot= and ci_quantiles= for "
                "bootstrap intervals of any metric."
            )
        weighted = [name for name, m in proportions.items() if m.params]
        if weighted:
            raise _error(
                f"metrics {weighted} have sample parameters; Wilson intervals need unweighted "
                "counts. Drop sample_params or use n_boot= and ci_quantiles=."
            )
        if self._data.outcome is None:
            raise _error(
                "Wilson intervals need y_true and y_pred coded 0/1; map the favourable "
                "outcome to 1 and the other to 0."
            )
        cells = _cells([*self._control, *self._sensitive], self._data.y_true.shape[0])
        counts = _counts(self._data, cells, None)
        columns: dict[tuple[str, str], Any] = {}
        for name, metric in proportions.items():
            assert metric.counted is not None and metric.counted.proportion is not None
            successes, trials = metric.counted.proportion(counts)
            columns[name, "lower"], columns[name, "upper"] = wilson_interval(
                successes, trials, float(confidence)
            )
        frame = pd.DataFrame(columns, index=self._cell_index(cells))
        return frame.reindex(self._raw.by_group.index)

    @staticmethod
    def _cell_index(cells: _Cells) -> pd.Index:
        arrays = [f.levels.take(cells.level_codes[:, j]) for j, f in enumerate(cells.features)]
        if len(arrays) == 1:
            return pd.Index(arrays[0], name=cells.features[0].name_)
        return pd.MultiIndex.from_arrays(arrays, names=[f.name_ for f in cells.features])
