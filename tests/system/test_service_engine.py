"""The service's engine reads each source once with the release's rules (ethica.data._memory)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from ethica._exceptions import SchemaError
from ethica.data._engine import compiled_scope, scoped_memo
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


def test_scoped_memo_keeps_values_per_principal_and_nothing_outside_a_scope() -> None:
    calls: list[str] = []

    def compute(label: str) -> str:
        calls.append(label)
        return label

    key = ("test memo", object())
    assert scoped_memo(key, lambda: compute("a")) == "a"
    assert scoped_memo(key, lambda: compute("b")) == "b"  # outside a scope: never kept
    with compiled_scope("alice"):
        assert scoped_memo(key, lambda: compute("c")) == "c"
        assert scoped_memo(key, lambda: compute("d")) == "c"  # alice's, kept
    with compiled_scope("bob"):  # alice's value never speeds up bob's query
        assert scoped_memo(key, lambda: compute("e")) == "e"
    assert calls == ["a", "b", "c", "e"]


def test_a_release_compiles_its_source_identity_once_per_analyst_and_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ethica.data._engine as engine_module
    import ethica.privacy.release._session as session_module
    from ethica.service._core import Caller, ServiceCore

    monkeypatch.setattr(engine_module, "_MEMO", OrderedDict())  # none from earlier tests
    compiled: list[str] = []
    inner = session_module.source_identity  # type: ignore[attr-defined]

    def counted(source: object, table: object) -> str:
        text = inner(source, table)
        compiled.append(text)
        return text

    monkeypatch.setattr(session_module, "source_identity", counted)
    core = ServiceCore(load_config(write_service(tmp_path)))
    try:
        sql = "SELECT COUNT(*) FROM visits WHERE age >= 18"
        for _ in range(3):
            core.query(Caller("alice", "analyst"), sql, {"epsilon": 0.01})
        assert len(compiled) == 1 and "18" in compiled[0]
        core.query(Caller("alice", "analyst"), sql.replace("18", "19"), {"epsilon": 0.01})
        core.query(Caller("bob", "analyst"), sql, {"epsilon": 0.01})  # bob's own, anew
        assert len(compiled) == 3 and "19" in compiled[1] and compiled[2] == compiled[0]
    finally:
        core.close()


def test_row_level_expressions_are_built_once_per_scope_and_user_level_ones_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ethica.data._bounding as bounding
    import ethica.data._engine as engine_module

    monkeypatch.setattr(engine_module, "_MEMO", OrderedDict())
    built: list[str] = []
    projected = bounding._projected

    def count_projected(shape: Any, contribution: Any) -> Any:
        built.append("row" if contribution is None else "user")
        return projected(shape, contribution)

    monkeypatch.setattr(bounding, "_projected", count_projected)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT i % 3 AS k, i % 7 AS user, i * 1.0 AS x FROM range(50) r(i)"
    )
    table = ibis.duckdb.from_connection(con).table("t")
    total = bounding.ClampedSum("s", "x", 0.0, 10.0, 1.0)
    user = bounding.Contribution("user", 1, 1)
    try:
        with compiled_scope("alice"):
            first = bounding.bounded_aggregate(table, by=["k"], sums=[total])
            second = bounding.bounded_aggregate(table, by=["k"], sums=[total])
            assert built == ["row"]  # built once, run twice
            bounding.bounded_aggregate(table, by=["k"], sums=[total], contribution=user)
            bounding.bounded_aggregate(table, by=["k"], sums=[total], contribution=user)
            assert built[1:] == ["user", "user"]  # a fresh salt each time
        bounding.bounded_aggregate(table, by=["k"], sums=[total])  # outside: built anew
        assert built[3:] == ["row"]
        # the kept expression answers what a fresh one does (integers on a grid of 1)
        expected = {k: sum(min(i, 10) for i in range(50) if i % 3 == k) for k in range(3)}
        for frame in (first, second):
            assert dict(zip(frame["k"], frame["s"], strict=True)) == expected
    finally:
        con.close()
