"""Release spec files: YAML text -> a validated :class:`ReleaseSpec` (the CLI reads the file).

A spec names the source, the registered dataset whose budget pays, the privacy unit, the
budget and the queries::

    source: visits.parquet            # relative to the spec file
    dataset: visits                   # registered with `ethica budget create visits ...`
    privacy_unit: {user: person_id, max_groups_per_user: 5, max_rows_per_group: 2}
    budget: {epsilon: 1}              # or {rho: 0.5} or {epsilon: 1, delta: 1e-9}
    confidence: 0.95
    consistent: true                  # make count tables additive, integer, >= 0
    format: csv                       # or parquet
    bounding_share: 1/10              # optional: a DP report of what bounding did
    queries:
      - name: visits by place
        count: {by: [place], keys: {place: [A, B, C]}}
      - name: mean stay
        mean: {column: minutes, lower: 0, upper: 240}
        weight: 2

Every mapping's keys are checked: a typo raises :class:`InvalidParameterError` naming the
line, the key, and the closest valid key.

How values are read. YAML 1.1 (PyYAML) guesses types from plain text: ``NO`` becomes
``False``, ``01234`` the integer ``1234``, and ``1e-9`` (no dot) a *string*. A spec never relies
on that guess: every value is read from the text written in the file.

* Numbers (budgets, bounds, steps, weights, confidence) are decimal literals (``0.5``,
  ``1e-9``, ``1E-9``, ``-2.5``) or ratios (``1/3``), parsed exactly with
  :class:`fractions.Fraction`; budgets keep the exact value, query parameters get the
  correctly rounded float.
* Group keys are the strings written (``NO`` is ``"NO"``, ``01234`` is ``"01234"``). They are
  then converted to the type of their column with :func:`type_keys`, from the source's
  schema and never from its rows: an integer column needs integer text, a boolean column
  ``true``/``false``, a date column ISO dates. An unquoted ``~``, ``null`` or empty key is
  refused: NULL never matches a public key (quote it to mean the text ``"null"``).
* ``bounding_share`` (optional, off by default) is an exact fraction strictly between 0 and 1
  of the budget spent on the DP *bounding report* (what contribution caps and clamping did;
  :meth:`ethica.privacy.Session.evaluate`); the queries share the rest.
* Flags (``consistent``) are ``true``/``false`` (``yes``/``no``, ``on``/``off`` also read as
  flags here, where nothing else is meant).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.release._queries import REGISTRY, Batch, Count, Histogram
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = [
    "ColumnKind",
    "ReleaseSpec",
    "check_consistent",
    "column_kinds",
    "key_columns",
    "parse_exact",
    "parse_spec",
    "parse_unit",
    "type_keys",
    "type_keys_from_schema",
]

_TOP = {
    "source",
    "table",
    "privacy_unit",
    "budget",
    "confidence",
    "consistent",
    "format",
    "queries",
    "dataset",
    "ledger",
    "title",
    "bounding_share",
}
_UNIT = {"user", "max_groups_per_user", "max_rows_per_group", "nulls"}
_BUDGET = {"epsilon", "rho", "delta"}
_QUERY_META = {"name", "weight"}
_QUERIES: dict[str, tuple[Callable[..., Any], set[str]]] = {
    name: (kind, {f.name for f in dataclasses.fields(kind)}) for name, kind in REGISTRY.items()
}
# How each query argument is read from its YAML text (an unknown one: a number if it looks
# like one, else text).
_TEXT_FIELDS = {"column"}
_TEXT_LIST_FIELDS = {"by"}
_INT_FIELDS = {"candidates", "max_power"}
_NUMBER_LIST_FIELDS = {"edges", "qs"}

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RATIO = re.compile(r"[+-]?[0-9]+/[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT_MAX = Fraction(sys.float_info.max)
_NULLS = {"", "~", "null", "Null", "NULL"}
_FLAGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}

ColumnKind = str
"""One of ``integer``, ``floating``, ``decimal``, ``boolean``, ``string``, ``date``,
``timestamp`` or ``other``: what :func:`type_keys` converts a key's text to."""


