"""Neighbouring data sets for the auditor, including adversarial ones.

A pair ``(D, D')`` is neighbouring under a privacy unit when ``D'`` adds or removes one row
(:class:`~ethica.privacy.Rows`) or all rows of one user
(:class:`~ethica.privacy.UserLevel`). A DP claim must hold for *every* such pair, so the
auditor tries the ones most likely to break a faulty implementation, in the spirit of the
dataset generators of Google's DP stochastic tester and DP-Auditorium (Kong et al. 2024):

* removing a row / the user with the most rows;
* adding a row (a user) whose values sit exactly on the clamping bounds, half a rounding step
  inside them (where two rounding rules disagree), far outside them, or are NULL;
* under user-level privacy, adding a user with many rows spread over many cells (existing
  keys, public keys and, for private keys, new ones), so that contribution bounding must cut;
* under user-level privacy with ``nulls="drop"``, adding rows whose user id is NULL or NaN
  (both must be dropped: NaN is NULL).

Under user-level privacy the base data set is first *pre-bounded* (each user keeps at most
``max_groups_per_user`` cells with at most ``max_rows_per_group`` rows each, chosen
deterministically), so that the engine's randomised bounding leaves every existing user as
is and the aggregate of the base is deterministic; the adversarial user is added raw and is
bounded by the engine, with a fresh salt per aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica.privacy.release._queries import (
    Batch,
    BoundsEstimate,
    Count,
    Histogram,
    Mean,
    Quantiles,
    Sum,
    Variance,
)
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = ["NeighbouringPair", "Target", "neighbouring_pairs", "target_of"]


@dataclass(frozen=True)
class NeighbouringPair:
    """Two neighbouring data sets and how they differ.

    Attributes
    ----------
    name
        What ``second`` changes, e.g. ``"add a user with 28 rows at the upper bound"``.
    first, second
        The two data sets (``second`` = ``first`` with one row or user added or removed).
    difference
        The rows added or removed (for the sensitivity test: their aggregate alone must stay
        within the stated sensitivity); ``None`` if unknown.
    """

    name: str
    first: pd.DataFrame = field(repr=False)
    second: pd.DataFrame = field(repr=False)
    difference: pd.DataFrame | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Target:
    """What the adversarial rows attack: measured columns with their bounds and rounding
    steps (and the grid's origin, ``(lower + upper) / 2`` for a variance, else 0), group-by
    columns with their public keys (``None``: keys read from the data), and whether a query
    bins a measured column (histograms, quantiles)."""

    measures: Mapping[str, tuple[float, float, float | None]] = field(default_factory=dict)
    groups: Mapping[str, tuple[object, ...] | None] = field(default_factory=dict)
    binned: bool = False
    origins: Mapping[str, float] = field(default_factory=dict)


def target_of(query: object) -> Target:
    """The columns, bounds, steps and keys a query (or a :class:`Batch`) reads."""
    queries = query.queries if isinstance(query, Batch) else (query,)
    measures: dict[str, tuple[float, float, float | None]] = {}
    groups: dict[str, tuple[object, ...] | None] = {}
    binned = False
    origins: dict[str, float] = {}
    for q in queries:
        if isinstance(q, Sum | Mean | Variance):
            lo, hi = q.bounds
            if q.column not in measures and isinstance(q, Variance):
                origins[q.column] = (lo + hi) / 2
            measures.setdefault(q.column, (lo, hi, q.step))
        if isinstance(q, Count | Sum | Mean | Variance):
            keys = q.keys
            for i, column in enumerate(q.by):
                values = None if keys is None else tuple(dict.fromkeys(k[i] for k in keys))
                groups.setdefault(column, values)
        elif isinstance(q, Histogram):
            measures.setdefault(q.column, (q.edges[0], q.edges[-1], None))
            binned = True
        elif isinstance(q, Quantiles | BoundsEstimate):
            grid = q.grid
            measures.setdefault(q.column, (grid[0], grid[-1], None))
            binned = True
        else:
            if not isinstance(q, Count | Sum | Mean | Variance):
                raise InvalidParameterError(f"cannot audit {q!r}: not an ethica query.")
    return Target(measures, groups, binned, origins)


def _half_steps(lo: float, hi: float, step: float | None) -> list[tuple[str, float]]:
    """Half-way points of the rounding grid just inside the bounds (where rounding rules
    disagree: half to even versus half away from zero)."""
    if step is None or step <= 0:
        return []
    out = []
    up = step * (math.floor(hi / step) + 0.5)
    up = up if up <= hi else up - step
    down = step * (math.ceil(lo / step) - 0.5)
    down = down if down >= lo else down + step
    for name, value in (
        ("half a step below the upper bound", up),
        ("half a step above the lower bound", down),
    ):
        if lo <= value <= hi and value not in (lo, hi):
            out.append((name, value))
    return out


def _variants(target: Target) -> list[tuple[str, dict[str, float]]]:
    """Adversarial values: one dict column -> value per variant (all measures at once)."""
    if not target.measures:
        return [("", {})]
    per: dict[str, list[tuple[str, float]]] = {}
    for column, (lo, hi, step) in target.measures.items():
        width = max(1.0, hi - lo)
        per[column] = [
            ("at the upper bound", hi),
            ("at the lower bound", lo),
            *_half_steps(lo, hi, step),
            ("far above the bounds", hi + 1e9 * width),
            ("far below the bounds", lo - 1e9 * width),
            ("NULL", math.nan),
        ]
    names = list(dict.fromkeys(name for values in per.values() for name, _ in values))
    out = []
    for name in names:
        values = {}
        for column, items in per.items():
            found = dict(items)
            values[column] = found.get(name, target.measures[column][1])
        out.append((name, values))
    return out


def _fresh(series: pd.Series, count: int, stem: str) -> list[object]:
    """``count`` values of the column's type that do not occur in it."""
    present = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return []
    if pd.api.types.is_numeric_dtype(series):
        start = int(present.max()) + 1 if len(present) else 0
        return list(range(start, start + count))
    taken = {str(v) for v in present.unique()}
    return [f"__audit_{stem}_{i}__" for i in range(count) if f"__audit_{stem}_{i}__" not in taken]


def _cell_keys(data: pd.DataFrame, target: Target, count: int) -> list[dict[str, object]]:
    """Up to ``count`` distinct cells (one value per group column) for adversarial rows:
    public keys first; for private keys the most frequent existing values, then new ones."""
    if not target.groups:
        return [{}]
    choices: dict[str, list[object]] = {}
    for column, keys in target.groups.items():
        if keys is not None:
            choices[column] = list(keys)[:count]
        else:
            existing = data[column].dropna().value_counts().index.tolist()[: max(1, count // 2)]
            choices[column] = [*existing, *_fresh(data[column], count, column)][:count]
    cells = []
    for i in range(count):
        cells.append({c: v[i % len(v)] for c, v in choices.items() if v})
    unique = {tuple(sorted(c.items(), key=repr)): c for c in cells}
    return list(unique.values())


def _rows(
    data: pd.DataFrame, cells: Sequence[Mapping[str, object]], per_cell: int, values: dict[str, Any]
) -> pd.DataFrame:
    """New rows: ``per_cell`` rows in each cell; other columns copy the first base row."""
    template = data.iloc[[0]] if len(data) else pd.DataFrame(columns=data.columns)
    rows = []
    spread = values.get("__spread__")
    for cell in cells:
        for r in range(per_cell):
            row = {c: (template[c].iloc[0] if len(template) else None) for c in data.columns}
            row.update(cell)
            for column, value in values.items():
                if column == "__spread__":
                    continue
                row[column] = value
            if spread is not None:
                for column, (lo, hi) in spread.items():
                    row[column] = lo + (hi - lo) * (r % 9) / 8
            rows.append(row)
    return pd.DataFrame(rows, columns=data.columns)


def _add(name: str, first: pd.DataFrame, added: pd.DataFrame) -> NeighbouringPair:
    """``(first, first + added)`` with the same column types on both sides."""
    second = pd.concat([first, added], ignore_index=True) if len(added) else first.copy()
    a, b = _align(first, second)
    return NeighbouringPair(name, a, b, b.iloc[len(a) :].reset_index(drop=True))


def _remove(name: str, first: pd.DataFrame, keep: Any) -> NeighbouringPair:
    """``(first, first without the rows not in keep)``."""
    a, b = _align(first, first[keep])
    return NeighbouringPair(name, a, b, a[~np.asarray(keep, dtype=bool)].reset_index(drop=True))


def _align(first: pd.DataFrame, second: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    both = pd.concat([first, second], ignore_index=True)
    dtypes = both.dtypes.to_dict()
    return first.astype(dtypes), second.astype(dtypes)


def snap(data: pd.DataFrame, target: Target) -> pd.DataFrame:
    """The base's measured values clamped and moved to the nearest point of their grid inside
    the bounds (``origin + k step``), so that the engine's randomised rounding leaves them
    exact: the base's aggregate is then deterministic, and two runs on neighbours differ only
    by the neighbour's own rows. (A variance's sum of squares may keep a per-row rounding
    draw: ``y² / (step · half)`` need not be an integer.)"""
    out = data.copy()
    for column, (lo, hi, step) in target.measures.items():
        if not step or not pd.api.types.is_numeric_dtype(out[column]):
            continue
        origin = target.origins.get(column, 0.0)
        first, last = math.ceil((lo - origin) / step), math.floor((hi - origin) / step)
        if first > last:
            continue
        units = ((out[column].astype("float64").clip(lo, hi) - origin) / step).round()
        out[column] = origin + units.clip(first, last) * step
    return out


def prebound(data: pd.DataFrame, unit: UserLevel, target: Target) -> pd.DataFrame:
    """Each user keeps at most ``max_groups_per_user`` cells with ``max_rows_per_group`` rows
    (the first ones in key order): engine bounding then changes nothing, deterministically.
    With binned queries (histograms, quantiles) each user keeps one row. Rows with a NULL user
    id are kept as they are (the engine drops or refuses them)."""
    user = unit.column
    known = data[data[user].notna()]
    cells = [c for c in target.groups if c in data.columns and c != user]
    if target.binned or not cells:
        kept = known.groupby(user, sort=True, dropna=True).head(
            1 if target.binned else unit.max_rows_per_group
        )
    else:
        ranked = known.sort_values([user, *cells], kind="stable", na_position="last")
        codes = (
            ranked.groupby(user, sort=False)[cells]
            .transform(lambda s: s.astype(str))
            .agg("|".join, axis=1)
        )
        cell_rank = codes.groupby(ranked[user]).transform(lambda s: pd.factorize(s)[0])
        within = ranked.groupby([ranked[user], codes]).cumcount()
        kept = ranked[(cell_rank < unit.max_groups_per_user) & (within < unit.max_rows_per_group)]
    out = pd.concat([kept, data[data[user].isna()]]).sort_index()
    return out.reset_index(drop=True)


def neighbouring_pairs(
    data: pd.DataFrame,
    unit: PrivacyUnit = Rows(),  # noqa: B008 - frozen and immutable
    *,
    query: object | None = None,
    target: Target | None = None,
) -> tuple[NeighbouringPair, ...]:
    """Neighbouring pairs built from ``data``, adversarial ones included (module docstring).

    Parameters
    ----------
    data
        The base data set (a pandas frame): the custodian's data, or a small sample.
    unit
        The privacy unit that defines "neighbouring".
    query
        An ethica query (or :class:`~ethica.privacy.Batch`): its columns, bounds, steps and
        keys say what to attack. Alternatively pass ``target``.
    target
        Measured columns ``{column: (lower, upper, step)}`` and group columns with their
        public keys, for a mechanism that is not an ethica query.

    Returns
    -------
    tuple of NeighbouringPair
        ``first`` is always the base (pre-bounded under user-level privacy), ``second`` the
        neighbour.
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(
            f"neighbouring_pairs needs a pandas DataFrame, got {type(data).__name__}; "
            "read the table first (e.g. ethica.data.read_rows)."
        )
    if len(data) == 0:
        raise InvalidParameterError("the base data set is empty; pass at least one row.")
    aim = target if target is not None else (target_of(query) if query is not None else Target())
    for column in [*aim.measures, *aim.groups]:
        if column not in data.columns:
            raise InvalidParameterError(
                f"column {column!r} is not in the data (columns: {list(data.columns)})."
            )
    if isinstance(unit, UserLevel):
        return _user_pairs(data, unit, aim)
    return _row_pairs(data, aim)


def _value_label(values: dict[str, float]) -> str:
    return ", ".join(f"{c} = {v:.6g}" for c, v in values.items())


def _row_pairs(data: pd.DataFrame, aim: Target) -> tuple[NeighbouringPair, ...]:
    data = snap(data, aim)
    first = np.arange(len(data)) != 0
    pairs = [_remove("remove the first row", data, first)]
    if aim.measures:
        column = next(iter(aim.measures))
        numbers = pd.to_numeric(data[column], errors="coerce").abs()
        if numbers.notna().any():
            drop = int(np.asarray(numbers.fillna(-1).to_numpy()).argmax())
            name = f"remove the row with the largest |{column}|"
            pairs.append(_remove(name, data, np.arange(len(data)) != drop))
    cells = _cell_keys(data, aim, 2)
    for label, values in _variants(aim):
        for i, cell in enumerate(cells):
            where = "" if not cell else (" in an existing cell" if i == 0 else " in a new cell")
            what = f"add a row {label} ({_value_label(values)})" if label else "add a row"
            pairs.append(_add(what + where, data, _rows(data, [cell], 1, values)))
            if label and label != "at the upper bound":
                break  # the other cells only for one variant: keeps the audit fast
    return tuple(pairs)


def _user_pairs(data: pd.DataFrame, unit: UserLevel, aim: Target) -> tuple[NeighbouringPair, ...]:
    user = unit.column
    if user not in data.columns:
        raise InvalidParameterError(
            f"user-id column {user!r} is not in the data (columns: {list(data.columns)})."
        )
    base = snap(prebound(data, unit, aim), aim)
    pairs = []
    sizes = base[user].value_counts()
    if len(sizes):
        biggest = sizes.index[0]
        name = f"remove the user with the most rows ({int(sizes.iloc[0])})"
        pairs.append(_remove(name, base, (base[user] != biggest).to_numpy()))
    new_user = _fresh(data[user], 1, "user") or ["__audit_user__"]
    n_cells = 3 * unit.max_groups_per_user + 1
    per_cell = 2 * unit.max_rows_per_group + 1
    cells = _cell_keys(data, aim, n_cells)
    variants = _variants(aim)
    if aim.binned:
        spread = {c: (lo, hi) for c, (lo, hi, _) in aim.measures.items()}
        variants.insert(0, ("spread over the range", {"__spread__": spread}))  # type: ignore[dict-item]
    for label, values in variants:
        added = _rows(base, cells, per_cell, values)
        added[user] = new_user[0]
        size = len(added)
        what = f"add a user with {size} rows" + (f" {label}" if label else "")
        pairs.append(_add(what, base, added))
    if unit.nulls == "drop":
        upper = {c: hi for c, (_, hi, _) in aim.measures.items()}
        added = _rows(base, cells, per_cell, upper)
        added[user] = None
        pairs.append(_add(f"add {len(added)} rows with a NULL user id", base, added))
        if pd.api.types.is_numeric_dtype(data[user]):
            added = _rows(base, cells, per_cell, upper)
            added[user] = math.nan
            as_float = base.astype({user: "float64"})
            added = added.astype({user: "float64"})
            pairs.append(_add(f"add {len(added)} rows with a NaN user id", as_float, added))
    return tuple(pairs)
