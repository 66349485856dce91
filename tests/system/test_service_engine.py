"""The service's engine reads each source once with the release's rules (ethica.data._memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ethica._exceptions import SchemaError
from ethica.service._config import load_config
from ethica.service._engines import EnginePool
from tests.system._service_setup import write_service


def test_a_declared_column_missing_from_the_source_is_refused_at_startup(tmp_path: Path) -> None:
    config = load_config(write_service(tmp_path))
    (tmp_path / "visits.csv").write_text("region,income\nnorth,1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"dataset 'visits': declared columns \['age'\]"):
        EnginePool({"visits": config.datasets["visits"]})


def test_only_declared_columns_are_copied_and_text_numbers_are_parsed(tmp_path: Path) -> None:
    config = load_config(write_service(tmp_path))
    # An extra column (not copied); numbers arrive as text and are parsed in the engine.
    (tmp_path / "visits.csv").write_text(
        "region,age,income,secret\nnorth,30,10.5,x\nsouth,40,20,y\n", encoding="utf-8"
    )
    pool = EnginePool({"visits": config.datasets["visits"]})
    try:
        rows = pool.table("visits").order_by("region").to_pyarrow().to_pylist()
        assert pool.rows == {"visits": 2}
        assert rows == [
            {"region": "north", "age": 30.0, "income": 10.5},
            {"region": "south", "age": 40.0, "income": 20.0},
        ]
    finally:
        pool.close()
