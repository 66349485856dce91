"""The privacy unit of a time series: one user's rows in any ``window`` consecutive buckets.

``UserWindow(column, window=28, bucket="day", max_keys=k, max_rows=m)`` protects, for every
user and every ``window`` consecutive time buckets, the presence or absence of *all* of that
user's rows in those buckets ("a user's rows in any 28 days", as in the mobility reports of
Aktay et al. 2020; this is ``w``-event privacy, Kellaris, Papadopoulos, Xiao & Papadias 2014,
with users as the unit). Neighbouring streams differ by adding or removing one user's rows in
one window; the windows *slide*, so two windows may overlap, and nothing is assumed disjoint.

Contributions are bounded per bucket in the engine (:mod:`ethica.data._time_bounding`): at
most ``max_keys`` keys per user per bucket, ``max_rows`` rows per (key, bucket). So one window
changes at most ``window * max_keys`` cells, by at most ``max_rows`` rows each; the mechanisms
derive their exact sensitivity from that (:func:`._strategies.strategy_sensitivity`).

What the guarantee says about longer spans: a user present for ``n`` windows' worth of buckets
is protected at ``ceil(n)`` times the window's budget (group privacy over disjoint windows for
pure DP; ``ceil(n)**2`` times ``rho`` for zCDP). The window is part of the unit's identity: a
ledger dataset registered for 28-day windows is never spent by a 7-day stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ethica._exceptions import InvalidParameterError

__all__ = ["BUCKETS", "UserWindow", "bucket_seconds"]

BUCKETS = {"hour": 3_600, "day": 86_400, "week": 604_800}


def bucket_seconds(bucket: str) -> int:
    """Length of a bucket in seconds."""
    try:
        return BUCKETS[bucket]
    except KeyError:
        raise InvalidParameterError(
            f"bucket must be one of {', '.join(BUCKETS)}; got {bucket!r}."
        ) from None


@dataclass(frozen=True)
class UserWindow:
    """User-level privacy over sliding windows of ``window`` buckets (module docstring).

    Parameters
    ----------
    column
        The user-id column.
    window
        Buckets per window (``28`` with ``bucket="day"``: any 28 consecutive days).
    bucket
        ``"hour"``, ``"day"`` or ``"week"``.
    max_keys
        At most this many keys per user per bucket.
    max_rows
        At most this many rows per user per (key, bucket).
    nulls
        ``"drop"`` rows without a user id (default) or ``"error"`` (refused from the type).
    max_buckets
        Batch series only (:func:`~ethica.privacy.stream.release_series`): at most this many
        buckets' worth of cells (``max_buckets * max_keys`` (bucket, key) cells) per user per
        *block* of ``window`` buckets, instead of bounding each bucket on its own (``None``).
        A stream appended one bucket at a time always bounds each bucket.
    """

    column: str
    window: int = 28
    bucket: str = "day"
    max_keys: int = 1
    max_rows: int = 1
    nulls: Literal["error", "drop"] = "drop"
    max_buckets: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise InvalidParameterError(
                f"UserWindow needs the user-id column name, got {self.column!r}."
            )
        bucket_seconds(self.bucket)
        for name in ("window", "max_keys", "max_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"{name} must be an integer >= 1, got {value!r}; e.g. {name}=1."
                )
        mb = self.max_buckets
        if mb is not None and (isinstance(mb, bool) or not isinstance(mb, int) or mb < 1):
            raise InvalidParameterError(
                f"max_buckets must be an integer >= 1 or None, got {mb!r}; e.g. max_buckets=3."
            )
        if self.nulls not in ("error", "drop"):
            raise InvalidParameterError(f"nulls must be 'error' or 'drop', got {self.nulls!r}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (``kind = "user-window"``)."""
        return {
            "kind": "user-window",
            "column": self.column,
            "window": self.window,
            "bucket": self.bucket,
            "max_keys": self.max_keys,
            "max_rows": self.max_rows,
            "nulls": self.nulls,
        } | ({"max_buckets": self.max_buckets} if self.max_buckets is not None else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserWindow:
        """Inverse of :meth:`to_dict`."""
        if data.get("kind") != "user-window":
            raise InvalidParameterError(
                f"a stream needs a 'user-window' privacy unit, got {data!r}."
            )
        return cls(
            column=data["column"],
            window=data["window"],
            bucket=data["bucket"],
            max_keys=data.get("max_keys", 1),
            max_rows=data.get("max_rows", 1),
            nulls=data.get("nulls", "drop"),
            max_buckets=data.get("max_buckets"),
        )

    def identity(self) -> tuple[object, ...]:
        """What makes two units the same protection: kind, user column, window, bucket."""
        return ("user-window", self.column, self.window, self.bucket)

    def describe(self) -> str:
        """``a user's rows in any 28 consecutive days``."""
        plural = self.bucket + ("s" if self.window != 1 else "")
        return f"a user's rows (column {self.column!r}) in any {self.window} consecutive {plural}"
