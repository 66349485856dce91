"""A persistent privacy-budget ledger in SQLite that survives processes, crashes and races.

Model: a *dataset* has a total budget (one kind: PureDP, ZCDP or ApproxDP). Every release
is a *charge* against it, recorded with what was released (description), when (UTC), by
whom (principal: the OS user unless given), its exact cost, a SHA-256 hash of the output,
and a status ``charged -> released | failed``. Spent budget is the exact sum of *all*
charges, whatever their status: budget is never refunded, because a failed release may
still have leaked (its noise may have been computed, logged, or partially sent). A dataset
is registered explicitly (:meth:`Ledger.create_dataset`, ``ethica budget create``) with its
*privacy unit* (what one person's data is: rows, or a user's bounded contributions); nothing
here creates a budget on the fly, so a copy of the file or another name in a spec never
starts from a fresh budget by accident.

Proof obligations:

* Atomic check-and-spend: :meth:`Ledger.record_charge` runs ``BEGIN IMMEDIATE`` (the SQLite
  write lock), recomputes the spent total from the charges table, and inserts the charge only
  if ``spent + cost <= total``; concurrent processes are serialised by the lock, so the
  ledger never spends more than its total. A subclass adds its own cap in
  :meth:`Ledger._check_charge`, which runs inside the same transaction (one lock, one
  round trip). Spent totals are exact sums of every charge; each ledger keeps the sum it last
  read and adds only the charges recorded since (ids only grow and a charge's cost never
  changes), so a check costs the same after a million charges as after ten.
* Durability: WAL journal with ``synchronous=FULL``; a charge is committed *before*
  :meth:`Ledger.charge` yields, so killing the process at any later point cannot lose it,
  and killing it earlier leaves no trace.
* Replay safety: an optional ``request_id`` is scoped to its dataset. A request id seen
  before never charges or runs again: the same cost and query fingerprint get the stored
  record (and the stored output, if the release completed); another cost or fingerprint
  under the same id is refused (:class:`LedgerError`). Ids that begin with
  :data:`SYSTEM_PREFIX` belong to ethica's own records (a stream's horizon and buckets,
  recorded with ``system_id=``) and are refused as a caller's ``request_id``, so no other
  request can take one first and block the stream.
* Safety of foreign files: the file's SQLite ``application_id`` must be ethica's; an
  unknown, corrupt or non-SQLite file raises :class:`LedgerError` after a read-only check, and
  is never modified, reset or overwritten.

The path is the ``path`` argument, else ``$ETHICA_LEDGER``, else ``ledger.sqlite3`` in the
user data directory (platformdirs).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
    ReplayedRequestError,
)
from ethica._results import Result
from ethica.privacy.budget._budgets import Budget, budget_from_dict, zero_like

__all__ = [
    "SYSTEM_PREFIX",
    "ChargeRecord",
    "DatasetStatus",
    "Ledger",
    "default_ledger_path",
    "output_hash",
]

APPLICATION_ID = 0x45544831  # "ETH1"
SCHEMA_VERSION = 2
ENV_VAR = "ETHICA_LEDGER"
_FIX = f"set {ENV_VAR} or pass Ledger(path=...) to use another file"

_CHARGES = """
CREATE TABLE charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL REFERENCES datasets(name),
    cost TEXT NOT NULL,
    description TEXT NOT NULL,
    principal TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('charged', 'released', 'failed')),
    output_hash TEXT,
    completed_at TEXT,
    error TEXT,
    request_id TEXT,
    fingerprint TEXT,
    output TEXT,
    UNIQUE (dataset, request_id)
);
"""

_SCHEMA = (
    """
CREATE TABLE datasets (
    name TEXT PRIMARY KEY,
    total TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    privacy_unit TEXT
);
"""
    + _CHARGES
    + "CREATE INDEX charges_by_dataset ON charges(dataset);\n"
)

# Version 1 -> 2: request ids scoped to their dataset (a table rebuild: SQLite cannot drop a
# UNIQUE constraint), query fingerprints, stored outputs, and the dataset's privacy unit.
_MIGRATE_1_TO_2 = (
    """