def parse_exact(text: str) -> Fraction | None:
    """The exact value of a decimal literal (``"1e-9"``, ``"0.5"``) or ratio (``"1/3"``).

    Returns ``None`` when ``text`` is neither (including ``nan``, ``inf``, ``.inf``), or a
    ratio with denominator zero.
    """
    stripped = text.strip()
    if not (_DECIMAL.fullmatch(stripped) or _RATIO.fullmatch(stripped)):
        return None
    try:
        return Fraction(stripped)
    except ZeroDivisionError:
        return None


def parse_unit(text: str) -> dict[str, str]:
    """The privacy unit a dataset protects, from its command-line spelling.

    ``"rows"`` -> ``{"kind": "rows"}``; ``"user:COLUMN"`` -> ``{"kind": "user", "column":
    COLUMN}`` (``ethica budget create --privacy-unit``). Only who is protected is named: the
    contribution bounds (``max_groups_per_user``, ``max_rows_per_group``) are how one release
    achieves user-level privacy, so each spec gives its own.
    """
    stripped = text.strip()
    if stripped == "rows":
        return {"kind": "rows"}
    kind, _, column = stripped.partition(":")
    if kind == "user" and column and ":" not in column:
        return {"kind": "user", "column": column}
    hint = (
        " The contribution bounds belong in the spec's privacy_unit (max_groups_per_user, "
        "max_rows_per_group), not in the registered unit."
        if kind == "user" and ":" in column
        else ""
    )
    raise InvalidParameterError(
        f"privacy unit {text!r} is not 'rows' or 'user:COLUMN'; write e.g. privacy_unit='rows' "
        f"or privacy_unit='user:person_id'.{hint}"
    )


@dataclass(frozen=True)
class ReleaseSpec:
    """A parsed spec: everything ``ethica release`` needs."""

    source: str
    table: str | None
    privacy_unit: PrivacyUnit
    budget: Budget
    batch: Batch
    confidence: float
    consistent: bool
    format: str
    dataset: str | None
    ledger: str | None
    title: str
    bounding_share: Fraction | None = None

    def source_in(self, folder: Path) -> Path | str:
        """The source as opened from a spec file in ``folder``: a relative path is relative
        to the spec's folder; a URL (``duckdb://...``) or an absolute path is kept."""
        if "://" in self.source or Path(self.source).is_absolute():
            return self.source if "://" in self.source else Path(self.source)
        return folder / self.source


class _Reader:
    """Reads values from YAML nodes by their text, with errors naming the line."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, node: yaml.Node, message: str) -> InvalidParameterError:
        return InvalidParameterError(f"{self.name}, line {node.start_mark.line + 1}: {message}")

    def scalar(self, node: yaml.Node, where: str) -> str:
        """The text written for a scalar (quotes removed, nothing guessed)."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{where} must be a single value, not a list or mapping.")
        return str(node.value)

    def text(self, node: yaml.Node, where: str) -> str:
        return self.scalar(node, where)

    def optional_text(self, node: yaml.Node | None, where: str) -> str | None:
        """Text, or ``None`` for an absent key or a plain ``~``/``null``/empty value."""
        if node is None or _is_null(node):
            return None
        return self.text(node, where)

    def exact(self, node: yaml.Node, where: str) -> Fraction:
        text = self.scalar(node, where)
        value = parse_exact(text)
        if value is None:
            raise self.fail(
                node,
                f"{where} must be a finite number, got {text!r}; write e.g. 0.5, 1e-9 or 1/3.",
            )
        if abs(value) > _FLOAT_MAX:
            raise self.fail(
                node,
                f"{where} is {text}, beyond the largest number ethica computes with "
                "(about 1.8e308); use a smaller number.",
            )
        return value

    def number(self, node: yaml.Node, where: str) -> float | int:
        """An integer literal as ``int``; any other number as the correctly rounded float."""
        text = self.scalar(node, where).strip()
        if _INTEGER.fullmatch(text) and abs(int(text)) <= _FLOAT_MAX:
            return int(text)
        return float(self.exact(node, where))

    def flag(self, node: yaml.Node, where: str) -> bool:
        text = self.scalar(node, where)
        if text.lower() not in _FLAGS:
            raise self.fail(node, f"{where} must be true or false, got {text!r}.")
        return _FLAGS[text.lower()]

    def items(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        """A sequence's items; a single scalar counts as a one-item list."""
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.ScalarNode):
            return [node]
        raise self.fail(node, f"{where} must be a list of values, e.g. [a, b].")

    def mapping(self, node: yaml.Node, allowed: set[str], where: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where} must be a mapping (key: value lines).")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, f"a key in {where}")
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(
                    key_node,
                    f"unknown key {key!r} in {where}; {hint}valid keys: {sorted(allowed)}.",
                )
            if key in out:
                raise self.fail(key_node, f"key {key!r} appears twice in {where}; keep one.")
            out[key] = value_node
        return out

    def required(
        self, items: dict[str, yaml.Node], key: str, node: yaml.Node, where: str
    ) -> yaml.Node:
        if key not in items:
            raise self.fail(node, f"{where} needs the key {key!r}.")
        return items[key]


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None and node.value in _NULLS


