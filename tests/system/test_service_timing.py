"""Releases answered at fixed times through a real server on 127.0.0.1: every query response
(a release, a refusal, a failure after the charge) leaves ``release_seconds`` after its request
arrived; other endpoints are not held; a release slower than the floor leaves at a doubling of
it and is logged; a bad floor is refused when the config is read."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ethica._exceptions import InvalidParameterError
from ethica.service import build_app
from ethica.service._config import load_config
from ethica.service._core import ServiceCore
from tests.system._service_setup import running_server, write_service
from tests.system.test_service_contract import SECRET, SQL, _break_income

FLOOR = 1.0


def _with_floor(tmp: Path, floor: object) -> Path:
    path = write_service(tmp)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["release_seconds"] = floor
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ServiceCore, dict[str, str]]]:
    app, core = build_app(str(_with_floor(tmp_path, FLOOR)))
    key, _ = core.store.create_key("alice")
    with running_server(app) as url:
        yield url, core, {"Authorization": f"Bearer {key}"}
    core.close()


def _timed(http: httpx.Client, path: str, headers: dict[str, str], body: Any) -> tuple[int, float]:
    start = time.monotonic()
    response = http.post(path, headers=headers, json=body)
    return response.status_code, time.monotonic() - start


def test_every_query_answer_leaves_at_the_floor_whatever_happened(
    served: tuple[str, ServiceCore, dict[str, str]],
) -> None:
    url, core, alice = served
    cheap = {"sql": "SELECT COUNT(*) FROM visits", "budget": {"epsilon": 0.1}}
    with httpx.Client(base_url=url, timeout=60) as http:
        outcomes = [
            _timed(http, "/api/v1/query", alice, cheap),  # a release
            _timed(http, "/api/v1/query", alice, {**cheap, "sql": "SELECT * FROM visits"}),
            _timed(http, "/api/v1/query", alice, {**cheap, "budget": {"epsilon": 1.5}}),
        ]
        _break_income(core)
        outcomes.append(
            _timed(http, "/api/v1/query", alice, {"sql": SQL, "budget": {"epsilon": 0.1}})
        )
        planned = _timed(http, "/api/v1/plan", alice, cheap)
        failed = http.get("/api/v1/history", headers=alice).json()[-1]
    assert [status for status, _ in outcomes] == [200, 400, 403, 500]
    assert all(seconds >= FLOOR for _, seconds in outcomes), outcomes
    assert planned[0] == 200 and planned[1] < FLOOR  # reads no private data: not held
    assert failed["status"] == "failed" and SECRET not in str(failed)


def test_a_release_slower_than_the_floor_leaves_at_a_doubling_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    floor = 0.001  # below any release's time: every release overruns
    app, core = build_app(str(_with_floor(tmp_path, floor)))
    key, _ = core.store.create_key("alice")
    body = {"sql": SQL, "budget": {"epsilon": 0.1}}
    with (
        caplog.at_level(logging.WARNING, logger="ethica.service.timing"),
        running_server(app) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        response = http.post("/api/v1/query", headers={"Authorization": f"Bearer {key}"}, json=body)
    core.close()
    assert response.status_code == 200 and response.json()["tables"]
    (record,) = [r for r in caplog.records if r.name == "ethica.service.timing"]
    assert "over the timing floor of 0.001 s" in record.getMessage()


@pytest.mark.parametrize("floor", [0, -1, 601, "fast", True])
def test_a_floor_that_is_not_a_time_in_range_is_refused(tmp_path: Path, floor: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"release_seconds must be a number of secon"):
        load_config(_with_floor(tmp_path, floor))


def test_while_an_answer_is_held_its_replay_and_history_say_only_in_progress(
    served: tuple[str, ServiceCore, dict[str, str]],
) -> None:
    """The ledger knows the outcome when the engine is done; until the held answer has left,
    a replay of its request id answers 409 "in progress" and the history shows it charged,
    without output. Afterwards both show the release (review C, finding 2.1)."""
    url, _, alice = served
    body = {"sql": SQL, "budget": {"epsilon": 0.1}, "request_id": "held-1"}
    answer: dict[str, Any] = {}

    def send() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            answer["response"] = http.post("/api/v1/query", headers=alice, json=body)

    sender = threading.Thread(target=send)
    sender.start()
    with httpx.Client(base_url=url, timeout=60) as http:
        time.sleep(FLOOR / 2)  # the release (tens of ms) is done; its answer is held
        assert "response" not in answer
        history = http.get("/api/v1/history", headers=alice).json()
        replay = http.post("/api/v1/query", headers=alice, json=body)
        sender.join()
        after = http.get("/api/v1/history", headers=alice).json()
        again = http.post("/api/v1/query", headers=alice, json=body)
    assert [(h["status"], h["output"]) for h in history] == [("charged", None)]
    assert replay.status_code == 409 and "in progress" in replay.json()["message"]
    assert answer["response"].status_code == 200
    assert [h["status"] for h in after] == ["released"] and after[0]["output"] is not None
    assert (
        again.status_code == 200 and again.json()["tables"] == answer["response"].json()["tables"]
    )
