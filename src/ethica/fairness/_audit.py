"""The fairness audit of a model's outputs: from a count table to an :class:`AuditResult`.

:func:`audit` asks the data layer for one GROUP BY of (protected attributes,
label, prediction[, score bin]) counts and hands it to :func:`audit_counts`, which
does all the science in numpy on that small table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica._typing import BoolArray
from ethica.data import CountTable, count_outcomes
from ethica.data._checks import MAX_GROUPS
from ethica.fairness._audit_groups import GroupBlock, marginalise
from ethica.fairness._audit_result import (
    SCHEMA_VERSION,
    AuditResult,
    CalibrationBin,
    Estimate,
    GroupMetrics,
)
from ethica.fairness._audit_subgroups import check_subgroup_harm, subgroup_findings
from ethica.fairness._definitions import judge_definitions
from ethica.fairness._disparities import HYPOTHESIS_OF, disparities, spreads
from ethica.fairness._intervals import modified_wilson_interval
from ethica.fairness._registry import HARM_DEFINITIONS

__all__ = ["audit", "audit_counts"]


#: How many offending groups a note lists by name before summarising the rest.
_NOTE_EXAMPLES = 5


def _check_settings(harm: str, tolerance: float, confidence: float, min_group_size: int) -> None:
    """Validate the settings that do not depend on the data."""
    if harm not in HARM_DEFINITIONS:
        raise InvalidParameterError(
            f"harm={harm!r} is not a harm the audit knows; use one of "
            f"{', '.join(repr(h) for h in HARM_DEFINITIONS)}."
        )
    for name, value in (("tolerance", tolerance), ("confidence", confidence)):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < 1:
            raise InvalidParameterError(
                f"{name}={value!r} is outside (0, 1); pass a number strictly between 0 and 1 "
                f"(e.g. {name}={0.05 if name == 'tolerance' else 0.95})."
            )
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int | np.integer):
        raise InvalidParameterError(
            f"min_group_size={min_group_size!r} is not an integer; pass a whole number of rows "
            "such as 30."
        )
    if min_group_size < 1:
        raise InvalidParameterError(
            f"min_group_size={min_group_size!r} must be at least 1; pass a whole number of rows "
            "such as 30."
        )


def _check_max_order(max_order: int | None, attributes: tuple[str, ...]) -> int:
    if max_order is None:
        return len(attributes)
    if (
        isinstance(max_order, bool)
        or not isinstance(max_order, int | np.integer)
        or not 1 <= max_order <= len(attributes)
    ):
        raise InvalidParameterError(
            f"max_order={max_order!r} is not an intersection order between 1 and the "
            f"{len(attributes)} protected attribute(s) {list(attributes)}; pass one in that "
            "range, or None for every intersection."
        )
    return int(max_order)


def _parse_reference(
    reference: Mapping[str, object] | str | Sequence[str] | None, table: CountTable
) -> dict[str, str]:
    """Turn ``{"sex": "Male"}``, ``"sex=Male"`` or ``["sex=Male", ...]`` into a checked dict."""
    if reference is None:
        return {}
    if isinstance(reference, Mapping):
        pairs = {str(k): str(v) for k, v in reference.items()}
    else:
        items = [reference] if isinstance(reference, str) else list(reference)
        pairs = {}
        for item in items:
            if not isinstance(item, str) or "=" not in item:
                raise InvalidParameterError(
                    f"reference={item!r} is not of the form ATTRIBUTE=VALUE; write e.g. "
                    f"'{table.attributes[0]}={table.group_order[table.attributes[0]][0]}' "
                    'or pass a dict such as {"sex": "Male"}.'
                )
            key, value = item.split("=", 1)
            pairs[key.strip()] = value.strip()
    for attr, value in pairs.items():
        if attr not in table.attributes:
            raise InvalidParameterError(
                f"reference names attribute {attr!r}, which is not protected in this audit; "
                f"valid attributes: {', '.join(table.attributes)}."
            )
        valid = tuple(str(v) for v in table.group_order[attr])
        if value not in valid:
            raise InvalidParameterError(
                f"reference {attr}={value!r} is not a group of {attr!r}; valid values: "
                f"{', '.join(valid)}."
            )
    return pairs


def _reference_index(block: GroupBlock, reference: Mapping[str, str]) -> int:
    """The largest group consistent with the user's reference values (first on ties)."""
    n = block.n
    wanted = [(i, reference[a]) for i, a in enumerate(block.attributes) if a in reference]
    matches = np.array(
        [all(label[i] == v for i, v in wanted) for label in block.labels], dtype=np.bool_
    )
    if not matches.any():
        matches[:] = True
    return int(np.argmax(np.where(matches, n, -1)))


