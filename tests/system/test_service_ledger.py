"""The service's throughput plumbing: one writers' lock per ledger file, bounded releases."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from ethica._exceptions import InvalidParameterError, LedgerError
from ethica.privacy.budget._budgets import PureDP
from ethica.privacy.budget._ledger import Ledger
from ethica.service._config import load_config
from ethica.service._core import Caller, ServiceCore
from tests.system._service_setup import write_service


def test_ledgers_on_one_file_share_a_writers_lock_that_times_out(tmp_path: Path) -> None:
    first = Ledger(tmp_path / "l.sqlite3", principal="a", timeout=0.3)
    second = Ledger(tmp_path / "sub" / ".." / "l.sqlite3", principal="b", timeout=0.3)
    other = Ledger(tmp_path / "m.sqlite3", principal="c")
    try:
        assert first._writers is second._writers and first._writers is not other._writers
        first.create_dataset("d", PureDP(1))
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with first._writers:
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        try:  # another thread's ledger on the file waits for the lock, then says why
            with pytest.raises(LedgerError, match=r"another thread held it for 0\.3 s"):
                second.record_charge("d", PureDP(0.1), "q")
            assert other.create_dataset("e", PureDP(1)).total == PureDP(1)  # another file
        finally:
            release.set()
            holder.join()
        assert second.record_charge("d", PureDP(0.1), "q").cost == PureDP(0.1)
        assert first.status("d").charges == 1  # the timed-out charge left no trace
    finally:
        for ledger in (first, second, other):
            ledger.close()


def test_at_most_concurrent_releases_run_at_once_and_every_request_is_answered(
    tmp_path: Path,
) -> None:
    path = write_service(tmp_path, total=100, grants={"alice": 50.0})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["concurrent_releases"] = 2
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    core = ServiceCore(load_config(path))
    running, most = [0], [0]
    lock = threading.Lock()
    inner = core._release

    def counted(*args: Any) -> dict[str, Any]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough for the others to pile up at the gate
            return inner(*args)
        finally:
            with lock:
                running[0] -= 1

    core._release = counted  # type: ignore[method-assign,assignment]
    answers: list[dict[str, Any]] = []

    def ask() -> None:
        answer = core.query(
            Caller("alice", "analyst"), "SELECT COUNT(*) FROM visits", {"epsilon": 0.1}
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 8 and most[0] == 2
        assert core.ledgers["alice"].spent_by_analyst("visits") == PureDP(Fraction(4, 5))
    finally:
        core.close()


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "4"])
def test_concurrent_releases_must_be_a_positive_integer(tmp_path: Path, value: object) -> None:
    path = write_service(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["concurrent_releases"] = value
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(
        InvalidParameterError, match=f"concurrent_releases must be .* got {value!r}"
    ):
        load_config(path)