ALTER TABLE datasets ADD COLUMN privacy_unit TEXT;
ALTER TABLE charges RENAME TO charges_v1;
DROP INDEX charges_by_dataset;
"""
    + _CHARGES
    + """
INSERT INTO charges (id, dataset, cost, description, principal, created_at, status,
    output_hash, completed_at, error, request_id)
    SELECT id, dataset, cost, description, principal, created_at, status, output_hash,
    completed_at, error, request_id FROM charges_v1;
DROP TABLE charges_v1;
CREATE INDEX charges_by_dataset ON charges(dataset);
"""
)


def default_ledger_path() -> Path:
    """``$ETHICA_LEDGER`` if set, else ``<user data dir>/ethica/ledger.sqlite3``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("ethica", appauthor=False)) / "ledger.sqlite3"


def output_hash(output: object) -> str:
    """SHA-256 of a released output (bytes, numpy array, or JSON-serialisable value)."""
    digest = hashlib.sha256()
    if isinstance(output, bytes):
        digest.update(output)
    elif isinstance(output, np.ndarray):
        digest.update(f"{output.dtype.str}{output.shape}".encode())
        digest.update(np.ascontiguousarray(output).tobytes())
    else:
        digest.update(json.dumps(output, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dump(budget: Budget) -> str:
    return json.dumps(budget.to_dict(), sort_keys=True)


def _load(text: str) -> Budget:
    data = json.loads(text)
    names = [n for n in ("epsilon", "rho", "delta") if n in data]
    if names and all(Fraction(data[n]) == 0 for n in names):
        # a charge of zero (a record that spends nothing, e.g. one bucket of a stream whose
        # horizon was charged up front): zero_like, since the typed budgets are > 0
        return zero_like(budget_from_dict({**data, **dict.fromkeys(names, "1/2")}))
    return budget_from_dict(data)


class _LedgerResult(Result):
    """A ledger row: ``to_frame`` flattens nested budgets into float columns."""

    def _rows(self) -> list[dict[str, Any]]:
        """One row; budgets become ``<field>.kind`` and ``<field>.<parameter>`` floats.

        Other nested documents (a stored release output) are left to :meth:`to_dict`.
        """
        flat: dict[str, Any] = {}
        for key, value in self.to_dict().items():
            if isinstance(value, dict) and "kind" in value:
                flat[f"{key}.kind"] = value["kind"]
                flat.update(
                    {f"{key}.{k[:-6]}": v for k, v in value.items() if k.endswith("_float")}
                )
            elif key != "schema_version" and not isinstance(value, dict | list):
                flat[key] = value
        return [flat]

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False))


@dataclass(frozen=True)
class ChargeRecord(_LedgerResult):
    """One row of a dataset's history."""

    id: int
    dataset: str
    cost: Budget
    description: str
    principal: str
    created_at: str
    status: str
    output_hash: str | None
    completed_at: str | None
    error: str | None
    request_id: str | None
    fingerprint: str | None = None
    output: Any = field(default=None, compare=False, repr=False)
    replayed: bool = field(default=False, compare=False)

    _not_serialised = ("replayed",)  # costs become exact "p/q" strings


@dataclass(frozen=True)
class DatasetStatus(_LedgerResult):
    """A dataset's total, spent and remaining budget."""

    name: str
    total: Budget
    spent: Budget
    remaining: Budget
    charges: int
    created_at: str
    created_by: str
    privacy_unit: dict[str, Any] | None = None


