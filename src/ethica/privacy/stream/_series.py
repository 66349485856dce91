"""Batch time series: counts or clamped sums per (key, time bucket) of one table, released once.

:func:`release_series` releases every cell ``(bucket, key)`` of a public grid (buckets
``0..periods-1`` from ``start``, the public ``keys``) with independent exact discrete noise,
under the window unit :class:`UserWindow` (a user's rows in any ``window`` consecutive
buckets).

Contribution bounding (in the engine, :func:`ethica.data._time_bounding.bounded_series`)
-------------------------------------------------------------------------------------------
With ``unit.max_buckets = d`` the buckets are cut into *blocks* of ``b`` (default: the
window ``w``) and each user keeps at most ``D = d * max_keys`` of their (bucket, key) cells per
block, chosen in a salted-hash order, and at most ``m = max_rows`` rows per cell. Without
``max_buckets`` each bucket is its own block (``b = 1``, ``D = max_keys``).

Sensitivity (:func:`window_cells`, exact)
-----------------------------------------
Neighbours differ by all of one user's rows in one window ``W`` of ``w`` consecutive buckets.
A window meets at most ``ceil((w - 1) / b) + 1`` blocks (two when ``w <= b``). In a block
``B`` with ``i`` buckets inside ``W`` and ``o`` outside, adding the user's rows in ``W`` can

* add up to ``n = min(D, i K)`` newly kept cells inside ``W`` (``K`` keys per bucket), and
* **displace** the user's cells of ``B`` *outside* ``W`` that were kept before: the cap ``D``
  is shared by the block, and the new cells may come first in hash order. Of the
  ``min(oK, D)`` cells kept before, ``min(oK, D - n)`` stay, so ``min(oK, D) - min(oK, D - n)``
  (at most ``n``) are dropped.

Every changed cell moves by at most ``c = m * B_row`` units (``B_row`` a row's largest units,
1 for a count), so with ``C = max_W Σ_B [n_B + min(o_B K, D) - min(o_B K, D - n_B)]`` the
vector of all cells has ``Δ1 = C c`` and ``Δ2² = C c²``; both are attained (the hash order
is arbitrary, so the new cells can come first). Note the displacement: a window that meets two
blocks can change up to ``4 D`` cells, not ``2 D``. ``tests/unit/stream/test_series.py``
checks ``C`` against a brute force over every user, window and hash order on small grids.

Options
-------
``bounding_share`` spends a fraction of the budget on a DP report of what bounding did
(:mod:`._series_report`); ``running`` also releases every key's running totals with a
continual-release mechanism (:mod:`._series_running`).

Privacy contract (``DESIGN.md``)
--------------------------------
Free checks (columns, types, keys, the ledger dataset's unit and budget kind) first; then the
budget is charged to the ledger (reserve); only then is the table read; any failure after the
charge raises a generic :class:`~ethica.ReleaseFailedError` and the charge stays ``failed``.
A CSV source is read as text from its header alone and its numbers and times are parsed in the
engine (:mod:`ethica.data._private_sources`). Each point's interval is exact: the noise is a
single discrete Laplace or Gaussian draw, whose half-width ethica computes exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import (
    InvalidParameterError,
    LedgerError,
)
from ethica._results import Result
from ethica.data._bounding import COUNT, ClampedSum
from ethica.data._time_bounding import BUCKET, bounded_series, series_source
from ethica.privacy.budget._after_charge import after_charge
from ethica.privacy.budget._budgets import Budget, budget_from_dict
from ethica.privacy.budget._ledger import Ledger
from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._queries import Sum
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.release._session import bounding_fraction
from ethica.privacy.stream._budget import check_law, spend
from ethica.privacy.stream._series_report import (
    ReportPlan,
    bounding_notes,
    series_report,
)
from ethica.privacy.stream._series_running import plan_running
from ethica.privacy.stream._specs import exact_number, release_from_dict
from ethica.privacy.stream._stream import _as_datetime
from ethica.privacy.stream._unit import UserWindow, bucket_seconds

__all__ = [
    "SeriesRelease",
    "grid_of",
    "read_series_spec",
    "release_series",
    "series_frame",
    "series_sensitivity",
    "window_cells",
]

MAX_CELLS = 1_000_000
"""Largest grid (buckets x keys) one series releases."""

_FAILED = (
    "the series release failed after its budget was charged; the charge stands (status "
    "'failed') and nothing was released. The reason is not shown because it could depend on "
    "the private data; check the table against the request (columns, types), then release "
    "again with a new request id."
)


def window_cells(periods: int, keys: int, window: int, block: int, max_cells: int) -> int:
    """``C``: the most (bucket, key) cells one user's rows in one window can change.

    Parameters
    ----------
    periods, keys
        The grid: ``periods`` buckets of ``keys`` cells.
    window
        Buckets per window of the unit.
    block
        Buckets per bounding block (the last block may be shorter).
    max_cells
        ``D``: cells kept per user per block.

    Returns
    -------
    int
        ``max_W Σ_B [n_B + min(o_B K, D) - min(o_B K, D - n_B)]`` with ``n_B = min(D, i_B K)``
        (module docstring), over every window position, including windows cut by either
        end of the horizon.
    """
    for name, value in (
        ("periods", periods),
        ("keys", keys),
        ("window", window),
        ("block", block),
        ("max_cells", max_cells),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}.")
    best = 0
    for start in range(-(window - 1), periods):
        lo, hi = max(start, 0), min(start + window, periods)
        total = 0
        for index in range(lo // block, (hi - 1) // block + 1):
            first, last = index * block, min((index + 1) * block, periods)
            inside = min(hi, last) - max(lo, first)
            outside = (last - first - inside) * keys
            new = min(max_cells, inside * keys)
            total += new + min(outside, max_cells) - min(outside, max_cells - new)
        best = max(best, total)
    return best


def series_sensitivity(
    unit: UserWindow,
    *,
    periods: int,
    keys: int,
    per_row: Fraction | int = 1,
    block: int | None = None,
) -> tuple[Sensitivity, int, int, int]:
    """Exact sensitivity of the released grid: ``(Sensitivity, C, block, D)``."""
    if unit.max_buckets is None:
        b, d = 1, unit.max_keys
        if block not in (None, 1):
            raise InvalidParameterError(
                f"block={block} needs unit.max_buckets (the cap per block); without it each "
                "bucket is bounded on its own (block 1)."
            )
    else:
        b, d = block or unit.window, unit.max_buckets * unit.max_keys
    cells = window_cells(periods, keys, unit.window, b, d)
    c = unit.max_rows * Fraction(per_row)
    return Sensitivity(cells * c, cells * c * c), cells, b, d


@dataclass(frozen=True)
class SeriesRelease(Result):
    """A released time series: ``value[i] ± half_width`` for cell ``(at[i], key[i])``.

    Every interval covers the bounded statistic with probability at least ``confidence``
    exactly (one discrete noise draw per cell). ``cells_per_window`` is ``C`` and
    ``sensitivity`` the grid's exact sensitivity (module docstring). ``bounding`` says what
    contribution bounding did: a DP report with ``bounding_share``
    (:mod:`._series_report`), else notes with no number from the data.

    With ``running_mechanism`` (:mod:`._series_running`), ``running[i] ±
    running_half_width[i]`` is the running total of key ``key[i]`` up to bucket ``at[i]``,
    ``value[i] ± value_half_width[i]`` the cell's value, both estimated from the mechanism's
    measurements; ``interval`` says whether the intervals are exact or normal approximations,
    and ``half_width`` is the widest value interval.
    """

    at: tuple[str, ...]
    key: tuple[object, ...]
    value: tuple[float, ...]
    half_width: float
    confidence: float
    interval: str
    statistic: str
    bucket: str
    budget: Budget
    privacy_unit: dict[str, Any]
    noise: dict[str, Any]
    sensitivity: dict[str, str]
    block: int
    max_cells_per_block: int
    cells_per_window: int
    bounding: dict[str, Any] = field(default_factory=dict)
    running_mechanism: str | None = None
    running: tuple[float, ...] = ()
    running_half_width: tuple[float, ...] = ()
    value_half_width: tuple[float, ...] = ()

    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for i, (a, k, v) in enumerate(zip(self.at, self.key, self.value, strict=True)):
            half = self.value_half_width[i] if self.value_half_width else self.half_width
            row = {"at": a, "key": k, "value": v, "lower": v - half, "upper": v + half}
            if self.running:
                r, h = self.running[i], self.running_half_width[i]
                row |= {"running": r, "running_lower": r - h, "running_upper": r + h}
            rows.append(row)
        return rows

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeriesRelease:
        """Inverse of :meth:`to_dict`."""
        return release_from_dict(cls, data, budget=budget_from_dict(data["budget"]))


def release_series(
    source: object,
    *,
    time: str,
    start: datetime | date | str,
    periods: int,
    unit: UserWindow,
    budget: Budget,
    bucket: str | None = None,
    by: str | None = None,
    keys: Sequence[object] = (),
    measure: Sum | None = None,
    block: int | None = None,
    noise: str | None = None,
    confidence: float = 0.95,
    ledger: Ledger | None = None,
    dataset: str | None = None,
    request_id: str | None = None,
    table: str | None = None,
    bounding_share: Fraction | float | None = None,
    running: str | None = None,
) -> SeriesRelease:
    """Release counts (``measure=None``) or clamped sums per (key, bucket) of a table.

    Parameters
    ----------
    source
        Anything :func:`~ethica.data.resolve_table` accepts; a CSV is read as text.
    time
        The timestamp (or date) column.
    start, periods
        Bucket ``i`` holds ``start + i * bucket <= time < start + (i + 1) * bucket``; rows
        outside the ``periods`` buckets are dropped (public bounds, never read from the data).
    unit
        The window unit: user column, window, bucket, ``max_keys``, ``max_rows``, and
        optionally ``max_buckets`` (module docstring).
    budget
        ``PureDP``, ``ZCDP`` or ``ApproxDP`` (``noise`` chooses the law for ``ApproxDP``).
    bucket
        ``"hour"``, ``"day"`` or ``"week"``; must be the unit's bucket (default).
    by, keys
        Optional key column and its public values (one series per value).
    measure
        ``Sum(column, lower, upper, step)`` for clamped sums (its ``by`` must be empty).
    block
        Buckets per bounding block with ``unit.max_buckets`` (default ``unit.window``).
    confidence
        Level of every point's interval.
    ledger, dataset, request_id
        Charge a registered ``user-window`` dataset; a replayed ``request_id`` returns the
        stored release.
    table
        Table name inside a ``.duckdb`` file.
    bounding_share
        Off by default. A fraction in (0, 1) of ``budget`` spent on a DP bounding report
        (users the caps cut; for a sum, kept values below and above its bounds) in
        ``SeriesRelease.bounding``; the cells spend the rest, so the charge is still
        ``budget`` (:mod:`._series_report`).
    running
        Also release every key's running totals with this mechanism (``"naive"``,
        ``"tree"``, ``"ls-tree"`` or ``"factorization"``), and the cells' values estimated by
        it (:mod:`._series_running`); ``None`` (default) releases the cells alone.

    Raises
    ------
    InvalidParameterError, SchemaError
        The request does not fit the schema, the unit or the ledger (nothing charged).
    BudgetExceededError
        The ledger's dataset has less left than ``budget``.
    ReleaseFailedError
        Failure after the charge (generic message; the charge stays).
    """
    bucket = bucket or unit.bucket
    if bucket != unit.bucket:
        raise InvalidParameterError(
            f"bucket={bucket!r} differs from the unit's bucket {unit.bucket!r}; the window "
            f"counts the unit's buckets. Use UserWindow(..., bucket={bucket!r})."
        )
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise InvalidParameterError(f"periods must be an integer >= 1, got {periods!r}.")
    law = check_law(budget, noise)
    confidence = check_confidence(confidence)
    if (by is None) != (len(keys) == 0):
        raise InvalidParameterError(
            "give both by (the key column) and keys (its public values), or neither; got "
            f"by={by!r}, keys={list(keys)!r}. A series needs its key set public."
        )
    if len(set(map(repr, keys))) != len(keys):
        raise InvalidParameterError(f"keys must be distinct, got {list(keys)!r}.")
    if measure is not None and (not isinstance(measure, Sum) or measure.by):
        raise InvalidParameterError(
            f"measure must be None (counts) or Sum(column, lower, upper) without by=, got "
            f"{measure!r}; give the key column as release_series(by=...)."
        )
    cells_per_bucket = max(1, len(keys))
    if periods * cells_per_bucket > MAX_CELLS:
        raise InvalidParameterError(
            f"{periods} buckets x {cells_per_bucket} keys is more than {MAX_CELLS} cells; "
            "release fewer buckets or keys."
        )
    origin = _as_datetime(start)
    clamped = (
        None
        if measure is None
        else ClampedSum("value", measure.column, measure.lower, measure.upper, measure.step)
    )
    per_row = Fraction(1) if clamped is None else clamped.per_row()
    sens, cells, b, d = series_sensitivity(
        unit, periods=periods, keys=cells_per_bucket, per_row=per_row, block=block
    )
    report: ReportPlan | None = None
    spent = budget
    if bounding_share is not None:
        fraction = bounding_fraction(bounding_share)
        spent = budget.fraction(1 - fraction)
        report = series_report(
            budget.fraction(fraction), law=law, cells=cells, max_rows=unit.max_rows,
            clamped=clamped,
        )  # fmt: skip
    drawn = spend(sens, spent, law)
    plan = None
    if running is not None:
        plan = plan_running(
            running, unit=unit, budget=spent, law=law, periods=periods,
            keys=cells_per_bucket, per_row=per_row, cells=(drawn, sens), confidence=confidence,
        )  # fmt: skip
        drawn, sens = plan.noise, plan.sensitivity
    data = series_source(
        source,
        time=time,
        user=unit.column,
        by=by,
        keys=keys,
        sums=[clamped] if clamped else [],
        table=table,
    )
    public_keys = data.keys
    spec = {
        "time": time,
        "start": origin.isoformat(),
        "periods": periods,
        "bucket": bucket,
        "unit": unit.to_dict(),
        "budget": budget.to_dict(),
        "noise": law,
        "by": by,
        "keys": [repr(k) for k in keys],
        "measure": None if measure is None else repr(measure),
        "block": b,
        "confidence": confidence,
        "source": data.identity,
    }
    spec |= {} if report is None else {"bounding_share": str(fraction)}
    spec |= {} if running is None else {"running": running}
    record = None
    if ledger is not None:
        _check_dataset(ledger, dataset, unit, budget)
        assert dataset is not None
        record = ledger.record_charge(
            dataset,
            budget,
            f"series of {'counts' if measure is None else measure.describe()} by {bucket}"
            f"{f' and {by}' if by else ''}: {periods} buckets ({unit.describe()})",
            request_id=request_id,
            fingerprint=hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
        )
        if record.replayed:
            if record.status == "released" and isinstance(record.output, dict):
                return SeriesRelease.from_dict(record.output)
            raise LedgerError(
                f"request {request_id!r} was charged before (status {record.status!r}) and "
                "has no stored release; it is never run twice. Send a new request id."
            )
    elif request_id is not None:
        raise InvalidParameterError("request_id needs a ledger; pass ledger=Ledger(...).")

    def work() -> SeriesRelease:
        frame = series_frame(
            data.table, unit, time=time, start=origin, periods=periods, by=by,
            keys=public_keys, clamped=clamped, block=b, max_cells=d, report=report is not None,
        )  # fmt: skip
        exact = grid_of(frame, by=by, keys=public_keys, periods=periods, clamped=clamped)
        bounding = (
            bounding_notes(unit, keyed=by is not None, measured=clamped is not None)
            if report is None
            else report.report(frame, clamped, confidence)
        )
        step = 1.0 if measure is None else measure.step
        extra: dict[str, Any] = {}
        noisy: np.ndarray[Any, Any]
        if plan is None:
            noisy = exact + drawn.draw(exact.size).reshape(exact.shape)
            half_width = float(drawn.half_width(confidence)) * step
        else:
            noisy, totals = plan.release(exact)
            per_point = np.repeat(np.arange(periods), exact.shape[1])
            half_width = float(plan.value_half_width.max()) * step
            extra = {
                "running_mechanism": running,
                "running": tuple(float(v) * step for v in totals.ravel()),
                "running_half_width": tuple(
                    float(h) * step for h in plan.running_half_width[per_point]
                ),
                "value_half_width": tuple(
                    float(h) * step for h in plan.value_half_width[per_point]
                ),
            }
        seconds = bucket_seconds(bucket)
        labels = list(keys) or ["all"]
        release = SeriesRelease(
            at=tuple(
                (origin + timedelta(seconds=seconds * i)).isoformat()
                for i in range(periods)
                for _ in labels
            ),
            key=tuple(k for _ in range(periods) for k in labels),
            value=tuple(float(v) * step for v in noisy.ravel()),
            half_width=half_width,
            confidence=confidence,
            interval="exact" if plan is None else plan.interval,
            statistic="count" if measure is None else measure.describe(),
            bucket=bucket,
            budget=budget,
            privacy_unit=unit.to_dict(),
            noise={"kind": drawn.kind, drawn.parameter_name: str(drawn.parameter)},
            sensitivity={"l1": str(sens.l1), "l2_squared": str(sens.l2_squared)},
            block=b,
            max_cells_per_block=d,
            cells_per_window=cells,
            bounding=bounding,
            **extra,
        )
        if record is not None:
            assert ledger is not None
            ledger.complete(record.id, release.to_dict(), store=True)
        return release

    def mark_failed() -> None:
        if record is not None and ledger is not None:
            ledger.fail(record.id, "release failed after the charge")

    return after_charge(work, on_failure=mark_failed, message=_FAILED)


def series_frame(
    table: object,
    unit: UserWindow,
    *,
    time: str,
    start: datetime,
    periods: int,
    by: str | None,
    keys: Sequence[object],
    clamped: ClampedSum | None,
    block: int,
    max_cells: int,
    salt: int | None = None,
    report: bool = False,
) -> pd.DataFrame:
    """One engine query (:func:`~ethica.data._time_bounding.bounded_series`): at most
    ``max_cells`` (bucket, key) cells per user per block of ``block`` buckets, ``max_rows``
    rows per cell; counts, or the clamped sum's integer units, per non-empty cell (with
    ``report``, the bounding report's counts too). ``block=1`` and ``max_cells=unit.max_keys``
    bound each bucket on its own, as a stream does. ``salt`` is for tests only (a fixed hash
    order); ``None`` draws a fresh one."""
    return bounded_series(
        table,
        user=unit.column,
        max_cells=max_cells,
        max_rows=unit.max_rows,
        by=[by] if by else [],
        key_filter={by: list(keys)} if by else None,
        sums=[clamped] if clamped else [],
        time=time,
        start=start,
        bucket_seconds=bucket_seconds(unit.bucket),
        periods=periods,
        block=block,
        drop_null_users=unit.nulls == "drop",
        salt=salt,
        report=report,
    )


def grid_of(
    frame: pd.DataFrame,
    *,
    by: str | None,
    keys: Sequence[object],
    periods: int,
    clamped: ClampedSum | None,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The exact bounded values of :func:`series_frame`'s cells on the full public grid, shape
    ``(periods, max(1, len(keys)))`` (empty cells are 0)."""
    column = COUNT if clamped is None else clamped.name
    out = np.zeros((periods, max(1, len(keys))), dtype=np.int64)
    position = {repr(k): i for i, k in enumerate(keys)}
    text = {str(k): i for i, k in enumerate(keys)}
    for values in frame.to_dict("records"):
        k = 0
        if by is not None:
            value = values[by]
            found = position.get(repr(value), text.get(str(value)))
            if found is None:
                raise InvalidParameterError("a key outside the public key set reached a series.")
            k = found
        out[int(values[BUCKET]), k] += int(values[column])
    return out


