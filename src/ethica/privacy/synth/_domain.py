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

A numeric column may instead ask for ``k`` bins at its *DP quantiles* inside a declared public
range, ``{"quantile_bins": 8, "range": [0, 100], "integer": true}``: the synthesizer buys the
edges from its own budget (:mod:`._binning`) and releases them with the model.
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

__all__ = ["MAX_QUANTILE_BINS", "OTHER", "Column", "Domain"]

OTHER = "(other)"
"""Label of each column's last level: undeclared, out-of-range-free or missing values."""

MAX_QUANTILE_BINS = 100
"""Most bins a ``quantile_bins`` column may ask for (each interior edge is one DP quantile)."""


@dataclass(frozen=True)
class Column:
    """One column's public domain: ``categories`` (text), bin ``edges`` (numeric), or
    ``quantile_bins`` in a public ``range`` (numeric, edges bought by the synthesizer).

    ``edges = (e_0 < e_1 < ... < e_m)`` make ``m`` bins ``[e_i, e_{i+1})``; a value below
    ``e_0`` falls in the first bin and one at or above ``e_m`` in the last. ``integer`` makes
    sampled values whole numbers. ``quantile_bins = k`` with ``range = (lo, hi)`` asks for the
    edges ``lo < c_1 < ... < hi`` with ``c_j`` the column's DP ``j/k``-quantile (equal edges
    merged, so at most ``k`` bins); until :meth:`Domain.with_edges` sets them the column has
    no levels.
    """

    name: str
    categories: tuple[str, ...] | None = None
    edges: tuple[float, ...] | None = None
    integer: bool = False
    quantile_bins: int | None = None
    range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        given = [
            self.categories is not None,
            self.edges is not None,
            self.quantile_bins is not None,
        ]
        if sum(given) != 1:
            raise InvalidParameterError(
                f"column {self.name!r} needs exactly one of categories, bins or quantile_bins, "
                f"got categories={self.categories!r}, bins={self.edges!r}, "
                f"quantile_bins={self.quantile_bins!r}; declare bins (public edges) or "
                "quantile_bins with a range (DP edges), not both."
            )
        self._check_quantile_bins()
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

    def _check_quantile_bins(self) -> None:
        k = self.quantile_bins
        if k is None:
            if self.range is not None:
                raise InvalidParameterError(
                    f"column {self.name!r}: range={list(self.range)!r} goes with quantile_bins "
                    "(the public range the DP quantiles are searched in); add quantile_bins or "
                    "drop range."
                )
            return
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_QUANTILE_BINS:
            raise InvalidParameterError(
                f"column {self.name!r}: quantile_bins must be an integer from 2 to "
                f"{MAX_QUANTILE_BINS}, got {k!r}; e.g. quantile_bins: 8."
            )
        r = self.range
        if r is None or len(r) != 2 or not all(math.isfinite(v) for v in r) or r[0] >= r[1]:
            raise InvalidParameterError(
                f"column {self.name!r}: quantile_bins needs a public range [low, high] of two "
                f"finite numbers with low < high, got range={None if r is None else list(r)!r};"
                " e.g. range: [0, 100]. It is declared, never read from the data."
            )

    @property
    def resolved(self) -> bool:
        """Whether the levels are known (``False`` for ``quantile_bins`` before binning)."""
        return self.quantile_bins is None

    @property
    def size(self) -> int:
        """Number of levels, the last one :data:`OTHER`."""
        if self.categories is not None:
            return len(self.categories) + 1
        if self.edges is None:
            raise InvalidParameterError(
                f"column {self.name!r} has quantile_bins: its edges are DP quantiles that "
                "synthesize() computes; use the domain of the SynthResult."
            )
        return len(self.edges)  # m = len(edges) - 1 bins, plus OTHER

    def labels(self) -> tuple[str, ...]:
        """Human-readable level labels, in index order."""
        if self.categories is not None:
            return (*self.categories, OTHER)
        self.size  # noqa: B018 - refuses a column whose edges are not computed yet
        assert self.edges is not None
        e = self.edges
        bins = [f"[{_fmt(a)}, {_fmt(b)})" for a, b in itertools.pairwise(e)]
        return (*bins, OTHER)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (as read by :meth:`Domain.from_dict`)."""
        if self.categories is not None:
            return {"categories": list(self.categories)}
        if self.quantile_bins is not None:
            return {
                "quantile_bins": self.quantile_bins,
                "range": list(self.range or ()),
                "integer": self.integer,
            }
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

    @property
    def quantile_columns(self) -> tuple[Column, ...]:
        """The columns whose edges are still to be bought as DP quantiles."""
        return tuple(c for c in self.columns if not c.resolved)

    def with_edges(self, edges: Mapping[str, Sequence[float]]) -> Domain:
        """This domain with each named ``quantile_bins`` column binned at ``edges``."""
        out = []
        for c in self.columns:
            if c.name in edges:
                c = Column(c.name, edges=tuple(float(e) for e in edges[c.name]), integer=c.integer)
            out.append(c)
        return Domain(tuple(out))

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise InvalidParameterError(
            f"column {name!r} is not in the domain {list(self.names)}; declare it."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form; ``order`` keeps the column order through stores that sort keys."""
        return {"columns": {c.name: c.to_dict() for c in self.columns}, "order": list(self.names)}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Domain:
        """Read ``{"columns": {name: {"categories": [...]} | {"bins": [...]} |
        {"quantile_bins": k, "range": [low, high]}}}``."""
        columns = spec.get("columns") if isinstance(spec, Mapping) else None
        if not isinstance(columns, Mapping) or not columns:
            raise InvalidParameterError(
                "a domain is {'columns': {name: {'categories': [...]} or {'bins': [...]}}}, "
                f"got {spec!r:.200}."
            )
        order = spec.get("order")
        if isinstance(order, Sequence) and sorted(map(str, order)) == sorted(map(str, columns)):
            columns = {name: columns[name] for name in order}
        out = []
        for name, item in columns.items():
            if not isinstance(item, Mapping):
                raise InvalidParameterError(
                    f"column {name!r}: expected {{'categories': [...]}} or {{'bins': [...]}}, "
                    f"got {item!r:.100}."
                )
            unknown = set(item) - {"categories", "bins", "integer", "quantile_bins", "range"}
            if unknown:
                raise InvalidParameterError(
                    f"column {name!r}: unknown keys {sorted(unknown)}; use categories, bins, "
                    "quantile_bins, range, integer."
                )
            cats = item.get("categories")
            bins = item.get("bins")
            span = item.get("range")
            out.append(
                Column(
                    str(name),
                    categories=None if cats is None else tuple(str(v) for v in _seq(name, cats)),
                    edges=None
                    if bins is None
                    else tuple(_number(name, v) for v in _seq(name, bins)),
                    integer=bool(item.get("integer", False)),
                    quantile_bins=item.get("quantile_bins"),
                    range=None
                    if span is None
                    else tuple(_number(name, v) for v in _seq(name, span)),  # type: ignore[arg-type]
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
        raise InvalidParameterError(f"column {name!r}: {value!r} is not a number.")
    return float(value)