def _calibration_bins(
    block: GroupBlock, row: int, edges: Sequence[float], confidence: float
) -> tuple[CalibrationBin, ...]:
    cal = block.calibration
    if cal is None:
        return ()
    n, positives = cal.n[row], cal.positives[row]
    low, high = modified_wilson_interval(positives, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = cal.score_sum[row] / n
        observed = positives / n
    bins = []
    for b, (count, pos) in enumerate(zip(n.tolist(), positives.tolist(), strict=True)):
        estimate = (
            Estimate(float(observed[b]), float(low[b]), float(high[b]), pos, count)
            if count > 0
            else Estimate(None, None, None, pos, count, "no rows in this score bin")
        )
        mean_score = float(mean[b]) if count > 0 else None
        bins.append(
            CalibrationBin(float(edges[b]), float(edges[b + 1]), count, mean_score, estimate)
        )
    return tuple(bins)


def _group_metrics(
    block: GroupBlock,
    judged: BoolArray,
    total: int,
    edges: Sequence[float] | None,
    confidence: float,
) -> list[GroupMetrics]:
    n = block.n.tolist()
    return [
        GroupMetrics(
            attributes=block.attributes,
            group=label,
            n=n[row],
            share=n[row] / total,
            judged=bool(judged[row]),
            metrics=block.rates.estimates(row),
            calibration=_calibration_bins(block, row, edges, confidence) if edges else (),
        )
        for row, label in enumerate(block.labels)
    ]


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_NOTE_EXAMPLES])
    more = len(items) - _NOTE_EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")


def _notes(
    table: CountTable,
    groups: list[GroupMetrics],
    blocks: list[GroupBlock],
    judged: list[BoolArray],
    references: list[int],
    min_group_size: int,
    n_tests: int,
) -> tuple[str, ...]:
    notes = []
    small = [
        f"{'×'.join(g.attributes)}={'×'.join(g.group)} (n={g.n})" for g in groups if not g.judged
    ]
    if small:
        notes.append(
            f"{len(small)} group(s) have fewer than min_group_size={min_group_size} rows and are "
            f"reported but too small to judge (left out of disparities and verdicts): "
            f"{_listing(small)}. Lower min_group_size= to judge them, at the cost of wide "
            "intervals."
        )
    for block, judged_groups, ref in zip(blocks, judged, references, strict=True):
        if not judged_groups[ref]:
            notes.append(
                f"The reference group {'×'.join(block.labels[ref])} of "
                f"{'×'.join(block.attributes)} is too small to judge, so no group of that "
                "attribute set is compared with it; choose another reference."
            )
    undefined = [
        f"{name} of {'×'.join(g.group) or 'everyone'} ({est.undefined_reason})"
        for g in groups
        for name, est in g.metrics.items()
        if est.undefined_reason is not None
    ]
    if undefined:
        notes.append(f"{len(undefined)} rate(s) are undefined: {_listing(undefined)}.")
    if table.n_dropped:
        notes.append(
            f"{table.n_dropped} row(s) with a missing label or prediction were dropped on request."
        )
    notes.append(
        "Intervals: Wilson for rates (Poisson limits next to 0 and 1), Newcombe for "
        "differences, Miettinen-Nurminen score for ratios (unbounded above when the reference "
        "has no events); p-values: Fisher's exact test for small or rare cells, else the "
        f"pooled z-test, Holm-adjusted across {n_tests} distinct test(s); verdicts: two "
        "one-sided tests per definition, across its comparisons."
    )
    return tuple(notes)


