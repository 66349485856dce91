"""The streams' state: a sidecar SQLite file next to the ledger, one transaction per bucket.

``<ledger>.streams.sqlite3`` holds, per stream: its spec; per bucket, the bounded exact
values of every key (``x``, needed by later measurements: **as private as the data itself**,
keep the file where the data is kept, never with the releases); the noisy measurements
(``m = R x + z``, whose noise must never be redrawn); and the bucket's release as JSON.

A bucket's exact values, measurements and release are written in one ``BEGIN IMMEDIATE``
transaction (WAL, ``synchronous=FULL``) with ``UNIQUE (stream, day)``: a process killed
before the commit leaves no trace of the bucket (nothing of it was shown), one killed after
leaves all of it, and a bucket is never committed twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import LedgerError

__all__ = ["StreamStore", "sidecar_path"]

_APP_ID = 0x45545332  # "ETS2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (name TEXT PRIMARY KEY, spec TEXT NOT NULL,
    charge_id INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exact (stream TEXT NOT NULL, day INTEGER NOT NULL,
    key INTEGER NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (stream, day, key));
CREATE TABLE IF NOT EXISTS measurements (stream TEXT NOT NULL, item INTEGER NOT NULL,
    key INTEGER NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (stream, item, key));
CREATE TABLE IF NOT EXISTS days (stream TEXT NOT NULL, day INTEGER NOT NULL, at TEXT NOT NULL,
    release TEXT NOT NULL, PRIMARY KEY (stream, day));
"""


def sidecar_path(ledger_path: Path) -> Path:
    """``<ledger>.streams.sqlite3`` beside the ledger file."""
    return ledger_path.with_name(ledger_path.name + ".streams.sqlite3")


class StreamStore:
    """The sidecar file (module docstring)."""

    def __init__(self, path: Path, timeout: float = 60.0) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._write() as conn:
                app = conn.execute("PRAGMA application_id").fetchone()[0]
                if app not in (0, _APP_ID):
                    raise LedgerError(
                        f"{path} is an SQLite file of another application; it was left "
                        "untouched. Move it, or use another ledger path."
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id={_APP_ID}")
        except sqlite3.DatabaseError as error:
            raise LedgerError(f"cannot open the stream state {path} ({error}).") from error

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def spec(self, name: str) -> tuple[dict[str, Any], int] | None:
        """The stored spec and horizon charge id of stream ``name``."""
        row = self._conn.execute(
            "SELECT spec, charge_id FROM streams WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (json.loads(row[0]), int(row[1]))

    def add_stream(self, name: str, spec: dict[str, Any], charge_id: int, now: str) -> None:
        """Register a stream (once)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO streams (name, spec, charge_id, created_at) VALUES (?,?,?,?)",
                (name, json.dumps(spec, sort_keys=True), charge_id, now),
            )

    def days_done(self, name: str) -> int:
        """Number of buckets released so far (they are released in order)."""
        row = self._conn.execute("SELECT count(*) FROM days WHERE stream = ?", (name,)).fetchone()
        return int(row[0])

    def release(self, name: str, day: int) -> dict[str, Any] | None:
        """The stored release of bucket ``day``."""
        row = self._conn.execute(
            "SELECT release FROM days WHERE stream = ? AND day = ?", (name, day)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def releases(self, name: str) -> list[dict[str, Any]]:
        """Every stored release, in bucket order."""
        rows = self._conn.execute(
            "SELECT release FROM days WHERE stream = ? ORDER BY day", (name,)
        ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def exact(self, name: str, days: int, keys: int) -> NDArray[np.int64]:
        """Bounded exact values, shape ``(days, keys)``."""
        out = np.zeros((days, keys), dtype=np.int64)
        for day, key, value in self._conn.execute(
            "SELECT day, key, value FROM exact WHERE stream = ? AND day < ?", (name, days)
        ):
            out[day, key] = value
        return out

    def measurements(self, name: str, items: int, keys: int) -> NDArray[Any]:
        """Noisy measurements, shape ``(items, keys)`` (rows not yet taken are 0); an object
        array of Python integers when one of them does not fit in int64."""
        rows = self._conn.execute(
            "SELECT item, key, value FROM measurements WHERE stream = ?", (name,)
        ).fetchall()
        big = any(isinstance(value, str) for _, _, value in rows)
        out = np.zeros((items, keys), dtype=object if big else np.int64)
        for item, key, value in rows:
            out[item, key] = _from_stored(value)
        return out

    def commit_day(
        self,
        name: str,
        day: int,
        at: str,
        exact: NDArray[np.int64],
        measured: dict[int, NDArray[Any]],
        release: dict[str, Any],
    ) -> bool:
        """Write one bucket atomically; ``False`` if it was already committed."""
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM days WHERE stream = ? AND day = ?", (name, day)
            ).fetchone():
                return False
            conn.executemany(
                "INSERT INTO exact (stream, day, key, value) VALUES (?,?,?,?)",
                [(name, day, k, int(v)) for k, v in enumerate(exact)],
            )
            conn.executemany(
                "INSERT INTO measurements (stream, item, key, value) VALUES (?,?,?,?)",
                [
                    (name, item, k, _to_stored(int(v)))
                    for item, values in measured.items()
                    for k, v in enumerate(values)
                ],
            )
            conn.execute(
                "INSERT INTO days (stream, day, at, release) VALUES (?,?,?,?)",
                (name, day, at, json.dumps(release, sort_keys=True, allow_nan=False)),
            )
        return True


_BIG = "i"
"""Prefix of a measurement stored as text: an integer beyond SQLite's 64-bit INTEGER (the
prefix keeps SQLite from converting the digits to a lossy REAL)."""


def _to_stored(value: int) -> int | str:
    return value if -(2**63) <= value < 2**63 else f"{_BIG}{value}"


def _from_stored(value: int | str) -> int:
    return int(value[len(_BIG) :]) if isinstance(value, str) else int(value)
