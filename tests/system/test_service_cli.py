"""``ethica serve``: keys from the command line, and the real server started by one command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy.budget import PureDP
from ethica.privacy.budget._ledger import Ledger
from ethica.service._store import Store
from tests.system._service_setup import write_service

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    config = write_service(tmp_path)
    created = runner.invoke(app, ["serve", "keys", "create", "alice", "--config", str(config)])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    store = Store(tmp_path / "service.sqlite3")
    assert store.principal(secret) == "alice"
    assert secret not in (tmp_path / "service.sqlite3").read_bytes().decode("latin-1")
    listed = runner.invoke(app, ["serve", "keys", "list", "--config", str(config)])
    assert "alice" in listed.output and secret not in listed.output
    revoked = runner.invoke(app, ["serve", "keys", "revoke", "1", "--config", str(config)])
    assert revoked.exit_code == 0 and store.principal(secret) is None
    store.close()
    unknown = runner.invoke(app, ["serve", "keys", "create", "mallory", "--config", str(config)])
    assert unknown.exit_code == 2 and "mallory" in unknown.output
    missing = runner.invoke(app, ["serve"])
    assert missing.exit_code == 2 and "--config" in missing.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(config: Path, port: int) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "ethica"), "serve", "--config", str(config)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "ethica serve did not start within 60 s"
            time.sleep(0.2)


@pytest.mark.slow
def test_serve_starts_and_a_kill_9_mid_load_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    config = write_service(tmp_path, total=3.0, grants={"alice": 3.0})
    key = runner.invoke(app, ["serve", "keys", "create", "alice", "--config", str(config)])
    headers = {"Authorization": f"Bearer {key.output.strip().splitlines()[-1]}"}
    port = _free_port()
    process = _start(config, port)
    url = f"http://127.0.0.1:{port}/api/v1/query"
    sql = "SELECT region, COUNT(*), AVG(income) FROM visits GROUP BY region"

    def ask(i: int) -> int:
        body = {"sql": sql, "budget": {"epsilon": 0.01}, "request_id": f"r{i}"}
        try:
            return httpx.post(url, json=body, headers=headers, timeout=30).status_code
        except httpx.TransportError:
            return -1  # the server died under this request

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(ask, i) for i in range(400)]
            # kill mid-load: once some answers are in (not after a fixed sleep, which a slow
            # first query per worker thread can outlast), while most requests are pending
            deadline = time.monotonic() + 60
            while sum(f.done() and f.result() == 200 for f in futures) < 4:
                assert time.monotonic() < deadline, "no answer within 60 s"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            codes = [f.result() for f in futures]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
    done = codes.count(200)
    assert done > 0 and -1 in codes  # some answered before the kill, some died with it
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    history = ledger.history("visits")
    ids = [r.request_id for r in history]
    assert len(ids) == len(set(ids))  # no request charged twice
    assert sum(r.status == "released" for r in history) >= done  # every answer is recorded
    assert {r.status for r in history} <= {"released", "charged"}
    assert ledger.status("visits").spent == PureDP(Fraction(len(history), 100))
    ledger.close()
    # Restarted on the same files, the server replays a finished request and charges nothing.
    process = _start(config, port)
    try:
        released = next(r for r in history if r.status == "released")
        body = {
            "sql": sql,
            "budget": {"epsilon": 0.01},
            "request_id": json.loads(released.request_id)[1],  # stored as [analyst, id]
        }
        again = httpx.post(url, json=body, headers=headers, timeout=30)
        assert again.status_code == 200
        assert again.json()["tables"][0]["values"] == released.output["tables"][0]["values"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert len(ledger.history("visits")) == len(history)
    ledger.close()
