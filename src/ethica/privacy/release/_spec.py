"""Release spec files: YAML text -> a validated :class:`ReleaseSpec` (the CLI reads the file).

A spec names the source, the privacy unit, the budget and the queries::

    source: visits.parquet            # relative to the spec file
    privacy_unit: {user: person_id, max_groups_per_user: 5, max_rows_per_group: 2}
    budget: {epsilon: 1}              # or {rho: 0.5} or {epsilon: 1, delta: 1e-9}
    confidence: 0.95
    consistent: true                  # make count tables additive, integer, >= 0
    format: csv                       # or parquet
    queries:
      - name: visits by place
        count: {by: [place], keys: {place: [A, B, C]}}
      - name: mean stay
        mean: {column: minutes, lower: 0, upper: 240}
        weight: 2

Every mapping's keys are checked: a typo raises :class:`InvalidParameterError` naming the
line, the key, and the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
import yaml.constructor

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.release._queries import REGISTRY, Batch
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = ["ReleaseSpec", "parse_spec"]

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
}
_UNIT = {"user", "max_groups_per_user", "max_rows_per_group", "nulls"}
_BUDGET = {"epsilon", "rho", "delta"}
_QUERY_META = {"name", "weight"}
_QUERIES: dict[str, tuple[Callable[..., Any], set[str]]] = {
    name: (kind, {f.name for f in dataclasses.fields(kind)}) for name, kind in REGISTRY.items()
}


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


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self._constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> InvalidParameterError:
        return InvalidParameterError(f"{self.name}, line {node.start_mark.line + 1}: {message}")

    def value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, allowed: set[str], where: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where} must be a mapping (key: value lines).")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(self.value(key_node))
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(
                    key_node,
                    f"unknown key {key!r} in {where}; {hint}valid keys: {sorted(allowed)}.",
                )
            out[key] = value_node
        return out

    def required(self, items: dict[str, yaml.Node], key: str, node: yaml.Node, where: str) -> Any:
        if key not in items:
            raise self.fail(node, f"{where} needs the key {key!r}.")
        return self.value(items[key])


def _unit(reader: _Reader, node: yaml.Node | None) -> PrivacyUnit:
    if node is None or (isinstance(node, yaml.ScalarNode) and reader.value(node) == "rows"):
        return Rows()
    items = reader.mapping(node, _UNIT, "privacy_unit")
    user = reader.required(items, "user", node, "privacy_unit")
    kwargs = {k: reader.value(v) for k, v in items.items() if k != "user"}
    return UserLevel(user, **kwargs)


def _budget(reader: _Reader, node: yaml.Node) -> Budget:
    items = {k: reader.value(v) for k, v in reader.mapping(node, _BUDGET, "budget").items()}
    if set(items) == {"epsilon"}:
        return PureDP(items["epsilon"])
    if set(items) == {"rho"}:
        return ZCDP(items["rho"])
    if set(items) == {"epsilon", "delta"}:
        return ApproxDP(items["epsilon"], items["delta"])
    raise reader.fail(
        node, f"budget must be {{epsilon}}, {{rho}} or {{epsilon, delta}}, got {sorted(items)}."
    )


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
    kwargs = {k: reader.value(v) for k, v in args.items()}
    for key in ("edges", "qs"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    try:
        query = factory(**kwargs)
    except TypeError as error:
        raise reader.fail(items[kind], f"{where}.{kind}: {error}") from error
    except InvalidParameterError as error:
        raise reader.fail(items[kind], str(error)) from error
    name = reader.value(items["name"]) if "name" in items else None
    weight = reader.value(items["weight"]) if "weight" in items else 1.0
    return query, name, weight


def parse_spec(text: str, *, name: str = "spec") -> ReleaseSpec:
    """Parse and validate a release spec (see the module docstring for the format)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise InvalidParameterError(f"{name} is not valid YAML: {error}") from error
    if root is None:
        raise InvalidParameterError(f"{name} is empty; see `ethica release --help` for a spec.")
    reader = _Reader(name)
    top = reader.mapping(root, _TOP, "the spec")
    source = reader.required(top, "source", root, "the spec")
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
    fmt = str(reader.value(top["format"])) if "format" in top else "csv"
    if fmt not in ("csv", "parquet"):
        raise reader.fail(top["format"], f"format must be 'csv' or 'parquet', got {fmt!r}.")

    def optional(key: str) -> Any:
        return reader.value(top[key]) if key in top else None

    return ReleaseSpec(
        source=str(source),
        table=optional("table"),
        privacy_unit=_unit(reader, top.get("privacy_unit")),
        budget=budget,
        batch=batch,
        confidence=float(optional("confidence") or 0.95),
        consistent=bool(optional("consistent") or False),
        format=fmt,
        dataset=optional("dataset"),
        ledger=optional("ledger"),
        title=str(optional("title") or "Differentially private release"),
    )
