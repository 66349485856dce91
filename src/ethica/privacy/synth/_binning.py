"""Bin edges at DP quantiles, paid from the synthesis budget (``quantile_bins`` columns).

A column declared ``{"quantile_bins": k, "range": [lo, hi]}`` is cut at its ``j/k``-quantiles
(``j = 1 .. k-1``), each released by the release room's :class:`ethica.privacy.release.
Quantiles`: the exponential mechanism (McSherry & Talwar 2007) over a public grid of
``[lo, hi]`` with utility ``-|#{x < c} - q n|`` (Smith 2011), computed from one binned
GROUP BY in the engine. This module only plans the budget and turns the released quantiles
into edges; the mechanism, its engine query and its free checks are the release room's
(:func:`~ethica.privacy.release._evaluate.check_parts`,
:func:`~ethica.privacy.release._evaluate.evaluate_parts`), reused, not re-implemented.

Budget (zCDP). ``share`` of the synthesis ``rho`` is split equally over the binned columns;
a column's ``k - 1`` quantiles each run at the largest grid ``eps`` with
``(k - 1) eps**2 / 8 <= rho_column`` (an ``eps``-DP exponential mechanism is
``eps**2 / 8``-zCDP: Cesar & Rogers 2021). Under one row per person, added or removed, the
utility moves by at most ``max(q, 1 - q)``, the sensitivity the release room calibrates to.
The edges are sorted, an integer column's rounded up (``x >= c`` and
``x >= ceil(c)`` select the same whole numbers), and equal edges merged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ethica._exceptions import InvalidParameterError
from ethica.data._private_sources import parse_numbers
from ethica.privacy.budget._budgets import PureDP
from ethica.privacy.release._evaluate import Part, check_parts, evaluate_parts
from ethica.privacy.release._queries import Quantiles
from ethica.privacy.release._sensitivity import Rows
from ethica.privacy.synth._domain import Column, Domain
from ethica.privacy.synth._mechanisms import epsilon_for

if TYPE_CHECKING:
    from ethica.data._memory import Table

__all__ = ["DEFAULT_BINNING_SHARE", "BinningPlan", "binning_share", "plan_binning"]

DEFAULT_BINNING_SHARE = Fraction(1, 10)
"""Share of the synthesis ``rho`` spent on DP quantile edges when any column asks for them."""

MAX_CANDIDATES = 1001
"""Grid points per quantile search (an integer column with a narrower range: one per value)."""


def binning_share(value: object) -> Fraction:
    """``value`` as an exact fraction in ``(0, 1)`` (free check)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction | str):
        raise InvalidParameterError(
            f"binning_share must be a number in (0, 1), got {value!r}; e.g. 0.1."
        )
    try:
        share = Fraction(value)
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise InvalidParameterError(f"binning_share {value!r} is not a number.") from exc
    if not 0 < share < 1:
        raise InvalidParameterError(
            f"binning_share is the part of the budget spent on DP quantile edges and must lie "
            f"strictly between 0 and 1, got {value!r}; e.g. 0.1."
        )
    return share


def _grid_size(column: Column) -> int:
    assert column.range is not None
    lo, hi = column.range
    if column.integer and lo.is_integer() and hi.is_integer() and hi - lo < MAX_CANDIDATES:
        return int(hi - lo) + 1  # every whole number in the range
    return MAX_CANDIDATES