def audit_counts(
    table: CountTable,
    *,
    reference: Mapping[str, object] | str | Sequence[str] | None = None,
    max_order: int | None = None,
    min_group_size: int = 30,
    harm: str = "selection",
    tolerance: float = 0.05,
    confidence: float = 0.95,
    subgroups: bool = False,
) -> AuditResult:
    """Audit a model's outputs from their count table alone.

    Parameters
    ----------
    table
        Counts per (protected values, label, prediction[, score bin]) cell, as built
        by :func:`ethica.data.count_outcomes`.
    reference
        The reference group per attribute: ``{"sex": "Male"}``, ``"sex=Male"`` or a
        list of such strings. For each attribute set the reference is the largest
        group consistent with the values given (default: the largest group).
    max_order
        Largest intersection judged (``None``: every intersection).
    min_group_size
        Groups with fewer rows are reported but flagged "too small to judge" and
        left out of disparities and verdicts. They raise no warning: the result
        records them in ``notes``, which every report and the CLI show.
    harm
        Which harm the summary leads with: ``"selection"`` (demographic parity),
        ``"false-negative"`` (equal opportunity), ``"false-positive"`` (false
        positive rate parity) or ``"calibration"`` (calibration within groups).
    tolerance
        Largest difference from the reference still counted as parity, in (0, 1).
    confidence
        Coverage of every interval, in (0, 1); ``1 - confidence`` is the Holm
        family-wise level for ``significant``.
    subgroups
        Also search the rich subgroups (Kearns et al. 2018) on the table's cells: the
        most gamma-unfair linear-threshold subgroup and conjunction for the harm's rate
        (not for ``harm="calibration"``).

    Returns
    -------
    AuditResult

    Raises
    ------
    InvalidParameterError
        A setting is out of its domain, or ``reference`` names an unknown attribute
        or value (the message lists the valid ones).
    SchemaError
        The table has no rows or no protected attribute.
    """
    _check_settings(harm, tolerance, confidence, min_group_size)
    if subgroups:
        check_subgroup_harm(harm)
    if not table.attributes:
        raise SchemaError("the count table has no protected attribute; pass protected=[...].")
    order = _check_max_order(max_order, table.attributes)
    wanted = _parse_reference(reference, table)
    overall_block, blocks = marginalise(table, order, confidence)
    total = int(overall_block.n[0])
    if total == 0:
        raise SchemaError(
            "the table has no rows to audit (0 rows counted); check the source and any filter."
        )
    judged = [block.n >= min_group_size for block in blocks]
    references = [_reference_index(block, wanted) for block in blocks]
    edges = table.score_bin_edges
    everyone = np.ones(1, dtype=np.bool_)
    overall = _group_metrics(overall_block, everyone, total, edges, confidence)[0]
    groups = [
        g
        for block, j in zip(blocks, judged, strict=True)
        for g in _group_metrics(block, j, total, edges, confidence)
    ]
    found = disparities(blocks, judged, references, confidence)
    tested = {
        (d.attributes, d.group, HYPOTHESIS_OF[d.metric]) for d in found if d.p_value is not None
    }
    n_tests = len(tested)
    return AuditResult(
        schema_version=SCHEMA_VERSION,
        n_rows=total,
        protected=table.attributes,
        harm=harm,
        tolerance=float(tolerance),
        confidence=float(confidence),
        min_group_size=int(min_group_size),
        overall=overall,
        groups=tuple(groups),
        references={b.attributes: b.labels[r] for b, r in zip(blocks, references, strict=True)},
        disparities=found,
        spreads=spreads(blocks, judged, confidence),
        definitions=judge_definitions(
            blocks,
            judged,
            references,
            tolerance=float(tolerance),
            confidence=float(confidence),
            min_group_size=int(min_group_size),
        ),
        notes=_notes(table, groups, blocks, judged, references, min_group_size, n_tests),
        provenance={**dict(table.provenance), "n_dropped": table.n_dropped},
        subgroups=subgroup_findings(table, harm) if subgroups else (),
    )


def _column_name(name: object, fallback: str) -> str:
    return fallback if name is None or (isinstance(name, float) and name != name) else str(name)