class ChargeHandle:
    """Yielded by :meth:`Ledger.charge`; call :meth:`set_output` with what you release."""

    def __init__(self, record: ChargeRecord) -> None:
        self.record = record
        self.output_hash: str | None = None

    def set_output(self, output: object) -> None:
        """Remember the released output; its SHA-256 is stored when the block ends."""
        self.output_hash = output_hash(output)


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _writers_lock(path: Path) -> threading.RLock:
    """One lock per ledger file in this process, held around each write transaction.

    Ledgers of one process on the same file (the DP query service keeps one per analyst)
    would otherwise meet only at SQLite's write lock, whose busy handler sleeps and retries
    (up to 100 ms a time): under 32 concurrent releases the file was idle most of the time
    while writers slept. Queued on this lock, they take turns at once; other processes still
    wait at SQLite's lock (``timeout``).
    """
    key = os.path.realpath(path)
    with _WRITERS_GUARD:
        lock = _WRITERS.get(key)
        if lock is None:
            lock = _WRITERS[key] = threading.RLock()
        return lock


class Ledger:
    """The persistent budget ledger (see the module docstring for its guarantees).

    Parameters
    ----------
    path
        SQLite file; default from ``$ETHICA_LEDGER`` or the user data directory.
    principal
        Who charges (recorded with each charge); default the OS user name.
    timeout
        Seconds to wait for another process's write lock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        principal: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        explicit = path is not None or bool(os.environ.get(ENV_VAR))
        self.path = Path(path) if path is not None else default_ledger_path()
        self.principal = principal or _os_user()
        self._timeout = timeout
        if self.path.exists() and self.path.stat().st_size > 0:
            self._check_foreign()
        elif not explicit:
            self._make_parent()
        self._lock = threading.RLock()
        self._writers = _writers_lock(self.path)
        self._conn = self._connect()
        # (dataset, principal) -> (largest charge id summed, exact sum, charges): _spent_in
        self._sums: dict[tuple[str, str | None], tuple[int, Budget, int]] = {}

    # ----------------------------------------------------------------- opening
    def _make_parent(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LedgerError(
                f"cannot create the ledger directory {self.path.parent} ({error.strerror}); {_FIX}."
            ) from error

    def _check_foreign(self) -> None:
        """Read-only check that an existing file is an ethica ledger; never writes to it."""
        if self.path.is_dir():
            raise LedgerError(f"ledger path {self.path} is a directory; {_FIX}.")
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError as error:
            raise LedgerError(
                f"{self.path} is not a readable ethica ledger ({error}); it was left untouched. "
                f"Restore it from a backup, or {_FIX}."
            ) from error
        if app_id != APPLICATION_ID:
            raise LedgerError(
                f"{self.path} is an SQLite file of another application (application_id "
                f"{app_id:#x}, expected {APPLICATION_ID:#x}); it was left untouched. {_FIX}."
            )
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} has ledger schema version {version}, newer than this ethica "
                f"({SCHEMA_VERSION}); upgrade ethica."
            )

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                if app_id == 0:
                    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                    if tables:
                        raise LedgerError(
                            f"{self.path} is an SQLite file of another application; "
                            f"it was left untouched. {_FIX}."
                        )
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                elif conn.execute("PRAGMA user_version").fetchone()[0] == 1:
                    for statement in _MIGRATE_1_TO_2.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            raise LedgerError(
                f"cannot write the ledger at {self.path} ({error}): the path is read-only or "
                f"its directory does not exist; {_FIX} in a writable directory."
            ) from error
        except sqlite3.DatabaseError as error:
            raise LedgerError(
                f"{self.path} is not a readable ethica ledger ({error}); {_FIX}."
            ) from error
        return conn

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- transactions
    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by one thread at a time (a Ledger may be shared by threads)."""
        with self._lock:
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction under the thread lock, the process's lock on the file (its
        other ledgers, :func:`_writers_lock`) and SQLite's write lock (processes)."""
        with self._lock:
            if not self._writers.acquire(timeout=self._timeout):
                raise LedgerError(
                    f"cannot lock the ledger at {self.path} for writing (another thread held "
                    f"it for {self._timeout:g} s); {_FIX}."
                )
            try:
                with self._transaction() as conn:
                    yield conn
            finally:
                self._writers.release()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise LedgerError(
                f"cannot lock the ledger at {self.path} for writing ({error}); {_FIX}."
            ) from error
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._conn.execute("ROLLBACK")
            raise LedgerError(f"cannot commit to the ledger at {self.path} ({error}).") from error

    # ------------------------------------------------------------------ datasets
    def create_dataset(
        self, name: str, total: Budget, *, privacy_unit: object = None
    ) -> DatasetStatus:
        """Register ``name`` with a total budget and the privacy unit it protects.

        ``privacy_unit`` is a ``Rows()`` / ``UserLevel(...)`` object (or its ``to_dict()``);
        a :class:`~ethica.privacy.Session` refuses a dataset registered without one, or with
        another. An existing name raises :class:`LedgerError`: a budget is never reset.
        """
        _check_name(name)
        if not isinstance(total, Budget):
            raise InvalidParameterError(
                f"total must be a PureDP, ZCDP or ApproxDP budget, got {total!r}."
            )
        unit = None if privacy_unit is None else _unit_text(privacy_unit)
        with self._write() as conn:
            if _row(conn, name) is not None:
                raise LedgerError(
                    f"dataset {name!r} already exists in {self.path}; its budget cannot be "
                    "reset. Choose another name."
                )
            conn.execute(
                "INSERT INTO datasets (name, total, created_at, created_by, privacy_unit) "
                "VALUES (?,?,?,?,?)",
                (name, _dump(total), _now(), self.principal, unit),
            )
        return self.status(name)

    def set_privacy_unit(self, name: str, privacy_unit: object) -> DatasetStatus:
        """Record the privacy unit of a dataset registered without one (once; never changed).

        For ledgers written before units were stored: a unit, once recorded, is permanent,
        because releases under different units do not add up.
        """
        unit = _unit_text(privacy_unit)
        with self._write() as conn:
            stored = self._dataset_row(conn, name)[4]
            if stored is not None and stored != unit:
                raise LedgerError(
                    f"dataset {name!r} already protects the privacy unit {stored}; a unit is "
                    "never changed. Register a new dataset for another unit."
                )
            conn.execute("UPDATE datasets SET privacy_unit = ? WHERE name = ?", (unit, name))
        return self.status(name)

    def _dataset_row(self, conn: sqlite3.Connection, name: str) -> _DatasetRow:
        row = _row(conn, name)
        if row is None:
            raise LedgerError(
                f"no dataset {name!r} in the ledger {self.path}; register it first with "
                f"Ledger.create_dataset({name!r}, total)."
            )
        return row

    def has_dataset(self, name: str) -> bool:
        """Whether ``name`` is registered in the ledger."""
        with self._read() as conn:
            return _row(conn, name) is not None

    def status(self, name: str) -> DatasetStatus:
        """Total, spent and remaining budget of one dataset."""
        with self._read() as conn:
            row = self._dataset_row(conn, name)
            total = _load(row[1])
            spent = self._spent_in(conn, name, total)
            count = self._sums[(name, None)][2]  # counted by _spent_in, incrementally
        unit = None if row[4] is None else json.loads(row[4])
        return DatasetStatus(name, total, spent, total - spent, count, row[2], row[3], unit)

    def spent(self, name: str, *, principal: str | None = None) -> Budget:
        """Exact sum of the charges on ``name`` (any status), or of one ``principal``'s."""
        with self._read() as conn:
            total = _load(self._dataset_row(conn, name)[1])
            return self._spent_in(conn, name, total, principal)

    def _spent_in(
        self, conn: sqlite3.Connection, name: str, total: Budget, principal: str | None = None
    ) -> Budget:
        """Exact sum of every charge on ``name`` (any status: spent budget is never refunded),
        or of ``principal``'s charges only, read on ``conn`` under this ledger's lock.

        Incremental: the sum last read (and how many charges it adds up, for
        :meth:`status`) is kept with the largest charge id in it, and only
        charges with a larger id are read and added. Exact, because ids only grow (SQLite's
        ``AUTOINCREMENT``, assigned under the write lock, so a charge committed later always
        has a larger id than every charge visible before), a charge's cost is never updated,
        and no charge is ever deleted.
        """
        key = (name, principal)
        last, spent, count = self._sums.get(key, (0, zero_like(total), 0))
        query, values = "SELECT id, cost FROM charges WHERE dataset = ? AND id > ?", [name, last]
        if principal is not None:
            query, values = query + " AND principal = ?", [*values, principal]
        for charge_id, text in conn.execute(query + " ORDER BY id", values):
            spent, last, count = spent + _load(text), charge_id, count + 1
        self._sums[key] = (last, spent, count)
        return spent

    def _check_charge(
        self,
        conn: sqlite3.Connection,
        dataset: str,
        cost: Budget,
        description: str,
        principal: str,
        total: Budget,
    ) -> None:
        """A subclass's own check of a new charge, inside :meth:`record_charge`'s write
        transaction (after the replay check, before the dataset's total is checked).

        Raise to refuse the charge (nothing is recorded); read spent totals with
        :meth:`_spent_in` on ``conn``. The SQLite write lock is held, so nothing read here can
        change before the charge is inserted, in any thread or process. The base ledger adds
        no check.
        """

    def datasets(self) -> list[DatasetStatus]:
        """Status of every dataset, by name."""
        with self._read() as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM datasets ORDER BY name")]
        return [self.status(n) for n in names]

    def history(self, name: str) -> list[ChargeRecord]:
        """Every charge against ``name``, oldest first."""
        self.status(name)
        with self._read() as conn:
            return _charges(conn, "dataset = ? ORDER BY id", (name,))

    # ------------------------------------------------------------------- charges
    def find_request(
        self, dataset: str, request_id: str, *, system: bool = False
    ) -> ChargeRecord | None:
        """The charge recorded on ``dataset`` under ``request_id`` (an ethica record's
        ``system_id`` with ``system=True``), if any."""
        rid = SYSTEM_PREFIX + request_id if system else request_id
        with self._read() as conn:
            found = _charges(conn, "dataset = ? AND request_id = ?", (dataset, rid))
        return found[0] if found else None

    def record_charge(
        self,
        dataset: str,
        cost: Budget,
        description: str,
        *,
        principal: str | None = None,
        request_id: str | None = None,
        fingerprint: str | None = None,
        system_id: str | None = None,
    ) -> ChargeRecord:
        """Phase one: atomically check the remaining budget and record the charge as spent.

        Raises :class:`BudgetExceededError` (with ``.requested`` and ``.remaining``) and
        records nothing when ``cost`` exceeds what remains. With a ``request_id`` already
        recorded on ``dataset`` for the same ``cost`` and ``fingerprint`` (what is released,
        e.g. a hash of the query), returns that charge (``replayed=True``, its stored output
        in ``.output``) and spends nothing more: the caller must not release again. The same
        id with another cost or fingerprint raises :class:`LedgerError`. ``system_id`` is the
        request id of one of ethica's own records, kept under :data:`SYSTEM_PREFIX` (a
        caller's ``request_id`` may not begin with it).
        """
        request_id = _request_id(request_id, system_id)
        if not description or not isinstance(description, str):
            raise InvalidParameterError(
                f"description must say what is released, got {description!r}."
            )
        if not isinstance(cost, Budget):
            raise InvalidParameterError(
                f"cost must be a PureDP, ZCDP or ApproxDP budget, got {cost!r}."
            )
        with self._write() as conn:
            total = _load(self._dataset_row(conn, dataset)[1])
            if type(cost) is not type(total):
                raise InvalidParameterError(
                    f"dataset {dataset!r} holds a {type(total).__name__} budget ({total}); "
                    f"a {type(cost).__name__} charge ({cost}) cannot be taken from it. Spend "
                    f"a {type(total).__name__}, or convert explicitly (ethica.privacy."
                    "pure_to_zcdp, zcdp_to_approx, ...)."
                )
            who = principal or self.principal
            if request_id is not None:
                existing = _charges(conn, "dataset = ? AND request_id = ?", (dataset, request_id))
                if existing:
                    return _replayed(existing[0], cost, fingerprint, who, self.path)
            self._check_charge(conn, dataset, cost, description, who, total)
            remaining = total - self._spent_in(conn, dataset, total)
            if not cost <= remaining:
                raise BudgetExceededError(
                    f"charge {cost} for {description!r} exceeds the budget left on "
                    f"{dataset!r}: {remaining} of {total}; nothing was released. Spend less "
                    "(larger noise) or release less.",
                    requested=cost,
                    remaining=remaining,
                )
            cursor = conn.execute(
                "INSERT INTO charges (dataset, cost, description, principal, created_at, status,"
                " request_id, fingerprint) VALUES (?,?,?,?,?, 'charged', ?, ?)",
                (
                    dataset,
                    _dump(cost),
                    description,
                    who,
                    _now(),
                    request_id,
                    fingerprint,
                ),
            )
            (record,) = _charges(conn, "id = ?", (cursor.lastrowid,))
        return record

    def complete(
        self,
        charge_id: int,
        output: object = None,
        *,
        digest: str | None = None,
        store: bool = False,
    ) -> None:
        """Phase two (success): mark a charge released, storing the output's SHA-256.

        With ``store=True`` the (JSON-serialisable) output itself is kept too, so that a
        replayed request gets it back and a release whose files could not be written stays
        recoverable (:meth:`history`).
        """
        value = digest if digest is not None else (None if output is None else output_hash(output))
        kept = _json_output(output) if store else None
        self._finish(charge_id, "released", value, None, kept)

    def keep_output(self, charge_id: int, output: object) -> None:
        """Store a charge's noisy output before it is complete (e.g. before files are written),
        so that nothing already paid for can be lost."""
        with self._write() as conn:
            conn.execute(
                "UPDATE charges SET output = ?, output_hash = ? WHERE id = ?",
                (_json_output(output), output_hash(output), charge_id),
            )

    def fail(self, charge_id: int, error: str) -> None:
        """Phase two (failure): mark a charge failed. Its budget stays spent."""
        self._finish(charge_id, "failed", None, error, None)

    def _finish(
        self,
        charge_id: int,
        status: str,
        digest: str | None,
        error: str | None,
        output: str | None,
    ) -> None:
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE charges SET status = ?, output_hash = coalesce(?, output_hash), "
                "error = ?, completed_at = ?, output = coalesce(?, output) "
                "WHERE id = ? AND status = 'charged'",
                (status, digest, error, _now(), output, charge_id),
            ).rowcount
            if updated != 1:
                raise LedgerError(
                    f"charge {charge_id} is not pending in {self.path} (unknown or already "
                    "completed); each charge completes once."
                )

    @contextmanager
    def charge(
        self,
        dataset: str,
        cost: Budget,
        description: str,
        *,
        principal: str | None = None,
        request_id: str | None = None,
    ) -> Iterator[ChargeHandle]:
        """Spend ``cost`` on ``dataset``, then run the release inside the ``with`` block.

        The charge is committed before the block runs. If the block raises, the charge is
        marked ``failed`` (budget still spent) and the error propagates; otherwise it is
        marked ``released`` with the hash given to :meth:`ChargeHandle.set_output`. A
        ``request_id`` already recorded never runs the block again: it raises
        :class:`ReplayedRequestError`, whose ``.record`` holds the stored outcome.

        Examples
        --------
        >>> with ledger.charge("adult", PureDP(1), "count of rows") as c:  # doctest: +SKIP
        ...     noisy = n + discrete_laplace(1, 1)[0]
        ...     c.set_output(noisy)
        """
        record = self.record_charge(
            dataset, cost, description, principal=principal, request_id=request_id
        )
        if record.replayed:
            raise ReplayedRequestError(
                f"request {request_id!r} on {dataset!r} was already charged (charge "
                f"{record.id}, {record.status}); it is not run again. Its stored outcome is "
                "in this error's .record.",
                record=record,
            )
        handle = ChargeHandle(record)
        try:
            yield handle
        except BaseException as error:
            self.fail(record.id, type(error).__name__)
            raise
        self.complete(record.id, digest=handle.output_hash)


