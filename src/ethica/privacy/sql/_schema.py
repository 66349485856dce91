"""Public metadata of a table that DP SQL may query: column types, bounds and key sets.

Everything here is *public*: declared by the custodian, never read from the data, so a query
can be checked and planned against it for free (privacy contract, step 1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ethica._exceptions import InvalidParameterError

__all__ = ["MAX_CELLS", "ColumnSpec", "TableSchema"]

MAX_CELLS = 10_000
"""Most cells a GROUP BY over public key sets may release (product of the key sets)."""

_TYPES = ("number", "text")


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column.

    Parameters
    ----------
    name
        Column name in the source.
    type
        ``"number"`` or ``"text"``.
    lower, upper
        Public clamping bounds of a numeric column (needed by SUM, AVG, VAR and quantiles).
    keys
        The public key set of a grouping column (GROUP BY releases exactly these cells).
    private_keys
        The column may be grouped on without a public key set: the released cells are chosen
        by DP partition selection, which needs a budget with a delta.
    """

    name: str
    type: str = "number"
    lower: float | None = None
    upper: float | None = None
    keys: tuple[Any, ...] | None = None
    private_keys: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise InvalidParameterError(
                f"column {self.name!r}: type must be one of {list(_TYPES)}, got {self.type!r}."
            )
        bounded = (self.lower is not None, self.upper is not None)
        if any(bounded) and not all(bounded):
            raise InvalidParameterError(
                f"column {self.name!r}: give both lower and upper public bounds, or neither."
            )
        if all(bounded):
            lo, hi = float(self.lower), float(self.upper)  # type: ignore[arg-type]
            if self.type != "number":
                raise InvalidParameterError(
                    f"column {self.name!r} is text; bounds apply to number columns only."
                )
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InvalidParameterError(
                    f"column {self.name!r}: bounds must be finite with lower < upper, got "
                    f"[{self.lower}, {self.upper}]."
                )
            object.__setattr__(self, "lower", lo)
            object.__setattr__(self, "upper", hi)
        if self.keys is not None:
            keys = tuple(self.keys)
            if not keys or len(set(keys)) != len(keys):
                raise InvalidParameterError(
                    f"column {self.name!r}: keys must be a non-empty list of distinct values, "
                    f"got {list(self.keys)}."
                )
            object.__setattr__(self, "keys", keys)

    @property
    def bounded(self) -> bool:
        """Whether public bounds are declared."""
        return self.lower is not None

    @property
    def groupable(self) -> bool:
        """Whether GROUP BY may use this column."""
        return self.keys is not None or self.private_keys

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready public metadata."""
        return {
            "name": self.name,
            "type": self.type,
            "lower": self.lower,
            "upper": self.upper,
            "keys": None if self.keys is None else list(self.keys),
            "private_keys": self.private_keys,
        }


@dataclass(frozen=True)
class TableSchema:
    """A queryable table: its name in SQL and its declared columns."""

    name: str
    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)

    @classmethod
    def from_specs(cls, name: str, columns: Sequence[ColumnSpec]) -> TableSchema:
        """Build from a list of column specs (names must be distinct)."""
        mapping = {c.name.lower(): c for c in columns}
        if len(mapping) != len(columns):
            raise InvalidParameterError(f"table {name!r} declares a column twice.")
        return cls(name, mapping)

    def column(self, name: str) -> ColumnSpec | None:
        """The declared column (case-insensitive), or ``None``."""
        return self.columns.get(name.lower())

    def key_product(self, by: Sequence[str]) -> tuple[tuple[Any, ...], ...] | None:
        """All public key tuples of ``by`` (``None`` if one column has private keys)."""
        sets = [self.columns[c.lower()].keys for c in by]
        if any(s is None for s in sets):
            return None
        return tuple(itertools.product(*[s for s in sets if s is not None]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready public metadata."""
        return {"name": self.name, "columns": [c.to_dict() for c in self.columns.values()]}
