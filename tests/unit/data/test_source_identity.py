"""source_identity: what a release reads, for replay fingerprints."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from ethica.data._private_sources import private_table, source_identity


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "b", "a", "b"]})


def _memtable() -> ibis.Table:
    return ibis.memtable(pa.Table.from_pandas(_frame(), preserve_index=False))


def test_the_same_frame_registered_twice_has_one_identity() -> None:
    """Ibis names in-memory tables at random; the identity drops those names."""
    first, second = _memtable(), _memtable()
    assert first.get_name() != second.get_name()
    assert source_identity(first, first) == source_identity(second, second)


def test_a_filter_or_a_projection_makes_another_identity() -> None:
    table = _memtable()
    whole = source_identity(table, table)
    some = table.filter(table.x > 2)
    fewer = table.select("x")
    assert source_identity(some, some) != whole
    assert source_identity(fewer, fewer) != whole


def test_a_path_is_named_with_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    _frame().to_csv(path, index=False)
    first, _ = private_table(path)
    second, _ = private_table(str(path))
    identity = source_identity(str(path), second)
    assert identity == source_identity(path, first)
    assert identity.startswith(f"{path}|")
    other = tmp_path / "other.csv"
    _frame().to_csv(other, index=False)
    assert source_identity(other, private_table(other)[0]) != identity
