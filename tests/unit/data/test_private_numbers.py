"""A CSV read for a release keeps a row whose number does not parse: the value is missing."""

from __future__ import annotations

from pathlib import Path

from ethica.data._private_sources import parse_numbers, private_table
from ethica.privacy import Batch, Count, Mean, PureDP, Rows, Session


def test_an_unparsable_number_is_missing_not_a_dropped_row(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("region,age\nnorth,30\nsouth,n/a\neast, 7\n", encoding="utf-8")
    table, text = private_table(path)
    rows = parse_numbers(table, ["age"]).to_pyarrow().to_pylist()
    assert text and [r["region"] for r in rows] == ["north", "south", "east"]
    assert [r["age"] for r in rows] == [30.0, None, 7.0]


def test_a_count_beside_a_mean_sees_every_row(tmp_path: Path) -> None:
    """Parsing a measure for one query never removes rows from another's count."""
    path = tmp_path / "people.csv"
    rows = "".join(f"r{i},{'n/a' if i % 2 else i}\n" for i in range(2_000))
    path.write_text("region,age\n" + rows, encoding="utf-8")
    session = Session(path, privacy_unit=Rows(), budget=PureDP(2))
    release = session.evaluate(Batch((Count(), Mean("age", 0, 10_000))), PureDP(2))
    assert abs(release.tables[0].values[0] - 2_000) < 20
