"""Row filters of DP SQL as plain values: ``WHERE`` clauses that never reach an engine as text.

A filter is a tree of :class:`Compare`, :class:`InList`, :class:`Between`, :class:`IsNull`,
:class:`Not`, :class:`And` and :class:`Or` over declared columns and literal values. It is
applied to a table expression by operator overloading (:meth:`mask`), so the engine receives
an expression built by its own API (Ibis), never a string from the user.

A row-level filter keeps differential privacy: the mechanism runs on the filtered rows, and
adding or removing one person changes the filtered data by at most what it changes the full
data (a filter is a stable transformation with stability 1; McSherry 2009, PINQ, Sec. 2.2).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["And", "Between", "Compare", "InList", "IsNull", "Not", "Or", "Predicate"]

Literal = float | int | str

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Compare:
    """``column <op> value`` with ``op`` in ``= <> < <= > >=``."""

    column: str
    op: str
    value: Literal

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return _OPS[self.op](table[self.column], self.value)

    def sql(self) -> str:
        """Canonical text (for display and request fingerprints only)."""
        return f"{self.column} {self.op} {_show(self.value)}"


@dataclass(frozen=True)
class InList:
    """``column IN (v1, v2, ...)``."""

    column: str
    values: tuple[Literal, ...]

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return table[self.column].isin(list(self.values))

    def sql(self) -> str:
        """Canonical text."""
        return f"{self.column} IN ({', '.join(_show(v) for v in self.values)})"


@dataclass(frozen=True)
class Between:
    """``column BETWEEN low AND high`` (both ends included)."""

    column: str
    low: Literal
    high: Literal

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return table[self.column].between(self.low, self.high)

    def sql(self) -> str:
        """Canonical text."""
        return f"{self.column} BETWEEN {_show(self.low)} AND {_show(self.high)}"


@dataclass(frozen=True)
class IsNull:
    """``column IS NULL``."""

    column: str

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return table[self.column].isnull()

    def sql(self) -> str:
        """Canonical text."""
        return f"{self.column} IS NULL"


@dataclass(frozen=True)
class Not:
    """``NOT p``."""

    part: Predicate

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return ~self.part.mask(table)

    def sql(self) -> str:
        """Canonical text."""
        return f"NOT ({self.part.sql()})"


@dataclass(frozen=True)
class _Connective:
    """``p <word> q`` for a boolean connective (shared by :class:`And` and :class:`Or`)."""

    left: Predicate
    right: Predicate
    _word: ClassVar[str]
    _combine: ClassVar[Callable[[Any, Any], Any]]

    def mask(self, table: Any) -> Any:
        """The boolean column expression on ``table``."""
        return type(self)._combine(self.left.mask(table), self.right.mask(table))

    def sql(self) -> str:
        """Canonical text."""
        return f"({self.left.sql()}) {self._word} ({self.right.sql()})"


@dataclass(frozen=True)
class And(_Connective):
    """``p AND q``."""

    _word = "AND"
    _combine = operator.and_


@dataclass(frozen=True)
class Or(_Connective):
    """``p OR q``."""

    _word = "OR"
    _combine = operator.or_


Predicate = Compare | InList | Between | IsNull | Not | And | Or


def _show(value: Literal) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)
