"""Translate the library's parameter names into the command line's flags.

The library names its own parameters in messages, scikit-learn style
(``positive_label='>50K'``, ``drop_missing=True``, ``Ledger(path=...)``); it never names a
flag, because a Python user has none. The command line shows the same message with each
parameter it knows rewritten as its flag (``--positive-label >50K``, ``--drop-missing``,
``--ledger PATH``). :func:`as_flags` is that translation, applied to errors, warnings and
audit notes shown by any command.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["FLAGS", "as_flags"]

#: Library parameter -> the command-line flag that sets it (where the names differ, too).
FLAGS: dict[str, str] = {
    "backend": "--backend",
    "dataset": "--dataset",
    "encoding": "--encoding",
    "epsilon": "--epsilon",
    "exclude": "--exclude",
    "label": "--label",
    "max_groups": "--max-groups",
    "min_group_size": "--min-group-size",
    "model": "--model",
    "n_members": "--members",
    "positive_label": "--positive-label",
    "positive_prediction": "--positive-prediction",
    "prediction": "--prediction",
    "privacy_unit": "--privacy-unit",
    "protected": "--protected",
    "score": "--score",
    "table": "--table",
}

#: Whole phrases whose command-line form is not ``--flag VALUE``.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"protected=\[Bins\('([^']*)', quantiles=(\d+)\)\]"), r"--bins \1=q\2"),
    (re.compile(r"\bBins\(\.\.\.\)"), "--bins COLUMN=q5"),
    (re.compile(r"\bdrop_missing=True\b"), "--drop-missing"),
    (re.compile(r"\bLedger\(path=\.\.\.\)"), "--ledger PATH"),
    (
        re.compile(r"\bLedger\.create_dataset\('([^']*)', total\)"),
        r"`ethica budget create \1 --epsilon E --privacy-unit ...`",
    ),
    (
        re.compile(r"\bLedger\.set_privacy_unit\('([^']*)', unit\)"),
        r"`ethica budget set-unit \1 --privacy-unit ...`",
    ),
)

#: ``name=`` and an optional value: quoted, a list, or a bare word (a final ``.`` is prose).
_ASSIGNMENT = re.compile(
    r"\b(?P<name>" + "|".join(sorted(FLAGS, key=len, reverse=True)) + r")="
    r"(?P<value>'[^']*'|\"[^\"]*\"|\[[^\]]*\]|[^\s,;()\[\]]*[^\s,;()\[\].])?"
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _flag(match: re.Match[str]) -> str:
    flag = FLAGS[match["name"]]
    value = match["value"]
    if not value:
        return flag
    if value.startswith("["):
        items = [_unquote(v.strip()) for v in value[1:-1].split(",") if v.strip()]
        return f"{flag} {','.join(items) or 'COLUMN'}" if items != ["..."] else f"{flag} COLUMN"
    return f"{flag} {_unquote(value)}"


def as_flags(text: str) -> str:
    """``text`` with every library parameter the command line knows written as its flag.

    >>> as_flags("name the favourable one with positive_label='>50K'.")
    'name the favourable one with --positive-label >50K.'
    >>> as_flags("drop them with drop_missing=True, or fill them in")
    'drop them with --drop-missing, or fill them in'
    """
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    rewrite: Callable[[re.Match[str]], str] = _flag
    return _ASSIGNMENT.sub(rewrite, text)
