"""A census schema declared by the user, for published tables of any shape.

A statistical office names its columns as it likes (``gender``, ``age5``, ``agegrp``...) and
publishes some columns only coarsened. The attack needs to know which columns are record
attributes (the finest level a person has) and how each coarser column groups the categories
of one attribute: with that hierarchy every table constrains the same records; without it a
coarse column becomes an unrelated attribute and the attack rebuilds far fewer records, so
it understates the risk. The declaration is a plain mapping (e.g. read from YAML)::

    block: block                  # optional; default "block"
    count: count                  # optional; default "count"
    attributes:                   # record attribute -> its categories, in order
      gender: [F, M]
      age5: [17-19, 20-24, 25-29, 30-34]
      ethnicity:                  # no list: the values the tables use
    coarsenings:                  # coarser column -> the attribute it groups, and how
      agegrp:
        of: age5
        groups: {17-29: [17-19, 20-24, 25-29], 30-44: [30-34]}
        # or, equivalently, map: {17-19: 17-29, 20-24: 17-29, 25-29: 17-29, 30-34: 30-44}

Every category of a coarsened attribute must be mapped (:class:`CensusSchema` checks it).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import pandas as pd

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.attacks.census._data import CensusSchema

__all__ = ["census_schema_from_spec"]

_TOP = ("block", "count", "attributes", "coarsenings")
_COARSENING = ("of", "groups", "map")


def _fail(where: str, message: str) -> InvalidParameterError:
    return InvalidParameterError(f"{where}: {message}")


def _mapping(value: Any, where: str, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a mapping (name: value lines), got {value!r}; e.g. {example}.")
    return value


def _category_list(value: Any, where: str) -> tuple[Hashable, ...] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, list | tuple) or not value:
        raise _fail(where, f"must be a list of categories (e.g. [F, M]) or empty, got {value!r}.")
    if len(set(value)) != len(value):
        twice = sorted({str(v) for v in value if list(value).count(v) > 1})
        raise _fail(where, f"lists {twice} more than once; list each category once.")
    return tuple(value)


def _coarsening_map(name: str, body: Any, where: str) -> tuple[str, dict[Hashable, Hashable]]:
    spec = _mapping(body, where, "{of: age5, groups: {17-29: [17-19, 20-24]}}")
    unknown = sorted(str(k) for k in spec if k not in _COARSENING)
    if unknown or "of" not in spec or ("groups" in spec) == ("map" in spec):
        raise _fail(
            where,
            f"needs 'of' (the attribute {name!r} groups) and exactly one of 'groups' "
            "(coarse -> [fine, ...]) or 'map' (fine -> coarse); got keys "
            f"{sorted(map(str, spec))}.",
        )
    source = str(spec["of"])
    if "map" in spec:
        return source, dict(_mapping(spec["map"], f"{where}.map", "{17-19: 17-29}"))
    mapping: dict[Hashable, Hashable] = {}
    for coarse, fine in _mapping(spec["groups"], f"{where}.groups", "{17-29: [17-19]}").items():
        members = fine if isinstance(fine, list | tuple) else [fine]
        for value in members:
            if value in mapping and mapping[value] != coarse:
                raise _fail(
                    f"{where}.groups",
                    f"{value!r} is in both {mapping[value]!r} and {coarse!r}; a fine category "
                    "belongs to one coarse group.",
                )
            mapping[value] = coarse
    return source, mapping


def _seen(tables: Mapping[str, pd.DataFrame], column: str) -> list[Hashable]:
    values: set[Hashable] = set()
    for frame in tables.values():
        if column in frame.columns:
            values.update(frame[column].dropna().tolist())
    return sorted(values, key=str)


def census_schema_from_spec(
    spec: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    source: str = "schema",
) -> CensusSchema:
    """Build a :class:`CensusSchema` from a declaration (module docstring) and check tables.

    Parameters
    ----------
    spec
        The declaration: ``attributes`` (required), ``coarsenings``, ``block``, ``count``.
    tables
        The published tables, by name. An attribute declared without categories takes the
        values they use (with any fine values a coarsening names), sorted; every table
        column other than the block and count must be declared.
    source
        What to call the declaration in messages (e.g. its file name).

    Raises
    ------
    InvalidParameterError
        A malformed declaration: missing attributes, a coarsening of an unknown attribute
        or one that leaves a category unmapped, a category listed twice.
    SchemaError
        A table column the declaration does not name.
    """
    top = _mapping(spec, source, "attributes: {sex: [F, M]}")
    unknown = sorted(str(k) for k in top if k not in _TOP)
    if unknown:
        raise _fail(source, f"unknown keys {unknown}; use {list(_TOP)}.")
    if not top.get("attributes"):
        raise _fail(
            source,
            "declares no attributes; list the record attributes under 'attributes:', "
            "e.g. attributes: {sex: [F, M], age5: [17-19, 20-24]}.",
        )
    block = str(top.get("block") or "block")
    count = str(top.get("count") or "count")
    frames = dict(tables or {})
    declared = _mapping(top["attributes"], f"{source}.attributes", "{sex: [F, M]}")
    coarsenings = {
        str(name): _coarsening_map(str(name), body, f"{source}.coarsenings.{name}")
        for name, body in _mapping(
            top.get("coarsenings") or {}, f"{source}.coarsenings", "{agegrp: {of: age5, ...}}"
        ).items()
    }
    attributes: dict[str, tuple[Hashable, ...]] = {}
    for name, value in declared.items():
        categories = _category_list(value, f"{source}.attributes.{name}")
        if categories is None:
            implied = [c for _, (of, m) in coarsenings.items() if of == name for c in m]
            categories = tuple(sorted({*implied, *_seen(frames, str(name))}, key=str))
            if not categories:
                raise _fail(
                    f"{source}.attributes.{name}",
                    "has no categories and no table uses it; list its categories.",
                )
        attributes[str(name)] = categories
    clash = sorted(set(attributes) & set(coarsenings) | {block, count} & set(attributes))
    if clash:
        raise _fail(source, f"{clash} is declared twice (attribute, coarsening, block or count).")
    schema = CensusSchema(attributes=attributes, coarsenings=coarsenings, block=block, count=count)
    known = {block, count, *attributes, *coarsenings}
    for table, frame in frames.items():
        extra = [str(c) for c in frame.columns if c not in known]
        if extra:
            raise SchemaError(
                f"table {table!r} has columns {extra} that {source} does not declare; add each "
                "under 'attributes:' (a record attribute) or 'coarsenings:' (with 'of:' and "
                "'groups:'), or drop the column."
            )
    return schema