def _sensitive_columns(features: object, n_rows: int, role: str) -> dict[str, Any]:
    """fairlearn's ``sensitive_features`` shapes as named columns of ``n_rows`` values.

    Accepts a pandas Series (its name) or DataFrame (its columns), a dict of arrays, a
    1-D array or list (``sensitive_feature_0``) or a 2-D array (``sensitive_feature_<j>``).
    """
    import pandas as pd

    if isinstance(features, pd.DataFrame):
        columns = {str(c): features[c].to_numpy() for c in features.columns}
    elif isinstance(features, pd.Series):
        columns = {_column_name(features.name, "sensitive_feature_0"): features.to_numpy()}
    elif isinstance(features, Mapping):
        columns = {str(k): np.asarray(v) for k, v in features.items()}
    else:
        array = np.asarray(features, dtype=object)
        if array.ndim == 1:
            columns = {"sensitive_feature_0": array}
        elif array.ndim == 2:
            columns = {f"sensitive_feature_{j}": array[:, j] for j in range(array.shape[1])}
        else:
            raise InvalidParameterError(
                f"{role} must be 1-D or 2-D (one column per attribute), got an array of "
                f"shape {array.shape}; pass a Series, a DataFrame or a dict of arrays."
            )
    if not columns:
        raise InvalidParameterError(f"{role} has no columns; pass at least one attribute.")
    for name, values in columns.items():
        if len(values) != n_rows:
            raise InvalidParameterError(
                f"{role} {name!r} has {len(values)} values but there are {n_rows} rows; "
                "pass one value per row, in the same order."
            )
    return columns


def _fairlearn_style(
    y_true: object, y_pred: object, sensitive_features: object
) -> tuple[Any, list[str]]:
    """A frame with ``y_true``, ``y_pred`` and the sensitive features, and their names."""
    import pandas as pd

    if y_pred is None or sensitive_features is None:
        raise InvalidParameterError(
            "y_true= needs y_pred= and sensitive_features= too, as in fairlearn's "
            "MetricFrame: audit(y_true=y, y_pred=model.predict(X), sensitive_features=sex)."
        )
    truth = np.asarray(y_true).ravel()
    decisions = np.asarray(y_pred).ravel()
    if len(truth) != len(decisions):
        raise InvalidParameterError(
            f"y_true has {len(truth)} values and y_pred has {len(decisions)}; pass one "
            "prediction per row."
        )
    columns = _sensitive_columns(sensitive_features, len(truth), "sensitive_features")
    clash = sorted({"y_true", "y_pred"} & set(columns))
    if clash:
        raise InvalidParameterError(
            f"sensitive features may not be named {clash}; rename them (e.g. a dict key)."
        )
    frame = pd.DataFrame({"y_true": truth, "y_pred": decisions, **columns})
    return frame, list(columns)


def _protected_arrays(source: object, protected: Any) -> tuple[object, Any]:
    """Put a Series / DataFrame / array passed as ``protected`` beside the source's rows."""
    import pandas as pd

    if not isinstance(protected, pd.Series | pd.DataFrame | np.ndarray):
        return source, protected
    if not isinstance(source, pd.DataFrame):
        raise InvalidParameterError(
            f"protected= is a {type(protected).__name__}, which can only be matched row by row "
            "with a pandas DataFrame source; pass column names (protected=['sex']) for other "
            "sources, or read the source into a DataFrame first."
        )
    columns = _sensitive_columns(protected, len(source), "protected")
    return source.assign(**columns), list(columns)