@dataclass(frozen=True)
class BinningPlan:
    """The quantile releases a synthesis makes before it measures anything.

    Attributes
    ----------
    share, rho
        The declared share of the synthesis budget and the zCDP it allows (``share * rho``).
    parts
        One release-room :class:`Part` per binned column: a :class:`Quantiles` query at
        ``j/k`` and a ``PureDP(eps * (k - 1))`` budget (``eps`` per quantile).
    epsilons
        ``eps`` per quantile, per column.
    text
        The source is a CSV read as text: its numbers are parsed in the engine.
    """

    share: Fraction
    rho: Fraction
    parts: tuple[Part, ...]
    epsilons: Mapping[str, Fraction]
    text: bool = False

    @property
    def cost(self) -> Fraction:
        """The zCDP the plan spends, summed exactly: ``Σ (k - 1) eps**2 / 8``."""
        return sum(
            (len(p.query.qs) * self.epsilons[p.query.column] ** 2 / 8 for p in self.parts),
            Fraction(0),
        )

    def run(self, table: Table, domain: Domain) -> tuple[Domain, dict[str, Any]]:
        """Release the quantiles (reads the data), and return the binned domain and the
        released facts (edges and epsilons, stored with the model)."""
        if not self.parts:
            return domain, {}
        source = _numbers(table, domain) if self.text else table
        tables = evaluate_parts(source, self.parts, Rows(), 0.95)
        edges: dict[str, list[float]] = {}
        for part, released in zip(self.parts, tables, strict=True):
            column = domain[part.query.column]
            edges[column.name] = _edges(column, released.values)
        binned = domain.with_edges(edges)
        facts = {
            "share": str(self.share),
            "rho": str(self.rho),
            "mechanism": "exponential mechanism over a public grid (ethica.privacy.release "
            "Quantiles), eps**2/8-zCDP per quantile",
            "columns": {
                p.query.column: {
                    "quantile_bins": domain[p.query.column].quantile_bins,
                    "range": list(domain[p.query.column].range or ()),
                    "candidates": p.query.candidates,
                    "epsilon_per_quantile": str(self.epsilons[p.query.column]),
                    "edges": edges[p.query.column],
                }
                for p in self.parts
            },
        }
        return binned, facts


def _numbers(table: Table, domain: Domain) -> Table:
    return parse_numbers(table, [c.name for c in domain.quantile_columns])


def _edges(column: Column, quantiles: tuple[float, ...]) -> list[float]:
    """``lo``, the distinct interior quantiles (whole numbers rounded up for an integer
    column), and the top (``hi``; ``hi + 1`` for an integer column so ``hi`` is a level)."""
    assert column.range is not None
    lo, hi = column.range
    top = math.floor(hi) + 1.0 if column.integer else hi
    inner = (math.ceil(q) if column.integer else q for q in quantiles)
    return [lo, *sorted({float(q) for q in inner if lo < q < top}), top]


def plan_binning(
    table: Table, domain: Domain, rho: Fraction, share: Fraction, *, text: bool
) -> BinningPlan:
    """The quantile releases for ``domain``'s ``quantile_bins`` columns, checked for free
    against ``table``'s schema (a missing or non-numeric column, a budget too small for the
    exponential mechanism: refused before any charge).

    ``text``: the source is a CSV read as text, whose numbers are parsed in the engine.
    """
    columns = domain.quantile_columns
    if not columns:
        return BinningPlan(Fraction(0), Fraction(0), (), {})
    rho_bins = share * rho
    each = rho_bins / len(columns)
    parts, epsilons = [], {}
    for column in columns:
        assert column.quantile_bins is not None and column.range is not None
        k = column.quantile_bins
        eps = epsilon_for(each / (k - 1))
        if eps <= 0:
            raise InvalidParameterError(
                f"column {column.name!r}: binning_share={share} of rho={rho} leaves too little "
                f"for {k - 1} DP quantiles; raise binning_share or the budget, or declare bins."
            )
        query = Quantiles(
            column.name,
            qs=tuple(j / k for j in range(1, k)),
            lower=column.range[0],
            upper=column.range[1],
            candidates=_grid_size(column),
        )
        parts.append(Part(f"{column.name} quantile edges", query, PureDP(eps * (k - 1))))
        epsilons[column.name] = eps
    source = _numbers(table, domain) if text else table
    check_parts(source, parts, Rows())
    return BinningPlan(share, rho_bins, tuple(parts), epsilons, text)