SYSTEM_PREFIX = "ethica:"
"""The request ids of ethica's own records (``system_id``); refused as a caller's id."""


def _request_id(request_id: str | None, system_id: str | None) -> str | None:
    """The stored id: a caller's ``request_id`` (never in ethica's namespace) or ethica's
    ``system_id`` under :data:`SYSTEM_PREFIX`."""
    if request_id is not None and system_id is not None:
        raise InvalidParameterError("pass request_id or system_id, not both.")
    if system_id is not None:
        return SYSTEM_PREFIX + system_id
    if request_id is not None and request_id.startswith(SYSTEM_PREFIX):
        raise InvalidParameterError(
            f"request id {request_id!r} begins with {SYSTEM_PREFIX!r}, which is reserved for "
            "ethica's own records (a stream's buckets); choose another id. Nothing was charged."
        )
    return request_id


_COLUMNS = (
    "id, dataset, cost, description, principal, created_at, status, output_hash, "
    "completed_at, error, request_id, fingerprint, output"
)

_DatasetRow = tuple[str, str, str, str, str | None]


def _unit_text(unit: object) -> str:
    """A privacy unit (object with ``to_dict`` or a dict) as canonical JSON text."""
    data = unit.to_dict() if hasattr(unit, "to_dict") else unit
    if not isinstance(data, dict) or "kind" not in data:
        raise InvalidParameterError(
            f"privacy_unit must be Rows(), UserLevel(...) or its to_dict(), got {unit!r}."
        )
    return json.dumps(data, sort_keys=True)