def _unit(reader: _Reader, node: yaml.Node | None) -> PrivacyUnit:
    if node is None:
        return Rows()
    if isinstance(node, yaml.ScalarNode):
        if reader.text(node, "privacy_unit") == "rows":
            return Rows()
        raise reader.fail(
            node,
            f"privacy_unit must be rows or a mapping {{user: COLUMN, ...}}, got {node.value!r}.",
        )
    items = reader.mapping(node, _UNIT, "privacy_unit")
    user = reader.text(reader.required(items, "user", node, "privacy_unit"), "privacy_unit.user")
    kwargs: dict[str, Any] = {}
    for key in ("max_groups_per_user", "max_rows_per_group"):
        if key in items:
            kwargs[key] = reader.number(items[key], f"privacy_unit.{key}")
    if "nulls" in items:
        kwargs["nulls"] = reader.text(items["nulls"], "privacy_unit.nulls")
    try:
        return UserLevel(user, **kwargs)
    except InvalidParameterError as error:
        raise reader.fail(node, str(error)) from error


def _budget(reader: _Reader, node: yaml.Node) -> Budget:
    items = {
        k: reader.exact(v, f"budget.{k}")
        for k, v in reader.mapping(node, _BUDGET, "budget").items()
    }
    try:
        if set(items) == {"epsilon"}:
            return PureDP(items["epsilon"])
        if set(items) == {"rho"}:
            return ZCDP(items["rho"])
        if set(items) == {"epsilon", "delta"}:
            return ApproxDP(items["epsilon"], items["delta"])
    except InvalidParameterError as error:
        raise reader.fail(node, str(error)) from error
    raise reader.fail(
        node, f"budget must be {{epsilon}}, {{rho}} or {{epsilon, delta}}, got {sorted(items)}."
    )


def _key_text(reader: _Reader, node: yaml.Node, where: str) -> str:
    if _is_null(node):
        raise reader.fail(
            node,
            f"{where} has a NULL key ({node.value or 'empty'}); NULL never matches a public "
            "key. Quote it ('null') if you mean that text, or remove it.",
        )
    return reader.scalar(node, where)


