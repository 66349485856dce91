"""A process SIGKILLed at random points never loses a recorded charge, never charges twice.

A child process (this module run with ``-m``) releases 250 queries, each as a charge with a
request id, reporting on stdout after every commit. It is killed with SIGKILL at random
moments after it opened the ledger (delays drawn from a seeded ``random.Random``, so the
schedule is reproducible) and restarted; each restart retries the same request ids. After
every kill the ledger must pass SQLite's integrity check, hold every charge the child
reported, hold each request id at most once, and count as spent exactly the sum of the
recorded charges (including those killed before their release completed).
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from ethica.privacy import Ledger, PureDP, discrete_laplace

COUNT = 250
ROUNDS = 5
COST = Fraction(1, 1000)


def charge_sequence(path: str, count: int) -> None:
    """Release ``count`` queries with request ids req-0.. (retry-safe), reporting each step."""
    book = Ledger(path, principal="crasher")
    print("ready", flush=True)
    for i in range(count):
        rid = f"req-{i}"
        record = book.record_charge("crash", PureDP(COST), f"q{i}", request_id=rid)
        print(f"charged {rid} {record.id}", flush=True)
        if record.status == "charged":
            noisy = i + discrete_laplace(1000, 100)  # the release itself takes a moment
            time.sleep(0.001)
            book.complete(record.id, output=noisy)
        print(f"released {rid}", flush=True)
    book.close()


def _run_child(path: Path, kill_after: float | None) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.system.test_ledger_crash", str(path), str(COUNT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    if kill_after is None:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    else:
        assert child.stdout is not None
        first = child.stdout.readline()  # "ready": the ledger is open, charging starts now
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=60)
        out = first + out
    return out.splitlines()


def _check(path: Path, reported: set[str]) -> list[str]:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Ledger(path) as book:
        history = book.history("crash")
        status = book.status("crash")
    ids = [r.request_id or "" for r in history]
    assert len(ids) == len(set(ids))  # never charged twice
    assert reported <= set(ids)  # never lost
    assert status.spent.epsilon == COST * len(history)  # failed or pending: still spent
    return ids


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_never_double_charges(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("crash", PureDP(1))
    schedule = random.Random(20240611)
    reported: set[str] = set()
    for round_ in range(ROUNDS):
        lines = _run_child(path, kill_after=schedule.uniform(0.05, 0.8))
        reported |= {line.split()[1] for line in lines if line.startswith("charged")}
        ids = _check(path, reported)
        if round_ == 0:
            assert 0 < len(ids) < COUNT  # the kill landed mid-run
    _run_child(path, kill_after=None)  # the final retry completes every release
    ids = _check(path, reported)
    assert sorted(ids) == sorted(f"req-{i}" for i in range(COUNT))
    with Ledger(path) as book:
        assert {r.status for r in book.history("crash")} == {"released"}
        assert book.status("crash").spent == PureDP(COST * COUNT)


if __name__ == "__main__":  # the child process run by the test above
    charge_sequence(sys.argv[1], int(sys.argv[2]))
