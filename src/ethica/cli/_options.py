"""Parsing helpers shared by command modules: lists, key=value pairs, typed scalars."""

from __future__ import annotations

from collections.abc import Iterable

from ethica._exceptions import InvalidParameterError

__all__ = ["parse_key_values", "parse_list", "parse_scalar"]


def parse_list(values: Iterable[str] | None) -> list[str]:
    """``["sex,race", "age"]`` -> ``["sex", "race", "age"]`` (repeatable, comma-separated)."""
    items: list[str] = []
    for value in values or ():
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return items


def parse_key_values(values: Iterable[str] | None, *, option: str) -> dict[str, str]:
    """``["sex=Male", "race=White"]`` -> ``{"sex": "Male", "race": "White"}``."""
    pairs: dict[str, str] = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise InvalidParameterError(
                f"{option} expects ATTRIBUTE=VALUE, got {value!r}; for example {option} sex=Male"
            )
        pairs[key.strip()] = rest.strip()
    return pairs


def parse_scalar(text: str) -> int | float | str:
    """A command-line value as the int, float or string it spells."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
