"""Turn a CSV parse failure into a DataSourceError that names the offending line."""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from pathlib import Path
from typing import IO

from ethica._exceptions import DataSourceError

__all__ = ["csv_error", "first_ragged_line", "first_undecodable_line"]

_LINE = re.compile(r"Line:\s*(\d+)", re.IGNORECASE)
_DELIMITERS = (",", ";", "\t", "|")
_ENCODING_WORDS = ("unicode", "utf-8", "utf8", "encoding", "codec")


def csv_error(path: Path, exc: BaseException, encoding: str | None = None) -> DataSourceError:
    """A :class:`DataSourceError` for the CSV ``path`` that failed with ``exc``.

    A decoding failure is diagnosed as such: the file is scanned for the first line that
    is not valid in ``encoding`` (default UTF-8) and the message names that line, the
    offending bytes and the ``encoding`` option. Otherwise the line number is the one
    DuckDB reports; when DuckDB gives none (its dialect sniffer failed), the file is
    scanned once for the first line whose number of fields differs from the header's.
    This runs only on the error path.
    """
    message = str(exc).strip()
    summary = message.splitlines()[0] if message else type(exc).__name__
    if any(word in message.lower() for word in _ENCODING_WORDS):
        return _encoding_error(path, encoding, summary)
    match = _LINE.search(message)
    if match is not None:
        line = int(match.group(1))
        detail = _quoted_original_line(message)
    else:
        ragged = first_ragged_line(path)
        if ragged is None:
            return DataSourceError(
                f"cannot parse CSV {str(path)!r}: {summary}; check its separator, quoting "
                "and encoding (UTF-8)."
            )
        line, detail = ragged
    return DataSourceError(
        f"malformed CSV {str(path)!r} at line {line}: {detail or summary}; fix or remove "
        "that line (every row needs the header's columns)."
    )


def _encoding_error(path: Path, encoding: str | None, summary: str) -> DataSourceError:
    name = encoding or "utf-8"
    option = "pass its encoding with encoding=, e.g. encoding='latin-1'"
    try:
        if "not support the encoding" in summary:
            raise LookupError(name)
        bad = first_undecodable_line(path, name)
    except LookupError:
        return DataSourceError(
            f"cannot read CSV {str(path)!r} as {name!r}: {summary}; use an encoding DuckDB "
            "reads: 'utf-8', 'utf-16' or 'latin-1', e.g. encoding='latin-1'."
        )
    if bad is None:
        return DataSourceError(
            f"cannot decode CSV {str(path)!r} as {name!r}: {summary}; {option}, or re-save "
            "the file as UTF-8."
        )
    line, column, raw = bad
    return DataSourceError(
        f"CSV {str(path)!r} is not valid {name}: line {line}, byte {column} is "
        f"{raw.hex(' ')!r}; {option} (ISO-8859-1 and most Windows-1252 files read as 'latin-1'), "
        "or re-save the file as UTF-8."
    )


def first_undecodable_line(path: Path, encoding: str = "utf-8") -> tuple[int, int, bytes] | None:
    """The first line (1-based) not valid in ``encoding``, the 1-based byte and those bytes.

    Raises :class:`LookupError` for an encoding Python does not know. Only the lines are
    decoded one by one, so the scan stops at the first bad one.
    """
    codec = codecs.lookup(encoding)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        if codec.name.startswith("utf-16"):
            return None  # lines are not byte-aligned on b"\n": let the engine's message stand
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(codec.name)
            except UnicodeDecodeError as error:
                return number, error.start + 1, raw[error.start : error.end]
    return None


def _quoted_original_line(message: str) -> str:
    for text in message.splitlines():
        if text.startswith("Original Line:"):
            return f"{text.strip()} ({message.splitlines()[0]})"
    return ""


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open(encoding="utf-8", errors="replace", newline="")


def first_ragged_line(path: Path) -> tuple[int, str] | None:
    """The first line (1-based) whose field count differs from the header's, with a note."""
    with _open_text(path) as handle:
        header = handle.readline()
    if not header:
        return None
    delimiter = max(_DELIMITERS, key=header.count)
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        expected: int | None = None
        for row in reader:
            if expected is None:
                expected = len(row)
            elif row and len(row) != expected:
                return reader.line_num, (
                    f"{len(row)} fields where the header has {expected} (separator {delimiter!r})"
                )
    return None
