"""Public domains of the columns a synthesizer models.

A differentially private synthesizer may not read a column's set of values from the data for
free: which values occur is itself private (a rare category names its only holder). So every
column's domain is *declared*: a categorical column lists its categories, a numeric column its
bin edges. Each column gets one more level, the last, for everything else: a value outside the
declared categories, below/above the edges' range is clamped into the end bins, and a missing
(NULL/NaN) value, so the encoding is total and one person changes exactly one cell of every
marginal (sensitivity 1 under the ``Rows`` unit). A domain is a JSON/YAML file::

    {"columns": {"age": {"bins": [17, 25, 35, 45, 55, 65, 91], "integer": true},
                 "sex": {"categories": ["Female", "Male"]}}}
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ethica._exceptions import InvalidParameterError

__all__ = ["OTHER", "Column", "Domain"]

OTHER = "(other)"
"""Label of each column's last level: undeclared, out-of-range-free or missing values."""


@dataclass(frozen=True)
class Column:
    """One column's public domain: ``categories`` (text) or bin ``edges`` (numeric).

    ``edges = (e_0 < e_1 < ... < e_m)`` make ``m`` bins ``[e_i, e_{i+1})``; a value below
    ``e_0`` falls in the first bin and one at or above ``e_m`` in the last. ``integer`` makes
    sampled values whole numbers.
    """

    name: str
    categories: tuple[str, ...] | None = None
    edges: tuple[float, ...] | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        if (self.categories is None) == (self.edges is None):
            raise InvalidParameterError(
                f"column {self.name!r} needs exactly one of categories or bins, got "
                f"categories={self.categories!r}, bins={self.edges!r}."
            )
        if self.categories is not None and (
            not self.categories or len(set(self.categories)) != len(self.categories)
        ):
            raise InvalidParameterError(
                f"column {self.name!r}: categories must be a non-empty list without "
                f"repeats, got {list(self.categories)!r}."
            )
        if self.edges is not None:
            ok = len(self.edges) >= 2 and all(math.isfinite(e) for e in self.edges)
            if not ok or any(a >= b for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise InvalidParameterError(
                    f"column {self.name!r}: bins must be at least two finite, strictly "
                    f"increasing edges, got {list(self.edges)!r}; e.g. [17, 30, 50, 91]."
                )

    @property
    def size(self) -> int:
        """Number of levels, the last one :data:`OTHER`."""
        if self.categories is not None:
            return len(self.categories) + 1
        assert self.edges is not None
        return len(self.edges)  # m = len(edges) - 1 bins, plus OTHER

    def labels(self) -> tuple[str, ...]:
        """Human-readable level labels, in index order."""
        if self.categories is not None:
            return (*self.categories, OTHER)
        assert self.edges is not None
        e = self.edges
        bins = [f"[{_fmt(a)}, {_fmt(b)})" for a, b in itertools.pairwise(e)]
        return (*bins, OTHER)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (as read by :meth:`Domain.from_dict`)."""
        if self.categories is not None:
            return {"categories": list(self.categories)}
        return {"bins": list(self.edges or ()), "integer": self.integer}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Domain:
    """The declared columns, in order."""

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if not names:
            raise InvalidParameterError("a domain needs at least one column.")
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"the domain repeats a column: {names}.")

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of levels per column."""
        return tuple(c.size for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise InvalidParameterError(
            f"column {name!r} is not in the domain {list(self.names)}; declare it."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"columns": {c.name: c.to_dict() for c in self.columns}}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Domain:
        """Read ``{"columns": {name: {"categories": [...]} | {"bins": [...]}}}``."""
        columns = spec.get("columns") if isinstance(spec, Mapping) else None
        if not isinstance(columns, Mapping) or not columns:
            raise InvalidParameterError(
                "a domain is {'columns': {name: {'categories': [...]} or {'bins': [...]}}}, "
                f"got {spec!r:.200}."
            )
        out = []
        for name, item in columns.items():
            if not isinstance(item, Mapping):
                raise InvalidParameterError(
                    f"column {name!r}: expected {{'categories': [...]}} or {{'bins': [...]}}, "
                    f"got {item!r:.100}."
                )
            unknown = set(item) - {"categories", "bins", "integer"}
            if unknown:
                raise InvalidParameterError(
                    f"column {name!r}: unknown keys {sorted(unknown)}; use categories, bins, "
                    "integer."
                )
            cats = item.get("categories")
            bins = item.get("bins")
            out.append(
                Column(
                    str(name),
                    categories=None if cats is None else tuple(str(v) for v in _seq(name, cats)),
                    edges=None
                    if bins is None
                    else tuple(_number(name, v) for v in _seq(name, bins)),
                    integer=bool(item.get("integer", False)),
                )
            )
        return cls(tuple(out))

    @classmethod
    def from_file(cls, path: str | Path) -> Domain:
        """Read a JSON or YAML domain file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidParameterError(
                f"cannot read the domain file {str(p)!r} ({exc}); check the path."
            ) from exc
        try:
            spec = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise InvalidParameterError(
                f"the domain file {str(p)!r} is not valid JSON/YAML: {exc}."
            ) from exc
        return cls.from_dict(spec)


def _seq(name: object, value: object) -> Sequence[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidParameterError(f"column {name!r}: expected a list, got {value!r:.100}.")
    return value


def _number(name: object, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterError(f"column {name!r}: bin edge {value!r} is not a number.")
    return float(value)
