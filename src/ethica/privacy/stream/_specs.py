"""Shared checks of the YAML mappings that stream and series specs are read from, and the
reader of their release documents."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from ethica._exceptions import InvalidParameterError

__all__ = ["check_mapping", "exact_number", "release_from_dict"]

R = TypeVar("R")


def check_mapping(
    data: Mapping[str, object],
    *,
    allowed: Iterable[str],
    required: Iterable[str],
    what: str,
    path: Path | None = None,
) -> None:
    """Refuse a spec mapping with a key outside ``allowed`` or without a ``required`` key.

    Parameters
    ----------
    data
        The spec's top-level mapping, as YAML read it.
    allowed, required
        The keys it may hold, and those it must hold (checked in the order given, so the
        first missing one is named).
    what
        What the spec is, e.g. ``"stream spec"``: the messages say "unknown {what} fields" and
        "the {what} [path] needs {key}:".
    path
        The spec file, named in the message for a missing key when given.

    Raises
    ------
    InvalidParameterError
        Naming the unknown keys with the allowed ones, or the first missing key.
    """
    valid = set(allowed)
    unknown = sorted(set(data) - valid)
    if unknown:
        raise InvalidParameterError(f"unknown {what} fields {unknown}; allowed: {sorted(valid)}.")
    where = f"the {what}" if path is None else f"the {what} {path}"
    for key in required:
        if key not in data:
            raise InvalidParameterError(f"{where} needs {key}:.")


def release_from_dict(cls: type[R], data: Mapping[str, Any], **given: Any) -> R:
    """Inverse of a release's ``to_dict``: every field of the dataclass ``cls`` from ``data``.

    JSON lists become tuples (a release's sequences are tuples); fields in ``given`` take
    the value given (e.g. a budget read back with ``budget_from_dict``); fields neither in
    ``data`` nor in ``given`` keep their defaults; other keys (``schema_version``) are ignored.
    """
    assert dataclasses.is_dataclass(cls)
    values = {
        f.name: tuple(data[f.name]) if isinstance(data[f.name], list) else data[f.name]
        for f in dataclasses.fields(cls)
        if f.init and f.name in data and f.name not in given
    }
    return cls(**values, **given)


def exact_number(value: object) -> object:
    """A YAML number as the exact decimal it spells (``0.1`` is 1/10); anything else as is,
    for the caller's own check to refuse with its message."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return Fraction(str(value))
    return value
