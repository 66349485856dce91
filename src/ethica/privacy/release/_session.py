"""A release session: one data source, one privacy unit, one budget, optionally a ledger.

:meth:`Session.evaluate` keeps the privacy contract (``DESIGN.md``), in this order:

1. **Free checks.** Everything that does not depend on the data (the budget's kind, the query
   against the schema and the unit, integer headroom, delta for private keys) is checked
   first; a refusal here costs nothing and says exactly what to fix.
2. **Reserve.** Under one lock, the request is checked against the session's remaining budget
   *and* recorded in the ledger, which checks its own remaining budget atomically across
   processes (:meth:`Ledger.record_charge`). Both caps hold componentwise.
3. **Read.** Only then does the engine read the private data and the noise get drawn. Any
   failure from here on raises :class:`~ethica.ReleaseFailedError` with a generic message
   (no engine text, no values, no counts) and the charge stays, marked ``failed``.
4. **Record.** The ledger marks the charge ``released`` with the release's hash and JSON, so
   a replayed ``request_id`` returns the stored release instead of drawing fresh noise.

The total cost is the sum of the parts' budgets (sequential composition, Dwork et al. 2006).
"""

from __future__ import annotations

import hashlib
import math
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
)
from ethica.data._engine import expression_key, scoped_memo
from ethica.data._private_sources import parse_numbers, private_table, source_identity
from ethica.privacy.budget._after_charge import after_charge
from ethica.privacy.budget._budgets import ApproxDP, Budget, zero_like
from ethica.privacy.budget._ledger import ChargeRecord, Ledger
from ethica.privacy.release._accuracy import check_confidence
from ethica.privacy.release._cells import share
from ethica.privacy.release._evaluate import (
    Part,
    bounding_mechanisms,
    check_parts,
    evaluate_parts,
    numeric_columns,
)
from ethica.privacy.release._queries import Batch, Query
from ethica.privacy.release._release import Release
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel
from ethica.privacy.release._stored import release_from_dict

__all__ = ["Session", "bounding_fraction"]

_FAILED = (
    "the release failed after its budget was charged; the charge stands (status 'failed') "
    "and nothing was released. The reason is not shown because it could depend on the "
    "private data; check the query against the data's schema and bounds, then release again."
)


def _parts(query: Query, budget: Budget) -> list[Part]:
    if not isinstance(query, Batch):
        return [Part(query.describe(), query, budget)]
    weights = [Fraction(w) for w in (query.weights or [1] * len(query.queries))]
    total = sum(weights, Fraction(0))
    names = list(query.names or _unique([q.describe() for q in query.queries]))
    return [
        Part(name, q, share(budget, w / total))
        for name, q, w in zip(names, query.queries, weights, strict=True)
    ]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


