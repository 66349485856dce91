"""The service's own SQLite store: API keys (hashed) and the audit log of every request.

A key is ``secrets.token_urlsafe(32)`` (256 bits); only its SHA-256 is stored, so a copy of
the store does not give access. A presented key is hashed and looked up by that hash (an
indexed equality on a digest of the secret: no comparison whose time depends on how much of
the key was right). A key is shown once, when created, and can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ethica._exceptions import InvalidParameterError

__all__ = ["ApiKey", "Store", "hash_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    principal TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    principal TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT
);
"""


def hash_key(key: str) -> str:
    """SHA-256 hex digest of an API key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public record (never the secret)."""

    id: int
    principal: str
    prefix: str
    created_at: str
    revoked_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "principal": self.principal,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


class Store:
    """Keys and audit log in one SQLite file (thread-safe; WAL; safe across processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def create_key(self, principal: str) -> tuple[str, ApiKey]:
        """A new key for ``principal``: ``(secret, record)``; the secret is not stored."""
        if not isinstance(principal, str) or not principal:
            raise InvalidParameterError(f"a key needs a principal name, got {principal!r}.")
        secret = secrets.token_urlsafe(32)
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO api_keys (principal, key_hash, prefix, created_at) VALUES (?,?,?,?)",
                (principal, hash_key(secret), secret[:6], _now()),
            )
        key_id = cursor.lastrowid
        assert key_id is not None
        return secret, self._key(key_id)

    def _key(self, key_id: int) -> ApiKey:
        row = self._conn.execute(
            "SELECT id, principal, prefix, created_at, revoked_at FROM api_keys WHERE id = ?",
            (key_id,),
        ).fetchone()
        if row is None:
            raise InvalidParameterError(f"no API key with id {key_id}.")
        return ApiKey(*row)

    def revoke(self, key_id: int) -> ApiKey:
        """Revoke a key (permanently)."""
        with self._lock:
            self._key(key_id)
            self._conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                (_now(), key_id),
            )
            return self._key(key_id)

    def list_keys(self) -> list[ApiKey]:
        """Every key record, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, principal, prefix, created_at, revoked_at FROM api_keys ORDER BY id"
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def principal(self, key: str) -> str | None:
        """Who holds ``key`` (``None``: unknown or revoked)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT principal FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
                (hash_key(key),),
            ).fetchone()
        return None if row is None else str(row[0])

    def audit(
        self, principal: str | None, method: str, path: str, status: int, detail: str | None
    ) -> None:
        """Append one request to the audit log."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO audit (at, principal, method, path, status, detail) "
                "VALUES (?,?,?,?,?,?)",
                (_now(), principal, method, path, status, detail),
            )

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest audit entries, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT at, principal, method, path, status, detail FROM audit "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        names = ("at", "principal", "method", "path", "status", "detail")
        return [dict(zip(names, row, strict=True)) for row in rows]