def audit(
    source: object = None,
    *,
    label: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    protected: Sequence[Any] | str | Any = None,
    positive_label: object = None,
    positive_prediction: object = None,
    reference: Mapping[str, object] | str | Sequence[str] | None = None,
    max_order: int | None = None,
    min_group_size: int = 30,
    harm: str = "selection",
    tolerance: float = 0.05,
    drop_missing: bool = False,
    table: str | None = None,
    backend: Any = None,
    score_bins: int = 10,
    confidence: float = 0.95,
    subgroups: bool = False,
    max_groups: int = MAX_GROUPS,
    encoding: str | None = None,
    y_true: object = None,
    y_pred: object = None,
    sensitive_features: object = None,
    privacy: Any = None,
    groups: object = None,
    privacy_unit: Any = None,
    ledger: Any = None,
    dataset: str | None = None,
) -> AuditResult:
    """Audit whether a model's outputs discriminate, per group and intersection.

    The source is read once, as a GROUP BY pushed down to its engine (see
    :func:`ethica.data.count_outcomes`); everything else is :func:`audit_counts`.
    Two call shapes: a table with column names
    (``audit(table, label="y", prediction="yhat", protected=["sex"])``), or arrays as in
    fairlearn's ``MetricFrame`` (``audit(y_true=y, y_pred=yhat, sensitive_features=sex)``).

    Parameters
    ----------
    source
        A CSV/Parquet path, a ``.duckdb`` file (with ``table``), an Ibis connection
        URL (with ``table``), a pandas/polars/Arrow frame or an ``ibis.Table``.
    label, prediction, score, threshold
        The true outcome column, the decision column, or a score column turned
        into decisions by ``score >= threshold``.
    positive_label, positive_prediction
        The label value meaning "positive" (default ``1``) and the prediction value
        meaning a positive decision (default: ``positive_label``). A value found in
        neither form in its column is an error listing the values found.
    protected
        Protected attribute columns (or bin specifications for numeric ones); with a
        pandas DataFrame source, also a Series, DataFrame or array of values per row.
    y_true, y_pred, sensitive_features
        Instead of ``source``/``label``/``prediction``/``protected``: arrays (or Series)
        of true outcomes and decisions, and the sensitive features as a Series,
        DataFrame, dict of arrays or 1-D/2-D array (fairlearn's shapes).
    drop_missing, table, backend, score_bins, max_groups, encoding
        Passed to :func:`ethica.data.count_outcomes`.
    reference, max_order, min_group_size, harm, tolerance, confidence, subgroups
        As in :func:`audit_counts`.
    privacy, groups, privacy_unit, ledger, dataset
        A budget (``PureDP(1)``) makes this a private audit: the confusion counts are
        released under DP with public keys (``groups={"sex": ["Male", "Female"]}``, or
        :class:`~ethica.data.Bins` with fixed edges), charged to ``ledger``'s ``dataset``
        first, and every interval covers sampling and noise; see
        :func:`ethica.workflows._private_audit.private_audit` (docs/private-learning.md).

    Returns
    -------
    AuditResult
        A :class:`~ethica.fairness._private_audit.PrivateAuditResult` when ``privacy`` is given.

    Raises
    ------
    InvalidParameterError
        The two call shapes are mixed, or arrays disagree in length.
    SchemaError, DataSourceError
        As in :func:`ethica.data.count_outcomes`.
    """
    if privacy is not None:  # imports ethica.privacy, so it lives in workflows (lazy import)
        from ethica.workflows._private_audit import private_audit

        return private_audit(
            source,
            label=label,
            protected=protected,
            privacy=privacy,
            groups=groups,
            prediction=prediction,
            score=score,
            threshold=threshold,
            positive_label=positive_label,
            positive_prediction=positive_prediction,
            privacy_unit=privacy_unit,
            ledger=ledger,
            dataset=dataset,
            reference=reference,
            max_order=max_order,
            min_group_size=min_group_size,
            harm=harm,
            tolerance=tolerance,
            confidence=confidence,
            table=table,
            encoding=encoding,
            unsupported={
                "subgroups": subgroups or None,
                "backend": backend,
                "y_true": y_true,
                "y_pred": y_pred,
                "sensitive_features": sensitive_features,
            },
        )
    _check_settings(harm, tolerance, confidence, min_group_size)
    if subgroups:
        check_subgroup_harm(harm)
    if y_true is not None or y_pred is not None or sensitive_features is not None:
        given = [
            name
            for name, value in (
                ("source", source),
                ("label", label),
                ("prediction", prediction),
                ("score", score),
                ("protected", protected),
            )
            if value is not None
        ]
        if given:
            raise InvalidParameterError(
                f"pass either arrays (y_true=, y_pred=, sensitive_features=) or a table with "
                f"column names (source, label=, prediction=, protected=), not both; got "
                f"{', '.join(given)} with the arrays."
            )
        source, protected = _fairlearn_style(y_true, y_pred, sensitive_features)
        label, prediction = "y_true", "y_pred"
    if source is None or label is None or protected is None:
        needed = (("source", source), ("label", label), ("protected", protected))
        missing = [name for name, value in needed if value is None]
        raise InvalidParameterError(
            f"audit needs {', '.join(missing)}: audit(table, label='y', prediction='yhat', "
            "protected=['sex']), or arrays: audit(y_true=y, y_pred=yhat, sensitive_features=sex)."
        )
    source, protected = _protected_arrays(source, protected)
    counts = count_outcomes(
        source,
        label=label,
        prediction=prediction,
        score=score,
        threshold=threshold,
        protected=protected,
        positive_label=positive_label,
        positive_prediction=positive_prediction,
        score_bins=score_bins,
        drop_missing=drop_missing,
        max_groups=max_groups,
        table=table,
        backend=backend,
        encoding=encoding,
    )
    return audit_counts(
        counts,
        reference=reference,
        max_order=max_order,
        min_group_size=min_group_size,
        harm=harm,
        tolerance=tolerance,
        confidence=confidence,
        subgroups=subgroups,
    )
