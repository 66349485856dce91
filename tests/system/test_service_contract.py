"""The privacy contract through real HTTP (uvicorn on 127.0.0.1, httpx): DESIGN.md's rules 1-3.

* a release that fails after its charge keeps the charge ``failed``, answers a generic 500 and
  carries no engine text (the engine's own message here quotes a private value);
* refusals (SQL, budget kind, exhausted grant, unit refused from its type) are free: nothing
  charged, and nothing read (the engine's table is broken first, so any read would have
  turned the refusal into a failed charge);
* a NULL user id under a user-level unit is dropped before bounding (``nulls: drop``, the
  default), or refused for free from the column's type (``nulls: error``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from ethica.service import build_app
from ethica.service._core import ServiceCore
from tests.system._service_setup import running_server, write_service

SQL = "SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY region"
SECRET = "secret-income-7431"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ServiceCore]]:
    app, core = build_app(str(write_service(tmp_path)))
    with running_server(app) as url:
        yield url, core
    core.close()


def _key(core: ServiceCore, name: str) -> dict[str, str]:
    key, _ = core.store.create_key(name)
    return {"Authorization": f"Bearer {key}"}


def _break_income(core: ServiceCore) -> None:
    """Put a view in place of the engine's copy of ``visits`` whose ``income`` is still a
    number by type, so every free check passes, but whose first read fails in the engine with
    a message that quotes a private value (DuckDB's ``error()``)."""
    database = core.engines._database
    database.execute("ALTER TABLE visits RENAME TO visits_copy")
    database.execute(
        "CREATE VIEW visits AS SELECT region, age, CASE WHEN income IS NOT NULL THEN "
        f"error('{SECRET}') ELSE income END AS income FROM visits_copy"
    )


def _charges(core: ServiceCore) -> list[Any]:
    return core._admin.history("visits")


def test_a_failure_after_the_charge_keeps_it_failed_and_answers_without_engine_text(
    served: tuple[str, ServiceCore],
) -> None:
    url, core = served
    alice = _key(core, "alice")
    _break_income(core)
    with httpx.Client(base_url=url, timeout=60) as http:
        response = http.post(
            "/api/v1/query",
            headers=alice,
            json={"sql": SQL, "budget": {"epsilon": 0.25}, "request_id": "r1"},
        )
        assert response.status_code == 500
        body = response.json()
        assert body["error"] == "release_failed"
        text = response.text.lower()
        assert SECRET not in text
        assert not any(word in text for word in ("conversion", "cast", "duckdb", "varchar"))
        (charge,) = _charges(core)
        assert charge.status == "failed" and charge.cost.epsilon == 0.25
        assert SECRET not in (charge.error or "") and SECRET not in str(charge.output)
        left = http.get("/api/v1/datasets", headers=alice).json()[0]["your_remaining"]
        assert left["epsilon"] == "3/4"  # the failed release stays spent
        history = http.get("/api/v1/history", headers=alice).json()
        assert [h["status"] for h in history] == ["failed"]
        # the same request id is never run twice, and is not charged again
        again = http.post(
            "/api/v1/query",
            headers=alice,
            json={"sql": SQL, "budget": {"epsilon": 0.25}, "request_id": "r1"},
        )
        assert again.status_code == 409 and SECRET not in again.text
        assert len(_charges(core)) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sql": "SELECT * FROM visits", "budget": {"epsilon": 0.1}}, 400),
        ({"sql": SQL + "; DROP TABLE visits", "budget": {"epsilon": 0.1}}, 400),
        ({"sql": "SELECT COUNT(*) FROM visits WHERE nope > 1", "budget": {"epsilon": 0.1}}, 400),
        ({"sql": SQL, "budget": {"rho": 0.1}}, 400),
        ({"sql": SQL, "budget": {"epsilon": -1}}, 400),
        ({"sql": SQL, "budget": {"epsilon": 1.5}}, 403),  # beyond alice's grant of 1
    ],
    ids=["star", "stacked", "unknown-column", "budget-kind", "negative", "over-grant"],
)
def test_refusals_are_free_and_read_nothing(
    served: tuple[str, ServiceCore], body: dict[str, Any], status: int
) -> None:
    url, core = served
    alice = _key(core, "alice")
    _break_income(core)  # a read would now fail after a charge: a 500, not a refusal
    with httpx.Client(base_url=url, timeout=60) as http:
        for endpoint in ("/api/v1/plan", "/api/v1/query"):
            response = http.post(endpoint, headers=alice, json=body)
            if endpoint == "/api/v1/plan" and status == 403:
                assert response.status_code == 200  # planning beyond the grant is free
                continue
            assert response.status_code == status, response.text
            assert SECRET not in response.text
        left = http.get("/api/v1/datasets", headers=alice).json()[0]["your_remaining"]
    assert _charges(core) == []
    assert left["epsilon"] == "1"


def _people(tmp: Path, nulls: str) -> Path:
    """500 users with one row each (income 0) and 1,000 rows without a user id (income at the
    upper bound), under a user-level unit that keeps up to 50 rows of a user."""
    ids = [f"u{i}" for i in range(500)] + [None] * 1000
    frame = pd.DataFrame(
        {
            "person": pd.array(ids, dtype="string"),
            "income": [0.0] * 500 + [100.0] * 1000,
        }
    )
    frame.to_parquet(tmp / "people.parquet", index=False)
    config = {
        "ledger": "ledger.sqlite3",
        "store": "service.sqlite3",
        "datasets": {
            "people": {
                "source": "people.parquet",
                "privacy_unit": {
                    "kind": "user",
                    "column": "person",
                    "max_groups_per_user": 1,
                    "max_rows_per_group": 50,
                    "nulls": nulls,
                },
                "total": {"epsilon": 100},
                "columns": {"income": {"type": "number", "lower": 0, "upper": 100}},
            }
        },
        "analysts": {"alice": {"people": {"epsilon": 100}}},
    }
    path = tmp / "service.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_null_user_ids_are_dropped_before_bounding(tmp_path: Path) -> None:
    app, core = build_app(str(_people(tmp_path, "drop")))
    alice = _key(core, "alice")
    try:
        with running_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
            response = http.post(
                "/api/v1/query",
                headers=alice,
                json={"sql": "SELECT COUNT(*), SUM(income) FROM people", "budget": {"epsilon": 40}},
            )
        assert response.status_code == 200, response.text
        count, total = response.json()["tables"]
    finally:
        core.close()
    # Each aggregate gets epsilon 20 against a user's 50 rows: discrete Laplace of scale 2.5
    # on the count and 250 on the sum. |noise| > 25 (count) or > 2,500 (sum) has probability
    # exp(-10) < 5e-5. Kept as one user, the 1,000 id-less rows would add 50 rows (count 550)
    # and 5,000 (sum); counted as rows, 1,000 and 100,000.
    assert abs(count["values"][0] - 500) < 25
    assert abs(total["values"][0]) < 2_500
    assert "rows_without_user" in count["notes"] and "rows_without_user" in total["notes"]


def test_a_user_column_that_admits_nulls_is_refused_for_free_under_nulls_error(
    tmp_path: Path,
) -> None:
    app, core = build_app(str(_people(tmp_path, "error")))
    alice = _key(core, "alice")
    try:
        with running_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
            response = http.post(
                "/api/v1/query",
                headers=alice,
                json={"sql": "SELECT COUNT(*) FROM people", "budget": {"epsilon": 1}},
            )
        assert response.status_code == 400
        assert "nulls='drop'" in response.json()["message"]
        assert core._admin.history("people") == []
    finally:
        core.close()
