"""ethica.service.Client, ``ethica query``, rate limits and the per-thread engine, against a
real uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import ibis
import pytest
import yaml
from typer.testing import CliRunner

from ethica._exceptions import BudgetExceededError, InvalidParameterError
from ethica.cli import app as cli
from ethica.data._engine import default_connection
from ethica.privacy.sql import SqlRefusedError
from ethica.service import Client, RateLimitedError, build_app
from ethica.service._core import AccessDeniedError
from ethica.service._ratelimit import RateLimiter
from tests.system._service_setup import REGIONS, running_server, write_service

SQL = "SELECT region, COUNT(*), AVG(income) FROM visits GROUP BY region"
runner = CliRunner()


def _with(config: Path, **extra: object) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.update(extra)
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def test_client_datasets_plan_query_history_and_errors(tmp_path: Path) -> None:
    app, core = build_app(str(write_service(tmp_path, grants={"alice": 0.3})))
    key = core.store.create_key("alice")[0]
    try:
        with running_server(app) as url, Client(url, key) as client:
            assert client.me() == {"name": "alice", "role": "analyst"}
            assert [d["name"] for d in client.datasets()] == ["visits"]
            plan = client.plan(SQL, {"epsilon": 0.1})
            assert [a["name"] for a in plan["aggregates"]] == ["COUNT(*)", "AVG(income)"]
            assert client.history() == []  # planning is free
            first = client.query(SQL, 0.1, request_id="q1")
            counts = first["tables"][0]
            assert [k[0] for k in counts["keys"]] == REGIONS
            assert all(
                lo <= v <= hi
                for v, lo, hi in zip(
                    *(counts[c] for c in ("values", "ci_low", "ci_high")), strict=True
                )
            )
            again = client.query(SQL, 0.1, request_id="q1")  # a retry: stored, not recharged
            assert again["tables"] == first["tables"]
            history = client.history()
            assert len(history) == 1 and history[0]["cost"]["epsilon"] == "1/10"
            with pytest.raises(SqlRefusedError) as refused:
                client.plan("SELECT * FROM visits; DROP TABLE visits", 0.1)
            assert refused.value.node and "not allowed" in str(refused.value)
            with pytest.raises(BudgetExceededError):
                client.query(SQL, 0.25)  # 0.1 spent of alice's 0.3
            with pytest.raises(InvalidParameterError):
                client.query(SQL, {"rho": 0.1})  # the dataset spends epsilon
            with pytest.raises(AccessDeniedError):
                client.query("SELECT COUNT(*) FROM other", 0.1)  # no grant
            with Client(url, "not-a-key") as stranger, pytest.raises(AccessDeniedError):
                stranger.datasets()
        assert len(core.ledgers["alice"].history("visits")) == 1
    finally:
        core.close()


def test_ethica_query_cli_releases_and_plans(tmp_path: Path) -> None:
    app, core = build_app(str(write_service(tmp_path)))
    key = core.store.create_key("bob")[0]
    try:
        with running_server(app) as url:
            base = ["query", SQL, "--url", url, "--key", key]
            planned = runner.invoke(cli, [*base, "--epsilon", "0.2", "--plan"])
            assert planned.exit_code == 0, planned.output
            assert "half-width" in planned.output and "remaining: epsilon=2" in planned.output
            released = runner.invoke(cli, [*base, "--epsilon", "1/5", "--json"])
            assert released.exit_code == 0, released.output
            answer = json.loads(released.output)
            assert answer["budget"]["epsilon"] == "1/5" and len(answer["tables"]) == 2
            shown = runner.invoke(
                cli, ["query", SQL, "--url", url, "--epsilon", "0.1"], env={"ETHICA_API_KEY": key}
            )
            assert shown.exit_code == 0, shown.output
            assert "north" in shown.output and "remaining: epsilon=17/10" in shown.output
            no_key = runner.invoke(
                cli, ["query", SQL, "--url", url, "--epsilon", "0.1"], env={"ETHICA_API_KEY": ""}
            )
            assert no_key.exit_code == 2 and "ETHICA_API_KEY" in no_key.output
            refused = runner.invoke(cli, [*base, "--epsilon", "5"])
            assert (
                refused.exit_code != 0 and "nothing was read, released or charged" in refused.output
            )
        spent = core.ledgers["bob"].spent_by_analyst("visits")
        assert str(spent.epsilon) == "3/10"  # type: ignore[attr-defined]
    finally:
        core.close()


def test_rate_limit_per_principal_answers_429_with_retry_after(tmp_path: Path) -> None:
    config = _with(write_service(tmp_path), rate_limits={"default": 1000, "alice": 3})
    app, core = build_app(str(config))
    keys = {name: core.store.create_key(name)[0] for name in ("alice", "bob")}
    try:
        with running_server(app) as url:
            alice = {"Authorization": f"Bearer {keys['alice']}"}
            codes = [
                httpx.get(f"{url}/api/v1/datasets", headers=alice).status_code for _ in range(3)
            ]
            assert codes == [200, 200, 200]
            over = httpx.get(f"{url}/api/v1/datasets", headers=alice)
            assert over.status_code == 429 and over.json()["error"] == "rate_limited"
            assert int(over.headers["Retry-After"]) >= 1  # 3 a minute: a token every 20 s
            with Client(url, keys["alice"]) as client, pytest.raises(RateLimitedError) as err:
                client.query(SQL, 0.1)
            assert err.value.retry_after >= 1
            with Client(url, keys["bob"]) as bob:  # bob's allowance is his own
                for _ in range(5):
                    bob.datasets()
            audit = core.store.audit_log(100)
            assert sum(a["status"] == 429 for a in audit) == 2
        assert core.ledgers["alice"].history("visits") == []  # the refused query never ran
    finally:
        core.close()


def test_rate_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(lambda name: 60.0 if name == "a" else None, clock=lambda: now[0])
    assert all(limiter.acquire("a") is None for _ in range(60))
    wait = limiter.acquire("a")
    assert wait is not None and wait == pytest.approx(1.0)
    now[0] += 0.5
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.acquire("a") is None  # one token back after a second at 60/min
    assert all(limiter.acquire("b") is None for _ in range(1000))  # no limit


@pytest.mark.parametrize("bad", [{"mallory": 5}, {"default": 0}, {"alice": "fast"}, [5]])
def test_rate_limit_config_is_checked(tmp_path: Path, bad: object) -> None:
    config = _with(write_service(tmp_path), rate_limits=bad)
    with pytest.raises(InvalidParameterError, match="rate_limits"):
        build_app(str(config))


def test_sources_are_read_once_and_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    config = write_service(tmp_path)
    _, core = build_app(str(config))
    try:
        (tmp_path / "visits.csv").unlink()  # read at startup: the file is no longer needed
        from ethica.service._core import Caller

        alice = Caller("alice", "analyst")
        backends: list[object] = []
        results: list[float] = []

        def work() -> None:
            backends.append(ibis.get_backend(core.engines.table("visits")))
            out = core.query(alice, "SELECT COUNT(*) FROM visits", {"epsilon": 0.05})
            results.append(out["tables"][0]["values"][0])

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 4 and all(abs(v - 2000) < 400 for v in results)
        assert len({id(b) for b in backends}) == 4 and core.engines.connections == 4
        assert all(b is not default_connection() for b in backends)
        assert core.engines.rows == {"visits": 2000, "other": 2000}
    finally:
        core.close()