class Session:
    """Release differentially private statistics of one source under one total budget.

    Parameters
    ----------
    source
        Anything :func:`ethica.data.resolve_table` accepts (path, frame, ``ibis.Table``...). A
        CSV file is read as text from its header line alone and numbers are parsed in the
        engine (a value that does not parse is missing), so no type guessed from the rows
        decides anything (:mod:`ethica.data._private_sources`).
    privacy_unit
        ``Rows()`` (or ``"rows"``) or ``UserLevel(column, max_groups_per_user,
        max_rows_per_group, nulls=...)``.
    budget
        The session's cap (``PureDP``, ``ZCDP`` or ``ApproxDP``); every evaluation spends
        from it, in the same kind, and from the ledger's dataset when there is a ledger.
    ledger
        A :class:`~ethica.privacy.Ledger`. Charges go to ``dataset``, which must already be
        registered there (:meth:`Ledger.create_dataset`, ``ethica budget create``) with the
        same privacy unit and budget kind: a session never creates a budget.
    dataset
        The registered dataset's name (required with a ledger).
    confidence
        Level of the confidence interval on every released value.
    table
        Table name inside a ``.duckdb`` file or behind a URL.
    """

    def __init__(
        self,
        source: object,
        *,
        privacy_unit: PrivacyUnit | str,
        budget: Budget,
        ledger: Ledger | None = None,
        dataset: str | None = None,
        confidence: float = 0.95,
        table: str | None = None,
    ) -> None:
        self.unit = _unit(privacy_unit)
        if not isinstance(budget, Budget):
            raise InvalidParameterError(
                f"budget must be PureDP, ZCDP or ApproxDP, got {budget!r}; e.g. PureDP(1)."
            )
        self.budget = budget
        self.confidence = check_confidence(confidence)
        self.source_description = (
            str(source) if isinstance(source, str | Path) else (type(source).__name__)
        )
        self.ledger = ledger
        self.dataset = dataset
        if ledger is not None:
            self._check_registered(ledger, dataset)
        self._table, self._text_csv = private_table(source, table=table)
        self._spent: Budget = zero_like(budget)
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[Release, int]] = {}
        self._identity: str | None = None
        self._source = source

    def _check_registered(self, ledger: Ledger, dataset: str | None) -> None:
        if not isinstance(dataset, str) or not dataset:
            raise InvalidParameterError(
                "a session with a ledger needs the registered dataset's name: pass "
                "dataset='name' (register it once with Ledger.create_dataset('name', total))."
            )
        status = ledger.status(dataset)  # LedgerError naming the fix when unregistered
        if type(status.total) is not type(self.budget):
            raise InvalidParameterError(
                f"dataset {dataset!r} holds a {type(status.total).__name__} budget "
                f"({status.total}); this session spends {type(self.budget).__name__} "
                f"({self.budget}). Use a {type(status.total).__name__} session budget."
            )
        registered = status.privacy_unit
        if registered is None:
            raise LedgerError(
                f"dataset {dataset!r} was registered without a privacy unit; record it once "
                f"with Ledger.set_privacy_unit({dataset!r}, unit) before releasing."
            )
        if _identity(registered) != _identity(self.unit.to_dict()):
            raise InvalidParameterError(
                f"dataset {dataset!r} protects the privacy unit {_show_unit(registered)}, but "
                f"this session releases under {_show_unit(self.unit.to_dict())}; releases "
                "under different units do not add up. Use the registered unit, or register "
                "another dataset (convert by group privacy explicitly if you must)."
            )

    @property
    def schema(self) -> Any:
        """The schema (column names and types, never a row) of the table this session reads;
        a CSV file's columns are all text (:mod:`ethica.data._private_sources`)."""
        return self._table.schema()

    @property
    def spent(self) -> Budget:
        """Budget spent in this session."""
        return self._spent

    @property
    def remaining(self) -> Budget:
        """Budget left in this session (the ledger may hold less)."""
        return self.budget - self._spent

    def evaluate(
        self,
        query: Query,
        budget: Budget,
        *,
        request_id: str | None = None,
        complete: bool = True,
        bounding_share: Fraction | None = None,
    ) -> Release:
        """Release ``query`` spending ``budget``; the charge is reserved before any data is read.

        Parameters
        ----------
        query, budget
            What to release and what it may cost.
        request_id
            Makes a retry safe (needs a ledger): a request id already recorded on this
            dataset, with the same query and cost, returns the stored release and draws no
            new noise; another query or cost under the same id is refused.
        complete
            ``False`` leaves the ledger's charge ``charged`` until :meth:`complete` (or
            :meth:`fail`) is called: for callers that must write the outputs first.
        bounding_share
            Off by default. A fraction in (0, 1) of ``budget`` spent on a DP *bounding report*
            (what contribution caps and clamping did: the users who lost rows to the caps, and
            per measure the kept values below and above its bounds), computed in the release's
            own engine queries; each table's ``notes`` carries it with exact intervals. The
            queries share the rest, so the charge is still exactly ``budget``. Refused (free)
            when there is nothing to report (counts under ``Rows()``).

        Raises
        ------
        BudgetExceededError
            ``budget`` exceeds what remains in the session or in the ledger; nothing was read,
            released or charged.
        InvalidParameterError, SchemaError
            The query does not fit the schema, the unit or the budget (checked for free).
        ReleaseFailedError
            The release failed after the charge; the charge stands and the message is generic.
        """
        if not isinstance(budget, Budget) or type(budget) is not type(self.budget):
            raise InvalidParameterError(
                f"this session spends {type(self.budget).__name__} budgets, got {budget!r}; "
                f"pass a {type(self.budget).__name__}."
            )
        if request_id is not None and self.ledger is None:
            raise InvalidParameterError(
                "request_id needs a ledger to remember requests; pass ledger=Ledger(...)."
            )
        parts = _parts(query, budget)
        report_budget: Budget | None = None
        if bounding_share is not None:
            fraction = bounding_fraction(bounding_share)
            if bounding_mechanisms(parts, self.unit) == 0:
                raise InvalidParameterError(
                    f"bounding_share={bounding_share} asks for a bounding report, but "
                    f"{query.describe()!r} under {_show_unit(self.unit.to_dict())} neither caps "
                    "users nor clamps values: there is nothing to report. Drop bounding_share."
                )
            parts = _parts(query, share(budget, 1 - fraction))
            report_budget = share(budget, fraction)
        _check_delta(parts)
        table = self._table
        if self._text_csv:  # a CSV read as text: its numbers are parsed in the engine
            table = parse_numbers(table, numeric_columns(p.query for p in parts))
        check_parts(
            table, parts, self.unit, confidence=self.confidence, bounding_budget=report_budget
        )
        extra = "" if report_budget is None else f"|bounding_share={fraction}"
        record = self._reserve(query, budget, request_id, extra)
        if record is not None and record.replayed:
            return _stored_release(record)

        def release_and_record() -> Release:
            tables = evaluate_parts(
                table, parts, self.unit, self.confidence, bounding_budget=report_budget
            )
            release = Release(
                tables=tuple(tables),
                budget=budget,
                confidence=self.confidence,
                privacy_unit=self.unit,
                source=self.source_description,
            )
            if record is not None:
                assert self.ledger is not None
                if complete:
                    self.ledger.complete(record.id, release.to_dict(), store=True)
                else:
                    self.ledger.keep_output(record.id, release.to_dict())
                    self._pending[id(release)] = (release, record.id)
            return release

        def mark_failed() -> None:
            if record is not None:
                assert self.ledger is not None
                self.ledger.fail(record.id, "release failed after the charge")

        return after_charge(release_and_record, on_failure=mark_failed, message=_FAILED)

    def _reserve(
        self, query: Query, budget: Budget, request_id: str | None, extra: str = ""
    ) -> ChargeRecord | None:
        """Check the session's cap and charge the ledger, under one lock (threads) and the
        ledger's write lock (processes)."""
        with self._lock:
            if self.ledger is not None and request_id is not None and self._seen(request_id):
                return self._charge(query, budget, request_id, extra)  # replayed: spends nothing
            self._check_cap(budget, query.describe())
            record = None
            if self.ledger is not None:
                record = self._charge(query, budget, request_id, extra)
                if record.replayed:  # another process recorded this id meanwhile
                    return record
            self._spent = self._spent + budget
        return record

    def _seen(self, request_id: str) -> bool:
        assert self.ledger is not None and self.dataset is not None
        return self.ledger.find_request(self.dataset, request_id) is not None

    def _source_identity(self) -> str:
        """What the session reads, for replay checks: a path or URL as given; an Ibis table
        as its SQL (so a filter makes another source); a data frame by its columns' schema."""
        if self._identity is None:
            source, table = self._source, self._table
            key = expression_key(source)
            if key is not None:  # an Ibis table compiles to SQL: each shape once per scope
                self._identity = scoped_memo(
                    ("source identity", key, expression_key(table)),
                    lambda: source_identity(source, table),
                )
            else:
                self._identity = source_identity(source, table)
        return self._identity

    def _charge(
        self, query: Query, budget: Budget, request_id: str | None, extra: str = ""
    ) -> ChargeRecord:
        assert self.ledger is not None and self.dataset is not None
        return self.ledger.record_charge(
            self.dataset,
            budget,
            query.describe(),
            request_id=request_id,
            fingerprint=_fingerprint(query, self.unit, self._source_identity() + extra),
        )

    def _check_cap(self, budget: Budget, what: str) -> None:
        remaining = self.remaining
        if not budget <= remaining:
            raise BudgetExceededError(
                f"{what!r} asks for {budget} but this session has only {remaining} left (its "
                f"cap is {self.budget}); nothing was read, released or charged. Spend less "
                "(more noise) or release less.",
                requested=budget,
                remaining=remaining,
            )

    def complete(self, release: Release) -> None:
        """Mark the ledger charge of a release evaluated with ``complete=False`` released."""
        release, charge_id = self._pop_pending(release)
        assert self.ledger is not None
        self.ledger.complete(charge_id, release.to_dict(), store=True)

    def fail(self, release: Release, reason: str) -> None:
        """Mark the ledger charge of a release evaluated with ``complete=False`` failed (the
        budget stays spent; the noisy output stays stored in the ledger)."""
        _, charge_id = self._pop_pending(release)
        assert self.ledger is not None
        self.ledger.fail(charge_id, reason)

    def _pop_pending(self, release: Release) -> tuple[Release, int]:
        try:
            return self._pending.pop(id(release))
        except KeyError:
            raise InvalidParameterError(
                "this release has no pending charge in this session; only a release from "
                "evaluate(..., complete=False) with a ledger is completed, and only once."
            ) from None

    def describe(self) -> dict[str, Any]:
        """The session's unit, budget and spending, JSON-ready."""
        return {
            "privacy_unit": self.unit.to_dict(),
            "budget": self.budget.to_dict(),
            "spent": self._spent.to_dict(),
        }