def _json_output(output: object) -> str | None:
    try:
        return json.dumps(output, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None


def _replayed(
    record: ChargeRecord, cost: Budget, fingerprint: str | None, principal: str, path: Path
) -> ChargeRecord:
    """The stored charge for a replayed request id, if the request is the same one by the same
    principal (another principal's stored output is never returned, nor described)."""
    if record.principal != principal:
        raise LedgerError(
            f"request id {record.request_id!r} on {record.dataset!r} is taken by another "
            f"principal's request; use a new id. (ledger {path})"
        )
    if record.cost != cost or record.fingerprint != fingerprint:
        raise LedgerError(
            f"request id {record.request_id!r} was used on {record.dataset!r} for another "
            f"request (charge {record.id}: {record.cost}, {record.description!r}); a request "
            f"id names one request. Use a new id. (ledger {path})"
        )
    return replace(record, replayed=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"dataset name must be a non-empty string, got {name!r}.")


def _row(conn: sqlite3.Connection, name: str) -> _DatasetRow | None:
    row = conn.execute(
        "SELECT name, total, created_at, created_by, privacy_unit FROM datasets WHERE name = ?",
        (name,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def _charges(
    conn: sqlite3.Connection, where: str, values: tuple[object, ...]
) -> list[ChargeRecord]:
    """The charges matching ``WHERE {where}`` with bound ``values``."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM charges WHERE {where}", values).fetchall()
    return [_record(row) for row in rows]


def _record(row: tuple[Any, ...]) -> ChargeRecord:
    return ChargeRecord(
        id=row[0],
        dataset=row[1],
        cost=_load(row[2]),
        description=row[3],
        principal=row[4],
        created_at=row[5],
        status=row[6],
        output_hash=row[7],
        completed_at=row[8],
        error=row[9],
        request_id=row[10],
        fingerprint=row[11],
        output=None if row[12] is None else json.loads(row[12]),
    )
