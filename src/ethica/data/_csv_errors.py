"""Turn a CSV parse failure into a DataSourceError that names the offending line."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path
from typing import IO

from ethica._exceptions import DataSourceError

__all__ = ["csv_error", "first_ragged_line"]

_LINE = re.compile(r"Line:\s*(\d+)", re.IGNORECASE)
_DELIMITERS = (",", ";", "\t", "|")


def csv_error(path: Path, exc: BaseException) -> DataSourceError:
    """A :class:`DataSourceError` for the CSV ``path`` that failed with ``exc``.

    The line number is the one DuckDB reports; when DuckDB gives none (its dialect
    sniffer failed), the file is scanned once for the first line whose number of fields
    differs from the header's. This runs only on the error path.
    """
    message = str(exc).strip()
    summary = message.splitlines()[0] if message else type(exc).__name__
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