def bounding_fraction(value: object) -> Fraction:
    """``bounding_share`` as an exact fraction in (0, 1) (a float is its exact binary value)."""
    finite = not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, int | float | Fraction) and not isinstance(value, bool) and finite:
        fraction = Fraction(value)
        if 0 < fraction < 1:
            return fraction
    raise InvalidParameterError(
        f"bounding_share must be a fraction strictly between 0 and 1, got {value!r}; e.g. "
        "bounding_share=Fraction(1, 10) spends a tenth of the budget on the bounding report."
    )


def _check_delta(parts: list[Part]) -> None:
    """Private keys need partition selection, hence a delta: refused before any charge."""
    for part in parts:
        if getattr(part.query, "private_keys", False) and not isinstance(part.budget, ApproxDP):
            raise InvalidParameterError(
                f"{part.query.describe()} has private keys (by={list(part.query.by)} "
                "without keys=), which needs DP partition selection and so a delta: use an "
                "ApproxDP(epsilon, delta) budget, or give the public key set with keys=."
            )


def _fingerprint(query: Query, unit: PrivacyUnit, source: str) -> str:
    """What a request releases, for replay checks: the query spec, the unit, the source."""
    text = f"{query!r}|{unit.to_dict()!r}|{source}"
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_release(record: ChargeRecord) -> Release:
    if record.status == "released" and isinstance(record.output, dict):
        return release_from_dict(record.output)
    raise LedgerError(
        f"request {record.request_id!r} was charged before (charge {record.id}, status "
        f"{record.status!r}) and has no stored release; it is never run twice, so its budget "
        "stays spent. Send a new request id to release again."
    )


def _identity(unit: dict[str, Any]) -> tuple[object, object]:
    """What makes two units the same privacy unit: the kind and the user column (the
    contribution bounds are how a release achieves it, not what it protects)."""
    return unit.get("kind"), unit.get("column")


def _show_unit(unit: dict[str, Any]) -> str:
    return "rows" if unit.get("kind") == "rows" else f"users in column {unit.get('column')!r}"


def _unit(value: object) -> PrivacyUnit:
    if value == "rows":
        return Rows()
    if isinstance(value, Rows | UserLevel):
        return value
    raise InvalidParameterError(
        f"privacy_unit must be 'rows', Rows() or UserLevel(column, ...), got {value!r}."
    )