def _keys(reader: _Reader, node: yaml.Node, where: str) -> object:
    """Keys as the text written: ``{column: [values]}`` or a list of key tuples."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, list[str]] = {}
        for key_node, values in node.value:
            column = reader.scalar(key_node, f"a column in {where}")
            out[column] = [
                _key_text(reader, v, f"{where}.{column}")
                for v in reader.items(values, f"{where}.{column}")
            ]
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            tuple(_key_text(reader, v, where) for v in item.value)
            if isinstance(item, yaml.SequenceNode)
            else _key_text(reader, item, where)
            for item in node.value
        ]
    raise reader.fail(node, f"{where} must be {{column: [values]}} or a list of key tuples.")


def _argument(reader: _Reader, key: str, node: yaml.Node, where: str) -> object:
    here = f"{where}.{key}"
    if key == "keys":
        return _keys(reader, node, here)
    if key in _TEXT_FIELDS:
        return reader.text(node, here)
    if key in _TEXT_LIST_FIELDS:
        return tuple(reader.text(v, here) for v in reader.items(node, here))
    if key in _NUMBER_LIST_FIELDS:
        return tuple(reader.number(v, here) for v in reader.items(node, here))
    if key in _INT_FIELDS:
        return reader.number(node, here)
    if isinstance(node, yaml.ScalarNode) and node.style is None:
        if parse_exact(node.value) is not None:
            return reader.number(node, here)
        if node.value.lower() in ("true", "false"):
            return reader.flag(node, here)
    return reader.text(node, here)


def _query(reader: _Reader, node: yaml.Node, index: int) -> tuple[Any, str | None, float]:
    where = f"queries[{index}]"
    items = reader.mapping(node, set(_QUERIES) | _QUERY_META, where)
    kinds = [k for k in items if k in _QUERIES]
    if len(kinds) != 1:
        raise reader.fail(
            node, f"{where} must hold exactly one of {sorted(_QUERIES)}, got {kinds}."
        )
    kind = kinds[0]
    factory, allowed = _QUERIES[kind]
    args = reader.mapping(items[kind], allowed, f"{where}.{kind}")
    kwargs = {k: _argument(reader, k, v, f"{where}.{kind}") for k, v in args.items()}
    try:
        query = factory(**kwargs)
    except TypeError as error:
        raise reader.fail(items[kind], f"{where}.{kind}: {error}") from error
    except InvalidParameterError as error:
        raise reader.fail(items[kind], str(error)) from error
    name = reader.text(items["name"], f"{where}.name") if "name" in items else None
    weight = float(reader.exact(items["weight"], f"{where}.weight")) if "weight" in items else 1.0
    return query, name, weight


def check_consistent(batch: Batch) -> None:
    """Raise unless ``make_consistent`` can run on the release of ``batch`` whatever the data.

    It needs at least one count or histogram table, and every such table must group by a
    subset of the finest one's columns (the checks ``make_consistent`` makes on the release).
    """
    counts = [q for q in batch.queries if isinstance(q, Count | Histogram)]
    if not counts:
        raise InvalidParameterError(
            "consistent: true needs at least one count or histogram query (it makes count "
            "tables add up); add one, or set consistent: false."
        )

    def by(query: Count | Histogram) -> tuple[str, ...]:
        return (query.column,) if isinstance(query, Histogram) else query.by

    finest = max(counts, key=lambda q: len(by(q)))
    for query in counts:
        if not set(by(query)) <= set(by(finest)):
            raise InvalidParameterError(
                f"consistent: true needs every count table to group by a subset of the finest "
                f"one's columns {list(by(finest))}, but {query.describe()!r} groups by "
                f"{list(by(query))}; add a count over all key columns, or set consistent: false."
            )


def parse_spec(text: str, *, name: str = "spec") -> ReleaseSpec:
    """Parse and validate a release spec (see the module docstring for the format)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise InvalidParameterError(f"{name} is not valid YAML: {error}") from error
    if root is None:
        raise InvalidParameterError(
            f"{name} is empty; a spec names at least its source, dataset, privacy unit and "
            "queries (see docs/release.md)."
        )
    reader = _Reader(name)
    top = reader.mapping(root, _TOP, "the spec")
    source = reader.text(reader.required(top, "source", root, "the spec"), "source")
    if "budget" not in top:
        raise reader.fail(root, "the spec needs a budget, e.g. budget: {epsilon: 1}.")
    budget = _budget(reader, top["budget"])
    if "queries" not in top or not isinstance(top["queries"], yaml.SequenceNode):
        raise reader.fail(root, "the spec needs a list of queries under 'queries:'.")
    parsed = [_query(reader, q, i) for i, q in enumerate(top["queries"].value)]
    names = [n if n is not None else q.describe() for q, n, _ in parsed]
    try:
        batch = Batch(
            tuple(q for q, _, _ in parsed),
            weights=tuple(w for _, _, w in parsed),
            names=tuple(names),
        )
    except InvalidParameterError as error:
        raise reader.fail(top["queries"], str(error)) from error
    fmt = reader.text(top["format"], "format") if "format" in top else "csv"
    if fmt not in ("csv", "parquet"):
        raise reader.fail(top["format"], f"format must be 'csv' or 'parquet', got {fmt!r}.")
    consistent = reader.flag(top["consistent"], "consistent") if "consistent" in top else False
    if consistent:
        try:
            check_consistent(batch)
        except InvalidParameterError as error:
            raise reader.fail(top["consistent"], str(error)) from error
    confidence = (
        float(reader.exact(top["confidence"], "confidence")) if "confidence" in top else 0.95
    )
    bounding_share = _bounding_share(reader, top.get("bounding_share"))
    return ReleaseSpec(
        source=source,
        table=reader.optional_text(top.get("table"), "table"),
        privacy_unit=_unit(reader, top.get("privacy_unit")),
        budget=budget,
        batch=batch,
        confidence=confidence,
        consistent=consistent,
        format=fmt,
        dataset=reader.optional_text(top.get("dataset"), "dataset"),
        ledger=reader.optional_text(top.get("ledger"), "ledger"),
        title=reader.optional_text(top.get("title"), "title") or "Differentially private release",
        bounding_share=bounding_share,
    )