def _check_dataset(ledger: Ledger, dataset: str | None, unit: UserWindow, budget: Budget) -> None:
    """The dataset must be registered for the same window unit and budget kind (free)."""
    if not isinstance(dataset, str) or not dataset:
        raise InvalidParameterError(
            "a series with a ledger needs the registered dataset's name: pass dataset='name' "
            "(register it with `ethica stream register`)."
        )
    status = ledger.status(dataset)
    registered = status.privacy_unit or {}
    if (
        registered.get("kind") != "user-window"
        or UserWindow.from_dict(registered).identity() != unit.identity()
    ):
        raise InvalidParameterError(
            f"dataset {dataset!r} protects the unit {registered or None}, but the series "
            f"releases under {unit.describe()}; register a dataset for that unit."
        )
    if type(status.total) is not type(budget):
        raise InvalidParameterError(
            f"dataset {dataset!r} holds a {type(status.total).__name__} budget; the series "
            f"spends {budget!r}. Use the same kind."
        )


def read_series_spec(path: Path) -> dict[str, Any]:
    """The keyword arguments of :func:`release_series` from a YAML spec (``docs/streams.md``).

    Fields: ``dataset``, ``time``, ``start``, ``periods``, ``privacy_unit`` (``user``,
    ``window``, ``bucket``, ``max_keys``, ``max_rows``, ``max_buckets``, ``nulls``), ``budget``
    (``{epsilon}``, ``{rho}`` or ``{epsilon, delta}``), and optionally ``bucket``, ``by``,
    ``keys``, ``measure`` (``count`` or ``{sum, lower, upper, step}``), ``block``, ``noise``,
    ``confidence``, ``table``, ``bounding_share``, ``running``. Returns the arguments plus
    ``dataset``.
    """
    import yaml

    from ethica.privacy.stream._specs import check_mapping
    from ethica.privacy.stream._stream import budget_from_mapping

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidParameterError(f"cannot read the series spec {path}: {error}") from None
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{path} must hold a mapping (dataset:, time:, ...).")
    allowed = {
        "dataset", "time", "start", "periods", "bucket", "privacy_unit", "budget", "by",
        "keys", "measure", "block", "noise", "confidence", "table", "bounding_share",
        "running",
    }  # fmt: skip
    required = ("dataset", "time", "start", "periods", "privacy_unit", "budget")
    check_mapping(data, allowed=allowed, required=required, what="series spec", path=path)
    unit = dict(data["privacy_unit"])
    user = unit.pop("user", unit.pop("column", None))
    bucket = str(data.get("bucket", unit.pop("bucket", "day")))
    known = {"window", "max_keys", "max_rows", "max_buckets", "nulls"}
    if set(unit) - known:
        raise InvalidParameterError(
            f"unknown privacy_unit fields {sorted(set(unit) - known)}; allowed: user, bucket, "
            f"{', '.join(sorted(known))}."
        )
    measure = data.get("measure", "count")
    measured = None
    if measure != "count":
        if not isinstance(measure, dict) or "sum" not in measure:
            raise InvalidParameterError(
                f"measure must be 'count' or {{sum: column, lower: L, upper: U}}, got {measure!r}."
            )
        measured = Sum(str(measure["sum"]), measure["lower"], measure["upper"], measure.get("step"))
    return {
        "dataset": str(data["dataset"]),
        "time": str(data["time"]),
        "start": data["start"],
        "periods": data["periods"],
        "bucket": bucket,
        "unit": UserWindow(column=str(user), bucket=bucket, **unit),
        "budget": budget_from_mapping(data["budget"]),
        "by": data.get("by"),
        "keys": tuple(data.get("keys") or ()),
        "measure": measured,
        "block": data.get("block"),
        "noise": data.get("noise"),
        "confidence": data.get("confidence", 0.95),
        "table": data.get("table"),
        "bounding_share": exact_number(data.get("bounding_share")),
        "running": data.get("running"),
    }
