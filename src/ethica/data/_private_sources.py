"""Sources for differentially private releases: types that depend on nothing but the schema.

A CSV file has no schema of its own: DuckDB (and Spark's ``inferSchema``) guess each
column's type, and the dialect, from the rows. For an audit that is a convenience; for a DP
release it is a leak, because what the guess decides (a numeric column or a text one, a
refusal or a release, which keys parse) would then depend on single records, for free. So a
CSV read for a release takes its column names from the header line alone and reads every
column as text, with a separator fixed by the file's extension; a line with the wrong number
of fields is dropped (a row-local rule, like a NULL value); numbers are parsed in the engine
with ``TRY_CAST`` (:func:`parse_numbers`), so a value that does not parse is missing, never
an error. Typed sources (Parquet, databases, frames, Ibis tables) keep their own schema.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable
from pathlib import Path

import ibis
import ibis.expr.types as ir

from ethica._exceptions import DataSourceError, InvalidParameterError
from ethica.data._engine import default_connection, first_line, quiet_engine
from ethica.data._sources import Backend, open_source

__all__ = ["parse_numbers", "private_table", "source_identity"]

_SEPARATORS = {".tsv": "\t", ".tab": "\t"}


@quiet_engine
def private_table(
    source: object,
    *,
    table: str | None = None,
    backend: Backend | None = None,
    encoding: str | None = None,
) -> tuple[ir.Table, bool]:
    """The Ibis table of ``source`` for a DP release, and whether it is a text-typed CSV.

    A CSV path (``.csv``, ``.tsv``, ``.txt``, optionally ``.gz``) on the default engine is
    read as described in the module docstring; anything else as
    :func:`~ethica.data.resolve_table` reads it.
    """
    path = _csv_path(source) if backend != "spark" else None
    if path is None:
        return open_source(source, table=table, backend=backend, encoding=encoding).table, False
    separator = _SEPARATORS.get(_stem_suffix(path), ",")
    names = _header(path, separator, encoding)
    options: dict[str, object] = {} if encoding is None else {"encoding": encoding}
    try:
        parsed = default_connection().read_csv(
            str(path),
            columns=dict.fromkeys(names, "VARCHAR"),
            header=True,
            auto_detect=False,
            delim=separator,
            quote='"',
            escape='"',
            ignore_errors=True,
            **options,
        )
    except Exception as exc:
        raise DataSourceError(
            f"cannot read the CSV {str(path)!r}: {first_line(exc)}; check the path and the "
            "encoding (encoding=)."
        ) from exc
    return parsed, True


def parse_numbers(table: ir.Table, columns: Iterable[str]) -> ir.Table:
    """``table`` with the text ``columns`` parsed as numbers in the engine (``TRY_CAST``: a
    value that does not parse is NULL, never an error; surrounding spaces are ignored).

    The text is trimmed before the cast on purpose: DuckDB pushes a bare ``TRY_CAST`` of a CSV
    column into the CSV reader as the column's type, where a value that does not parse makes
    the reader (``ignore_errors``) drop the whole row instead of giving a missing value.
    """
    text = [c for c in dict.fromkeys(columns) if c in table.columns and table[c].type().is_string()]
    if not text:
        return table
    return table.mutate(**{c: table[c].strip().try_cast("float64") for c in text})


def source_identity(source: object, table: ir.Table) -> str:
    """What a release reads, for replay checks: an Ibis table as its SQL (so a filter or a
    projection makes another source); anything else as given (a path or URL as its text, a
    data frame by its type) with ``table``'s schema.

    Ibis names registered files and in-memory tables at random (``ibis_read_csv_<26 chars>``);
    those suffixes are dropped, so the same source opened twice has the same identity.
    """
    if isinstance(source, ir.Table):
        try:
            text = str(ibis.to_sql(table))
        except Exception:  # a backend without SQL: its expression's repr
            text = repr(table)
        return "ibis table|" + _GENERATED_NAME.sub(r"\1", text)
    description = str(source) if isinstance(source, str | Path) else type(source).__name__
    return f"{description}|{table.schema()}"


_GENERATED_NAME = re.compile(r"(ibis_[a-z_]+?)_[a-z0-9]{26}")


def _csv_path(source: object) -> Path | None:
    if not isinstance(source, str | Path) or "://" in str(source):
        return None
    path = Path(source).expanduser()
    if path.is_dir() or _stem_suffix(path) not in (".csv", ".tsv", ".tab", ".txt"):
        return None
    return path


def _stem_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _header(path: Path, separator: str, encoding: str | None) -> list[str]:
    """The column names on the first line (the only line read here)."""
    if not path.exists():
        raise DataSourceError(f"file not found: {str(path)!r}; check the path.")
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            first = handle.readline()
        line = first.decode(encoding or "utf-8-sig")
    except (OSError, UnicodeDecodeError, LookupError) as exc:
        raise DataSourceError(
            f"cannot read the header line of {str(path)!r} ({exc}); check the file and its "
            "encoding (encoding=)."
        ) from exc
    names = next(csv.reader(io.StringIO(line), delimiter=separator), [])
    names = [n.strip() for n in names]
    if not names or any(not n for n in names):
        raise DataSourceError(
            f"{str(path)!r} has no usable header line (got {line.strip()[:80]!r}); a CSV for a "
            "release needs column names on its first line."
        )
    if len(set(names)) != len(names):
        raise InvalidParameterError(
            f"{str(path)!r} repeats a column name in its header {names}; rename the columns."
        )
    return names
