"""Review C, area 2: the service's timing floor (``release_seconds``, commit e991da5).

Reproductions of findings through a real server on 127.0.0.1; each now guards its fix.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from ethica._exceptions import EthicaError
from ethica.service import build_app
from ethica.service._timing import RELEASE_PATH, ReleaseTimingMiddleware
from tests.system._service_setup import running_server, write_service

FLOOR = 4.0  # far above a release on the 2,000-row test table (tens of ms)
SQL = "SELECT region, COUNT(*) FROM visits GROUP BY region"
CHEAP: dict[str, Any] = {"sql": SQL, "budget": {"epsilon": 0.1}}


def _floored(tmp_path: Path) -> tuple[Any, Any, str]:
    """The test service with ``release_seconds: FLOOR``: its app, core and alice's key."""
    path = write_service(tmp_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["release_seconds"] = FLOOR
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    app, core = build_app(str(path))
    key, _ = core.store.create_key("alice")
    return app, core, key


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    app, core, key = _floored(tmp_path)
    with running_server(app) as url:
        yield url, {"Authorization": f"Bearer {key}"}
    core.close()


def test_completion_is_not_visible_while_the_answer_is_held(
    served: tuple[str, dict[str, str]],
) -> None:
    """The floor hides when a release finished from its own answer, but the same analyst's
    GET /api/v1/history shows the charge leave 'charged' (and its output) the moment the
    engine is done, while the answer is still held: polling it times the release. (A replay
    of the request id answers 409 'charged' before and 200 after, the same channel.)"""
    url, alice = served
    body: dict[str, Any] = {**CHEAP, "request_id": uuid.uuid4().hex}
    answered = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            http.post("/api/v1/query", headers=alice, json=body)
        answered.set()

    sender = threading.Thread(target=send)
    sender.start()
    seen_while_held: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        while not answered.is_set():
            records = http.get("/api/v1/history", headers=alice).json()
            done = [r for r in records if r["status"] != "charged"]
            if done and not answered.is_set():
                seen_while_held = done
                break
            time.sleep(0.02)
    sender.join()
    assert seen_while_held == [], seen_while_held  # completion (and output) seen before the answer


def test_an_unhandled_error_still_leaves_at_the_floor() -> None:
    """ReleaseTimingMiddleware sleeps only when ``call_next`` returns: an exception that no
    handler answers propagates past it, and the 500 leaves at once (uvicorn also resets the
    connection). Reachable today through free-check crashes (finding 2.3)."""

    def fails(request: Request) -> Response:
        raise RuntimeError("an error no handler answers")

    app = Starlette(routes=[Route(RELEASE_PATH, fails, methods=["POST"])])
    app.add_middleware(ReleaseTimingMiddleware, floor=FLOOR)
    with running_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        start = time.monotonic()
        response = http.post(RELEASE_PATH, json={})
        elapsed = time.monotonic() - start
    # a lower bound that the floor's own sleep guarantees (not a speed assertion)
    assert response.status_code == 500 and elapsed >= FLOOR, (response.status_code, elapsed)


@pytest.mark.parametrize(
    "budget",
    [
        {"epsilon": "1e-400"},  # OverflowError: float() of the noise scale, _evaluate._checked
        {"rho": "1e999999"},  # ValueError: str() of a 10**6-digit Fraction, _budgets._show
    ],
)
def test_extreme_budgets_are_refused_not_crashed(tmp_path: Path, budget: dict[str, str]) -> None:
    """Free checks must refuse with a message naming the problem (400), never raise a
    non-Ethica error (an unhandled 500 that also skips the floor: finding 2.2)."""
    _, core = build_app(str(write_service(tmp_path)))
    key, _ = core.store.create_key("alice")
    caller = core.caller(key)
    assert caller is not None
    try:
        with pytest.raises(EthicaError):
            core.query(caller, SQL, budget)
    finally:
        core.close()


def test_the_floor_holds_when_the_service_is_mounted_under_a_prefix(tmp_path: Path) -> None:
    """The middleware compares ``request.url.path`` with '/api/v1/query'; under a mount (or
    uvicorn's --root-path behind a proxy) the path is '/prefix/api/v1/query', the release
    runs and the floor is silently skipped."""
    app, core, key = _floored(tmp_path)
    outer = Starlette(routes=[Mount("/ethica", app=app)])
    try:
        with running_server(outer) as url, httpx.Client(base_url=url, timeout=60) as http:
            start = time.monotonic()
            response = http.post(
                "/ethica" + RELEASE_PATH, headers={"Authorization": f"Bearer {key}"}, json=CHEAP
            )
            elapsed = time.monotonic() - start
    finally:
        core.close()
    # a lower bound that the floor's own sleep guarantees (not a speed assertion)
    assert response.status_code == 200 and elapsed >= FLOOR, (response.status_code, elapsed)
