"""The DP query service through FastAPI's TestClient: auth, grants, plan, query, budgets, SQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ethica.service import build_app
from ethica.service._core import ServiceCore
from tests.system._service_setup import REGIONS, write_service

SQL = "SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY region"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, ServiceCore]]:
    app, core = build_app(str(write_service(tmp_path)))
    with TestClient(app) as client:
        yield client, core
    core.close()


def _auth(core: ServiceCore, name: str) -> dict[str, str]:
    key, _ = core.store.create_key(name)
    return {"Authorization": f"Bearer {key}"}


def test_query_releases_values_with_intervals_and_charges_both_caps(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice = _auth(core, "alice")
    response = client.post(
        "/api/v1/query", headers=alice, json={"sql": SQL, "budget": {"epsilon": 0.5}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    count, mean = body["tables"]
    assert [k[0] for k in count["keys"]] == REGIONS
    for table in (count, mean):
        assert all(
            lo <= v <= hi
            for v, lo, hi in zip(table["values"], table["ci_low"], table["ci_high"], strict=True)
        )
    assert 300 < sum(count["values"]) < 2000  # adults among 2,000 rows, with noise
    assert body["bounding"][1]["clamped_to"] == [0.0, 200_000.0]
    assert body["remaining"]["epsilon"] == "1/2"  # alice's grant 1 minus 0.5
    assert core.ledgers["alice"].status("visits").spent.epsilon == 0.5  # type: ignore[union-attr]
    history = client.get("/api/v1/history", headers=alice).json()
    assert [h["status"] for h in history] == ["released"]
    assert (
        history[0]["analyst"] == "alice"
        and history[0]["output"]["tables"][0]["values"] == count["values"]
    )


def test_plan_is_free_and_matches_the_released_count_interval(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    bob = _auth(core, "bob")
    sql = "SELECT region, COUNT(*) FROM visits GROUP BY region"
    plan = client.post(
        "/api/v1/plan", headers=bob, json={"sql": sql, "budget": {"epsilon": 0.25}}
    ).json()
    assert plan["remaining"]["epsilon"] == "2" and plan["cells"] == 4
    assert core.ledgers["bob"].status("visits").charges == 0
    released = client.post(
        "/api/v1/query", headers=bob, json={"sql": sql, "budget": {"epsilon": 0.25}}
    ).json()
    table = released["tables"][0]
    half = plan["aggregates"][0]["half_width"]
    assert [hi - v for v, hi in zip(table["values"], table["ci_high"], strict=True)] == [half] * 4


def test_auth_failures_are_one_401_without_a_key_with_a_wrong_or_revoked_key(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    key, record = core.store.create_key("alice")
    ok = client.get("/api/v1/datasets", headers={"X-API-Key": key})
    assert ok.status_code == 200
    core.store.revoke(record.id)
    answers = [
        client.get("/api/v1/datasets"),
        client.get("/api/v1/datasets", headers={"Authorization": "Bearer " + key[:-1] + "x"}),
        client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {key}"}),
        client.post(
            "/api/v1/query", headers={"X-API-Key": key}, json={"sql": SQL, "budget": {"epsilon": 1}}
        ),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1  # the same body whatever went wrong
    assert core.ledgers["alice"].status("visits").charges == 0
    assert core.store.principal(key) is None


def test_grants_and_histories_are_private_to_each_analyst(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice, carol = _auth(core, "alice"), _auth(core, "carol")
    names = [d["name"] for d in client.get("/api/v1/datasets", headers=alice).json()]
    assert names == ["visits"]  # not "other": not granted
    refused = client.post(
        "/api/v1/query",
        headers=alice,
        json={"sql": "SELECT COUNT(*) FROM other", "budget": {"epsilon": 0.1}},
    )
    assert refused.status_code == 403 and "no grant" in refused.json()["message"]
    assert client.get("/api/v1/history?analyst=bob", headers=alice).status_code == 403
    assert client.get("/api/v1/custodian/overview", headers=alice).status_code == 403
    client.post(
        "/api/v1/query",
        headers=alice,
        json={"sql": "SELECT COUNT(*) FROM visits", "budget": {"epsilon": 0.1}},
    )
    everything = client.get("/api/v1/history", headers=carol).json()
    assert [h["analyst"] for h in everything] == ["alice"]
    overview = client.get("/api/v1/custodian/overview", headers=carol).json()
    spent = {(a["analyst"], a["dataset"]): a["spent"]["epsilon"] for a in overview["analysts"]}
    assert spent == {("alice", "visits"): "1/10", ("bob", "visits"): "0"}
    assert overview["spend_per_day"][0]["spent"] == pytest.approx(0.1)
    audit = client.get("/api/v1/custodian/audit", headers=carol).json()
    assert {"principal": "alice", "path": "/api/v1/query", "status": 403} in [
        {k: a[k] for k in ("principal", "path", "status")} for a in audit
    ]


def test_custodian_creates_and_revokes_keys_over_http(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    carol = _auth(core, "carol")
    created = client.post("/api/v1/custodian/keys", headers=carol, json={"principal": "bob"}).json()
    bob = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/me", headers=bob).json() == {"name": "bob", "role": "analyst"}
    assert "key" not in client.get("/api/v1/custodian/overview", headers=carol).json()["keys"][-1]
    client.delete(f"/api/v1/custodian/keys/{created['id']}", headers=carol)
    assert client.get("/api/v1/me", headers=bob).status_code == 401
    unknown = client.post("/api/v1/custodian/keys", headers=carol, json={"principal": "mallory"})
    assert unknown.status_code == 400


def test_budget_exhaustion_is_403_with_what_remains_and_reads_nothing(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice = _auth(core, "alice")
    sql = "SELECT COUNT(*) FROM visits"
    assert (
        client.post(
            "/api/v1/query", headers=alice, json={"sql": sql, "budget": {"epsilon": 0.75}}
        ).status_code
        == 200
    )
    over = client.post(
        "/api/v1/query", headers=alice, json={"sql": sql, "budget": {"epsilon": 0.5}}
    )
    assert over.status_code == 403
    assert over.json()["error"] == "budget_exceeded"
    assert over.json()["remaining"]["epsilon"] == "1/4"
    assert core.ledgers["alice"].status("visits").charges == 1  # the refusal charged nothing


def test_sql_refusals_are_400_naming_the_node_and_charge_nothing(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice = _auth(core, "alice")
    cases = {
        "SELECT COUNT(*) FROM visits; DROP TABLE visits": "2 statements",
        "DROP TABLE visits": "Drop statement",
        "SELECT COUNT(*) FROM visits WHERE region = '' OR 1=1 --'": "Literal",
        "SELECT income FROM visits": "column 'income' outside GROUP BY",
        "SELECT COUNT(*) FROM visits WHERE "
        + "(" * 200
        + "age > 1"
        + ")" * 200: "nesting depth 200",
        "SELECT COUNT(*) FROM visits WHERE age IN ("
        + ",".join(["1"] * 1000)
        + ")": "an IN list of 1000 values",
        "SELECT COUNT(*) FROM read_csv('/etc/passwd')": "ReadCSV",
    }
    for sql, node in cases.items():
        for endpoint in ("plan", "query"):
            answer = client.post(
                f"/api/v1/{endpoint}", headers=alice, json={"sql": sql, "budget": {"epsilon": 0.1}}
            )
            assert answer.status_code == 400, (sql, answer.text)
            assert answer.json()["node"] == node, answer.json()
    assert core.ledgers["alice"].status("visits").charges == 0


def test_wrong_budget_kind_and_custodian_spending_are_refused_for_free(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice, carol = _auth(core, "alice"), _auth(core, "carol")
    sql = "SELECT COUNT(*) FROM visits"
    assert (
        client.post(
            "/api/v1/query", headers=alice, json={"sql": sql, "budget": {"rho": 0.1}}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/query", headers=alice, json={"sql": sql, "budget": {"epsilon": -1}}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/query", headers=carol, json={"sql": sql, "budget": {"epsilon": 0.1}}
        ).status_code
        == 403
    )
    assert core.ledgers["alice"].status("visits").charges == 0


def test_a_replayed_request_id_returns_the_stored_release(
    service: tuple[TestClient, ServiceCore],
) -> None:
    client, core = service
    alice = _auth(core, "alice")
    body = {"sql": "SELECT COUNT(*) FROM visits", "budget": {"epsilon": 0.2}, "request_id": "r1"}
    first = client.post("/api/v1/query", headers=alice, json=body).json()
    again = client.post("/api/v1/query", headers=alice, json=body).json()
    assert again["tables"][0]["values"] == first["tables"][0]["values"]
    assert core.ledgers["alice"].status("visits").charges == 1
    assert again["remaining"]["epsilon"] == "4/5"


def test_pages_are_self_contained(service: tuple[TestClient, ServiceCore]) -> None:
    client, _ = service
    for path in ("/", "/custodian"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<script" in page.text
        assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in page.text and "src=" not in page.text


def test_plan_gives_approx_dp_intervals_equal_to_the_release(tmp_path: Path) -> None:
    """ApproxDP with public keys: Laplace noise on epsilon (delta unused), planned exactly."""
    import yaml

    path = write_service(tmp_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["datasets"]["visits"]["total"] = {"epsilon": 3, "delta": 1e-6}
    config["analysts"] = {"alice": {"visits": {"epsilon": 1, "delta": 1e-6}}}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    app, core = build_app(str(path))
    sql = "SELECT region, COUNT(*), SUM(income) FROM visits GROUP BY region"
    budget = {"epsilon": 0.5, "delta": 1e-7}
    try:
        with TestClient(app) as client:
            alice = _auth(core, "alice")
            plan = client.post("/api/v1/plan", headers=alice, json={"sql": sql, "budget": budget})
            assert plan.status_code == 200, plan.text
            planned = [a["half_width"] for a in plan.json()["aggregates"]]
            assert all(isinstance(h, float) and h > 0 for h in planned)
            released = client.post(
                "/api/v1/query", headers=alice, json={"sql": sql, "budget": budget}
            ).json()
    finally:
        core.close()
    for table, half in zip(released["tables"], planned, strict=True):
        widths = [hi - v for v, hi in zip(table["values"], table["ci_high"], strict=True)]
        assert widths == pytest.approx([half] * 4, rel=1e-12)
