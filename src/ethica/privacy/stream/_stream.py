"""A persistent stream: create once, then append one bucket at a time.

Privacy accounting (``DESIGN.md``'s contract, for streams):

1. **The horizon is reserved first.** :meth:`Stream.create` checks the spec, the registered
   dataset (its unit must be the same :class:`UserWindow`: kind, user column, window, bucket)
   and charges the ledger the stream's whole cost *before any bucket is read*: the budget
   ``B`` of the spec, which calibrates the noise of every measurement the mechanism will ever
   take to its exact sensitivity under the window unit. So the guarantee is: for every user
   and every ``window`` consecutive buckets, everything the stream releases over its horizon
   (bucket values and running totals of every bucket) is ``B``-DP (pure, discrete Laplace),
   ``B``-zCDP (discrete Gaussian) or ``(epsilon, delta)``-DP (``ApproxDP``: the Gaussian at
   the tightest ``rho`` meeting it, or Laplace at ``epsilon``; :mod:`._budget`) with respect
   to adding or removing that user's rows in those buckets. No composition over buckets or
   windows is involved: the stream is *one* linear release ``m = R x + z`` whose sensitivity
   already covers the sliding windows (they overlap; nothing is assumed disjoint). Stopping
   early releases a prefix: never more than ``B``.
2. **The ledger accounts per window.** A dataset of ``kind = "user-window"`` holds a budget
   per window: its charges (each a stream's ``B``, or a single time-series release) add up by
   sequential composition, and the ledger refuses a stream whose ``B`` exceeds what is left.
3. **Each bucket is a request.** :meth:`Stream.append` records a zero-cost charge with the
   request id ``"{stream}:{bucket start}"`` (replay-safe, scoped to the dataset), reads *only
   the bucket's file*, bounds it in the engine, draws the measurements due at that bucket,
   and commits the bucket's exact values, measurements and release in one sidecar
   transaction (:mod:`._state`); only then is the ledger charge completed with the release
   stored and the release returned. A bucket already committed is returned from storage
   (never recomputed, never re-noised); a bucket whose process died before its commit left
   nothing released and is computed afresh.
4. Errors after the read are generic (:class:`~ethica.ReleaseFailedError`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError, LedgerError
from ethica._results import Result
from ethica.data._bounding import COUNT, ClampedSum
from ethica.data._time_bounding import BUCKET, SeriesSource, bounded_series, series_source
from ethica.privacy.budget._after_charge import after_charge
from ethica.privacy.budget._budgets import (
    ZCDP,
    ApproxDP,
    Budget,
    PureDP,
    budget_from_dict,
    zero_like,
)
from ethica.privacy.budget._ledger import ChargeRecord, Ledger
from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._noise import Noise
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.release._session import bounding_fraction
from ethica.privacy.stream._budget import check_law
from ethica.privacy.stream._intervals import point_half_widths
from ethica.privacy.stream._plan import stream_noise
from ethica.privacy.stream._series_report import (
    ReportPlan,
    bounding_notes,
    plan_report,
)
from ethica.privacy.stream._specs import check_mapping, exact_number, release_from_dict
from ethica.privacy.stream._state import StreamStore, sidecar_path
from ethica.privacy.stream._strategies import (
    MECHANISMS,
    Strategy,
    build_strategy,
    combine,
    measure,
)
from ethica.privacy.stream._unit import UserWindow, bucket_seconds

__all__ = ["DayRelease", "Stream", "StreamSpec", "read_spec", "spec_from_mapping"]

_FAILED = (
    "the bucket's release failed after its data was read; nothing was released and the "
    "stream's state is unchanged. The reason is not shown because it could depend on the "
    "private data; check the file against the spec (columns, types), then append it again."
)


@dataclass(frozen=True)
class StreamSpec:
    """What a stream releases (immutable; stored with the stream).

    Parameters
    ----------
    name
        The stream's name (request ids are ``"{name}:{bucket start}"``).
    dataset
        The ledger dataset (registered with this ``unit``) that pays for the stream.
    unit
        The window privacy unit and its contribution bounds.
    start
        Start of bucket 0.
    horizon
        Number of buckets.
    budget
        The whole stream's cost under the unit (``PureDP``, ``ZCDP`` or ``ApproxDP``).
    mechanism
        One of ``naive``, ``tree``, ``ls-tree``, ``factorization``.
    key, keys
        Optional key column and its public values (one cell per value); none: one cell.
    measure
        ``None`` for a row count, else a :class:`ClampedSum` (released in its units, times
        its step).
    time
        Optional timestamp column; rows outside the appended bucket are dropped.
    confidence
        Level of every interval.
    noise
        With an ``ApproxDP`` budget: ``"gaussian"`` (default; the tightest ``rho`` meeting
        ``(epsilon, delta)``) or ``"laplace"`` (``epsilon``-DP, ``delta`` unused). Other
        budgets fix the law (:mod:`._budget`).
    bounding_share
        Off by default. A fraction in (0, 1) of ``budget`` spent on a DP bounding report in
        every bucket's release (:func:`stream_report`); the measurements spend the rest.
    """

    name: str
    dataset: str
    unit: UserWindow
    start: datetime
    horizon: int
    budget: Budget
    mechanism: str = "factorization"
    key: str | None = None
    keys: tuple[object, ...] = ()
    measure: ClampedSum | None = None
    time: str | None = None
    confidence: float = 0.95
    noise: str | None = None
    bounding_share: Fraction | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or ":" in self.name:
            raise InvalidParameterError(
                f"a stream name must be a non-empty string without ':', got {self.name!r}."
            )
        if self.mechanism not in MECHANISMS:
            raise InvalidParameterError(
                f"mechanism must be one of {', '.join(MECHANISMS)}; got {self.mechanism!r}."
            )
        law = check_law(self.budget, self.noise)
        object.__setattr__(self, "noise", law if isinstance(self.budget, ApproxDP) else None)
        if (self.key is None) != (len(self.keys) == 0):
            raise InvalidParameterError(
                "give both key (the column) and keys (its public values), or neither; got "
                f"key={self.key!r}, keys={list(self.keys)!r}."
            )
        if len(set(map(repr, self.keys))) != len(self.keys):
            raise InvalidParameterError(f"keys must be distinct, got {list(self.keys)!r}.")
        check_confidence(self.confidence)
        if self.bounding_share is not None:
            object.__setattr__(self, "bounding_share", bounding_fraction(self.bounding_share))
        if self.unit.max_buckets is not None:
            raise InvalidParameterError(
                f"a stream reads one bucket at a time and bounds each bucket on its own; "
                f"max_buckets={self.unit.max_buckets} applies to release_series only. Drop it."
            )
        if self.start.tzinfo is not None:
            object.__setattr__(self, "start", self.start.astimezone(UTC).replace(tzinfo=None))
        build_strategy(self.mechanism, self.horizon)  # horizon checks

    @property
    def cells(self) -> int:
        """Number of released cells per bucket."""
        return max(1, len(self.keys))

    @property
    def per_row(self) -> Fraction:
        """A row's largest units (1 for a count)."""
        return Fraction(1) if self.measure is None else self.measure.per_row()

    @property
    def step(self) -> float:
        """Size of one unit in the measure's scale (1 for a count)."""
        return 1.0 if self.measure is None else self.measure.step

    def bucket_start(self, index: int) -> datetime:
        """Start of bucket ``index``."""
        return self.start + timedelta(seconds=bucket_seconds(self.unit.bucket) * index)

    def index_of(self, at: datetime | date | str) -> int:
        """The bucket index that starts at ``at`` (refused if ``at`` is not a bucket start)."""
        moment = _as_datetime(at)
        seconds = bucket_seconds(self.unit.bucket)
        elapsed = (moment - self.start).total_seconds()
        if elapsed < 0 or elapsed % seconds or elapsed // seconds >= self.horizon:
            raise InvalidParameterError(
                f"{moment.isoformat()} is not the start of a bucket of stream {self.name!r} "
                f"(buckets of one {self.unit.bucket} from {self.start.isoformat()}, "
                f"{self.horizon} of them)."
            )
        return int(elapsed // seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (exact budget)."""
        measure = None
        if self.measure is not None:
            m = self.measure
            measure = {"sum": m.column, "lower": m.lower, "upper": m.upper, "step": m.step}
        return (
            {
                "name": self.name,
                "dataset": self.dataset,
                "privacy_unit": self.unit.to_dict(),
                "start": self.start.isoformat(),
                "horizon": self.horizon,
                "budget": self.budget.to_dict(),
                "mechanism": self.mechanism,
                "key": self.key,
                "keys": list(self.keys),
                "measure": measure,
                "time": self.time,
                "confidence": self.confidence,
            }
            | ({"noise": self.noise} if self.noise is not None else {})
            | ({"bounding_share": str(self.bounding_share)} if self.bounding_share else {})
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamSpec:
        """Inverse of :meth:`to_dict`."""
        measure = data.get("measure")
        return cls(
            name=data["name"],
            dataset=data["dataset"],
            unit=UserWindow.from_dict(data["privacy_unit"]),
            start=_as_datetime(data["start"]),
            horizon=data["horizon"],
            budget=budget_from_dict(data["budget"]),
            mechanism=data.get("mechanism", "factorization"),
            key=data.get("key"),
            keys=tuple(data.get("keys") or ()),
            measure=None
            if measure is None
            else ClampedSum(
                "value", measure["sum"], measure["lower"], measure["upper"], measure["step"]
            ),
            time=data.get("time"),
            confidence=data.get("confidence", 0.95),
            noise=data.get("noise"),
            bounding_share=(
                Fraction(data["bounding_share"]) if data.get("bounding_share") else None
            ),
        )

    def fingerprint(self) -> str:
        """SHA-256 of the spec (what the horizon charge pays for)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise InvalidParameterError(
        f"expected a date or date-time such as 2026-03-01 or 2026-03-01T13:00, got {value!r}."
    )


@dataclass(frozen=True)
class DayRelease(Result):
    """One bucket's release: every key's value and running total, each with its interval.

    ``daily[k] ± daily_half_width`` and ``running[k] ± running_half_width`` cover the bounded
    statistic with probability at least ``confidence`` (``interval = "exact"``: the exact law
    of the noise sum) or approximately (``"normal"``: the normal law with the exact variance).
    ``bounding`` says in words what the bucket's bounding may have removed (no number from
    the data; releases stored before it existed have none).
    """

    stream: str
    index: int
    at: str
    keys: tuple[object, ...]
    daily: tuple[float, ...]
    running: tuple[float, ...]
    daily_half_width: float
    running_half_width: float
    confidence: float
    interval: str
    mechanism: str
    bounding: dict[str, Any] = field(default_factory=dict)
    replayed: bool = field(default=False, compare=False)

    _not_serialised = ("replayed",)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, replayed: bool = False) -> DayRelease:
        """Inverse of :meth:`to_dict`."""
        return release_from_dict(cls, data, replayed=replayed)


class Stream:
    """A persistent continual release (module docstring for its accounting).

    Use :meth:`create` once, then :meth:`open` and :meth:`append` each bucket.
    """

    def __init__(self, spec: StreamSpec, ledger: Ledger, store: StreamStore) -> None:
        self.spec = spec
        self.ledger = ledger
        self._store = store
        self.strategy: Strategy = build_strategy(spec.mechanism, spec.horizon)
        self.noise: Noise
        share = spec.bounding_share
        self._report = None if share is None else stream_report(spec, spec.budget.fraction(share))
        self.noise, self.sensitivity = stream_noise(
            self.strategy,
            spec.unit,
            spec.budget if share is None else spec.budget.fraction(1 - share),
            per_row=spec.per_row,
            keys=spec.cells,
            noise=spec.noise,
        )
        self._running_hw, self._daily_hw = point_half_widths(
            self.strategy, self.noise, spec.confidence
        )

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, spec: StreamSpec, ledger: Ledger) -> Stream:
        """Check ``spec`` for free, charge its whole budget, and record the stream.

        Re-creating the same stream (same spec) returns it; another spec under an existing
        name is refused. Nothing is read.
        """
        status = ledger.status(spec.dataset)  # names the fix when unregistered
        registered = status.privacy_unit or {}
        if (
            registered.get("kind") != "user-window"
            or UserWindow.from_dict(registered).identity() != spec.unit.identity()
        ):
            raise InvalidParameterError(
                f"dataset {spec.dataset!r} protects the unit {registered or None}, but the "
                f"stream releases under {spec.unit.describe()}; register a dataset for that "
                "unit (`ethica stream register`, or Ledger.create_dataset(name, budget, "
                "privacy_unit=UserWindow(...)))."
            )
        if type(status.total) is not type(spec.budget):
            raise InvalidParameterError(
                f"dataset {spec.dataset!r} holds a {type(status.total).__name__} budget; the "
                f"stream spends {spec.budget!r}. Use the same kind."
            )
        store = StreamStore(sidecar_path(ledger.path))
        existing = store.spec(spec.name)
        if existing is not None:
            if existing[0] != spec.to_dict():
                store.close()
                raise InvalidParameterError(
                    f"stream {spec.name!r} already exists with another spec; choose another "
                    "name (a stream's spec never changes)."
                )
            return cls(spec, ledger, store)
        stream = cls(spec, ledger, store)  # calibration errors before the charge
        description = (
            f"stream {spec.name}: {spec.mechanism}, {spec.horizon} {spec.unit.bucket}s of "
            f"{'counts' if spec.measure is None else 'sums'} (whole horizon, "
            f"{spec.unit.describe()})"
        )
        record = _legacy_record(ledger, spec, "horizon") or ledger.record_charge(
            spec.dataset,
            spec.budget,
            description,
            system_id=_ledger_id(spec.name, "horizon"),
            fingerprint=spec.fingerprint(),
        )
        if record.status == "charged":
            ledger.complete(record.id, spec.to_dict(), store=True)
        store.add_stream(spec.name, spec.to_dict(), record.id, datetime.now(UTC).isoformat())
        return stream

    @classmethod
    def open(cls, name: str, ledger: Ledger) -> Stream:
        """Open an existing stream by name."""
        store = StreamStore(sidecar_path(ledger.path))
        found = store.spec(name)
        if found is None:
            store.close()
            raise LedgerError(
                f"no stream {name!r} next to the ledger {ledger.path}; create it first "
                "(`ethica stream create SPEC.yaml` or Stream.create)."
            )
        return cls(StreamSpec.from_dict(found[0]), ledger, store)

    def close(self) -> None:
        """Close the state file."""
        self._store.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state
    @property
    def released(self) -> int:
        """Number of buckets released so far."""
        return self._store.days_done(self.spec.name)

    def releases(self) -> list[DayRelease]:
        """Every bucket released so far, in order."""
        return [DayRelease.from_dict(r) for r in self._store.releases(self.spec.name)]

    # ------------------------------------------------------------------ append
    def append(
        self, at: datetime | date | str, source: object, *, table: str | None = None
    ) -> DayRelease:
        """Release bucket ``at`` from ``source``, which holds that bucket's rows only.

        Raises
        ------
        InvalidParameterError, SchemaError
            ``at`` is not the next bucket, or the file does not fit the spec (free checks).
        ReleaseFailedError
            Failure after the read (generic message; nothing released, state unchanged).
        """
        spec = self.spec
        index = spec.index_of(at)
        bucket_at = spec.bucket_start(index).isoformat()
        stored = self._store.release(spec.name, index)
        if stored is not None:
            self._finish_ledger(index, bucket_at, stored)
            return DayRelease.from_dict(stored, replayed=True)
        done = self.released
        if index != done:
            raise InvalidParameterError(
                f"stream {spec.name!r} has released {done} buckets; the next is "
                f"{spec.bucket_start(done).isoformat()}, not {bucket_at}. Append buckets in "
                "order (a bucket without rows is appended as an empty file)."
            )
        checked = self._check_source(source, table)
        legacy = _legacy_record(self.ledger, spec, bucket_at)
        if legacy is not None and isinstance(legacy.output, dict):  # state file lost
            return DayRelease.from_dict(legacy.output, replayed=True)
        record = self.ledger.record_charge(
            spec.dataset,
            zero_like(spec.budget),
            f"stream {spec.name}: bucket {bucket_at} (paid by the horizon charge)",
            system_id=_ledger_id(spec.name, bucket_at),
            fingerprint=spec.fingerprint(),
        )
        if record.replayed and record.status == "released" and isinstance(record.output, dict):
            return DayRelease.from_dict(record.output, replayed=True)  # state file lost

        def compute_and_commit() -> tuple[dict[str, Any], bool]:
            release, exact, measured = self._compute(index, bucket_at, checked)
            committed = self._store.commit_day(
                spec.name, index, bucket_at, exact, measured, release
            )
            return release, committed

        # nothing to mark: the day's zero-cost record stays 'charged' until a retry completes
        # it, and the stream's horizon charge stands either way
        release, committed = after_charge(
            compute_and_commit, on_failure=lambda: None, message=_FAILED
        )
        if not committed:  # another process committed it meanwhile: return that one
            stored = self._store.release(spec.name, index)
            assert stored is not None
            release = stored
        self._finish_ledger(index, bucket_at, release)
        return DayRelease.from_dict(release, replayed=not committed)

    def _finish_ledger(self, index: int, bucket_at: str, release: dict[str, Any]) -> None:
        found = self.ledger.find_request(
            self.spec.dataset, _ledger_id(self.spec.name, bucket_at), system=True
        )
        if found is not None and found.status == "charged":
            with contextlib.suppress(LedgerError):  # completed by another process meanwhile
                self.ledger.complete(found.id, release, store=True)

    def _check_source(self, source: object, table: str | None) -> SeriesSource:
        """Free checks of the bucket's file against the spec (schema only): a CSV is read as
        text and parsed in the engine, so no type guessed from the rows decides a refusal;
        returns the opened table with the public keys in its key column's type."""
        spec = self.spec
        return series_source(
            source,
            time=spec.time,
            user=spec.unit.column,
            by=spec.key,
            keys=spec.keys if spec.key else (),
            sums=[spec.measure] if spec.measure else [],
            table=table,
        )

    def _compute(
        self, index: int, bucket_at: str, source: SeriesSource
    ) -> tuple[dict[str, Any], NDArray[np.int64], dict[int, NDArray[np.int64]]]:
        spec = self.spec
        keys = tuple(source.keys)
        frame = bounded_series(
            source.table,
            user=spec.unit.column,
            max_cells=spec.unit.max_keys,
            max_rows=spec.unit.max_rows,
            by=[spec.key] if spec.key else [],
            key_filter={spec.key: list(keys)} if spec.key else None,
            sums=[spec.measure] if spec.measure else [],
            time=spec.time,
            start=spec.bucket_start(index) if spec.time else None,
            bucket_seconds=bucket_seconds(spec.unit.bucket),
            drop_null_users=spec.unit.nulls == "drop",
            report=self._report is not None,
        )
        column = COUNT if spec.measure is None else spec.measure.name
        today = np.zeros(spec.cells, dtype=np.int64)
        for _, row in frame.iterrows():
            if int(row[BUCKET]) != 0:
                continue
            k = 0 if spec.key is None else _position(keys, row[spec.key])
            today[k] = today[k] + int(row[column])
        history = self._store.exact(spec.name, index, spec.cells)
        x = np.vstack([history, today[None, :]])  # (index + 1, cells)
        strategy = self.strategy
        due = np.flatnonzero(strategy.available == index)
        measured: dict[int, NDArray[Any]] = {}
        for position in due.tolist():
            row = strategy.matrix[position : position + 1, : index + 1]
            measured[position] = measure(row, x, self.noise.draw(spec.cells))[0]
        items = strategy.matrix.shape[0]
        m = self._store.measurements(spec.name, items, spec.cells)
        if any(np.asarray(v).dtype == object for v in measured.values()):
            m = m.astype(object)
        for item, values in measured.items():
            m[item] = values
        whole = strategy.integer_weights
        running = combine(strategy.running[index : index + 1], m, whole)[0] * spec.step
        daily = combine(strategy.daily[index : index + 1], m, whole)[0] * spec.step
        integer = strategy.integer_weights and spec.measure is None
        release = DayRelease(
            stream=spec.name,
            index=index,
            at=bucket_at,
            keys=spec.keys or ("all",),
            daily=tuple(_number(v, integer) for v in daily),
            running=tuple(_number(v, integer) for v in running),
            daily_half_width=float(self._daily_hw[index]) * spec.step,
            running_half_width=float(self._running_hw[index]) * spec.step,
            confidence=spec.confidence,
            interval="exact" if strategy.integer_weights else "normal",
            mechanism=spec.mechanism,
            bounding=bounding_notes(
                spec.unit, keyed=spec.key is not None, measured=spec.measure is not None,
                stream=True,
            )
            if self._report is None
            else self._report.report(frame, spec.measure, spec.confidence),
        )  # fmt: skip
        return release.to_dict(), today, measured


def _ledger_id(stream: str, record: str) -> str:
    """The ledger id of a stream's record (``horizon`` or a bucket's start), in ethica's own
    namespace (:data:`~ethica.privacy.budget._ledger.SYSTEM_PREFIX`): no other request can
    take it first."""
    return f"stream:{stream}:{record}"


def _legacy_record(ledger: Ledger, spec: StreamSpec, record: str) -> ChargeRecord | None:
    """The record an earlier version of ethica made for this stream under the plain id
    ``name:record`` (same spec), so that a lost state file never re-charges the horizon or
    re-draws a bucket."""
    found = ledger.find_request(spec.dataset, f"{spec.name}:{record}")
    return found if found is not None and found.fingerprint == spec.fingerprint() else None


def _position(keys: tuple[object, ...], value: object) -> int:
    for i, key in enumerate(keys):
        if key == value or str(key) == str(value):
            return i
    raise InvalidParameterError("a key outside the public key set reached the release.")


def _number(value: float, integer: bool) -> float:
    return float(round(value)) if integer else float(value)


def read_spec(path: Path) -> StreamSpec:
    """A :class:`StreamSpec` from a YAML file (see ``docs/streams.md``)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidParameterError(f"cannot read the stream spec {path}: {error}") from None
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{path} must hold a mapping (name:, dataset:, ...).")
    return spec_from_mapping(data)


def spec_from_mapping(data: dict[str, Any]) -> StreamSpec:
    """A spec from the YAML mapping's plain values (friendly names, checked)."""
    allowed = {
        "name", "dataset", "start", "horizon", "bucket", "mechanism", "budget", "confidence",
        "privacy_unit", "key", "keys", "measure", "time", "noise", "bounding_share",
    }  # fmt: skip
    required = ("name", "dataset", "start", "horizon", "budget", "privacy_unit")
    check_mapping(data, allowed=allowed, required=required, what="stream spec")
    unit = dict(data["privacy_unit"])
    user = unit.pop("user", unit.pop("column", None))
    budget = budget_from_mapping(data["budget"])
    measure = data.get("measure", "count")
    sum_spec = None
    if measure != "count":
        if not isinstance(measure, dict) or "sum" not in measure:
            raise InvalidParameterError(
                f"measure must be 'count' or {{sum: column, lower: L, upper: U}}, got {measure!r}."
            )
        lower, upper = float(measure["lower"]), float(measure["upper"])
        step = float(measure.get("step", max(abs(lower), abs(upper)) / 1000))
        sum_spec = ClampedSum("value", str(measure["sum"]), lower, upper, step)
    return StreamSpec(
        name=str(data["name"]),
        dataset=str(data["dataset"]),
        unit=UserWindow(
            column=str(user),
            window=unit.pop("window", 28),
            bucket=str(data.get("bucket", unit.pop("bucket", "day"))),
            max_keys=unit.pop("max_keys", 1),
            max_rows=unit.pop("max_rows", 1),
            nulls=unit.pop("nulls", "drop"),
        ),
        start=_as_datetime(data["start"]),
        horizon=data["horizon"],
        budget=budget,
        mechanism=data.get("mechanism", "factorization"),
        key=data.get("key"),
        keys=tuple(data.get("keys") or ()),
        measure=sum_spec,
        time=data.get("time"),
        confidence=data.get("confidence", 0.95),
        noise=data.get("noise"),
        bounding_share=exact_number(data.get("bounding_share")),  # type: ignore[arg-type]
    )


def budget_from_mapping(budget: object) -> Budget:
    """``{epsilon: E}``, ``{rho: R}`` or ``{epsilon: E, delta: D}`` (exact decimals)."""
    kinds = ({"epsilon"}, {"rho"}, {"epsilon", "delta"})
    if not isinstance(budget, dict) or set(budget) not in kinds:
        raise InvalidParameterError(
            f"budget must be {{epsilon: E}}, {{rho: R}} or {{epsilon: E, delta: D}}, got "
            f"{budget!r}."
        )
    values = {k: Fraction(str(v)) for k, v in budget.items()}
    if "rho" in values:
        return ZCDP(values["rho"])
    if "delta" in values:
        return ApproxDP(values["epsilon"], values["delta"])
    return PureDP(values["epsilon"])


def stream_report(spec: StreamSpec, budget: Budget) -> ReportPlan:
    """A stream's per-bucket bounding report on ``budget`` (the report's share).

    Each bucket releases ``users_capped`` (users with a row dropped by the caps in that
    bucket) and, for a sum, the kept values below / above its bounds; over the horizon these
    are one vector per count, with i.i.d. noise drawn bucket by bucket. One user's rows in a
    window of ``w' = min(window, horizon)`` buckets change at most ``w'`` buckets' entries,
    each by one user (``users_capped``: ``Δ1 = Δ2² = w'``) or by the user's kept rows in the
    bucket, at most ``r = min(max_keys, keys) * max_rows``, each on one side (the pair:
    ``Δ1 = w' r``, ``Δ2² = w' r²``). The buckets are bounded independently, so no other
    bucket changes.
    """
    width = min(spec.unit.window, spec.horizon)
    rows = min(spec.unit.max_keys, spec.cells) * spec.unit.max_rows
    return plan_report(
        budget,
        law=check_law(spec.budget, spec.noise),
        capped=Sensitivity(Fraction(width), Fraction(width)),
        clamp=None
        if spec.measure is None
        else Sensitivity(Fraction(width * rows), Fraction(width * rows * rows)),
        scope="in this bucket",
    )