def _bounding_share(reader: _Reader, node: yaml.Node | None) -> Fraction | None:
    """The exact share of the budget for the bounding report, or ``None`` (absent or null)."""
    if node is None or _is_null(node):
        return None
    value = reader.exact(node, "bounding_share")
    if not 0 < value < 1:
        raise reader.fail(
            node,
            f"bounding_share must be a fraction strictly between 0 and 1, got {node.value!r}; "
            "write e.g. bounding_share: 1/10 (a tenth of the budget for the bounding report), "
            "or drop the key.",
        )
    return value


# ------------------------------------------------------------------ typed group keys
def key_columns(batch: Batch) -> list[str]:
    """The columns that some query of ``batch`` gives public keys for."""
    out: dict[str, None] = {}
    for query in batch.queries:
        if getattr(query, "keys", None) is not None:
            out.update(dict.fromkeys(query.by))
    return list(out)


def column_kinds(table: Any, columns: Iterable[str]) -> dict[str, ColumnKind]:
    """The :data:`ColumnKind` of each of ``columns`` in ``table``'s schema (an Ibis table, or
    its schema, e.g. :attr:`Session.schema <ethica.privacy.Session.schema>`).

    Reads the schema only, never a row (for a CSV file, the types DuckDB detected). Columns
    the table lacks are left out: the session's schema check names them.
    """
    schema = table.schema() if callable(getattr(table, "schema", None)) else table
    out: dict[str, ColumnKind] = {}
    for column in columns:
        if column not in schema:
            continue
        dtype = schema[column]
        for kind in ("boolean", "integer", "floating", "decimal", "string", "date", "timestamp"):
            if getattr(dtype, f"is_{kind}")():
                out[column] = kind
                break
        else:
            out[column] = "other"
    return out


def _typed(text: str, kind: ColumnKind, column: str) -> object:
    def refuse(wanted: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"key {text!r} of column {column!r} is not {wanted} (the column's type is {kind}); "
            f"write the keys as the column stores them."
        )

    if kind == "integer":
        value = parse_exact(text)
        if value is None or value.denominator != 1:
            raise refuse("an integer")
        return int(value)
    if kind == "decimal":
        if not _DECIMAL.fullmatch(text.strip()):
            raise refuse("a decimal number")
        return Decimal(text.strip())
    if kind == "floating":
        value = parse_exact(text)
        if value is None or abs(value) > _FLOAT_MAX:
            raise refuse("a number")
        return float(value)
    if kind == "boolean":
        if text.strip().lower() not in ("true", "false"):
            raise refuse("true or false")
        return text.strip().lower() == "true"
    try:
        if kind == "date":
            return dt.date.fromisoformat(text.strip())
        if kind == "timestamp":
            return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise refuse("an ISO date (YYYY-MM-DD)" if kind == "date" else "an ISO time") from None
    return text


def type_keys_from_schema(batch: Batch, table: Any) -> Batch:
    """:func:`type_keys` with the kinds of ``table``'s schema (:func:`column_kinds`; a table or
    its schema): what a caller of :func:`parse_spec` does before releasing, verifying or
    planning the batch."""
    return type_keys(batch, column_kinds(table, key_columns(batch)))


def type_keys(batch: Batch, kinds: Mapping[str, ColumnKind]) -> Batch:
    """``batch`` with every public key converted from its text to its column's type.

    ``kinds`` comes from :func:`column_kinds` (the schema, not the rows), so the conversion
    is data-independent. Keys of string columns (and of columns not in ``kinds``) stay the
    text written; a key that does not fit its column raises :class:`InvalidParameterError`.
    """
    queries = []
    for query in batch.queries:
        keys = getattr(query, "keys", None)
        if keys is None:
            queries.append(query)
            continue
        by = query.by
        typed = tuple(
            tuple(
                _typed(v, kinds[c], c) if isinstance(v, str) and c in kinds else v
                for c, v in zip(by, key, strict=True)
            )
            for key in keys
        )
        queries.append(dataclasses.replace(query, keys=typed))
    return dataclasses.replace(batch, queries=tuple(queries))
