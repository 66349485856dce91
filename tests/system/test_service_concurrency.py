"""64 concurrent HTTP clients race for the last of two analysts' grants and a dataset total.

Alice holds 0.3 and Bob 0.6 of a dataset whose total is 0.8 (grants may add up to more than
the total: both caps must hold). Every request asks for 0.05, so at most 6 of Alice's, 12 of
Bob's and 16 in all may be released; with 32 requests each racing, exactly 16 are.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import httpx
import pytest

from ethica.service import build_app
from tests.system._service_setup import running_server, write_service


@pytest.mark.slow
def test_concurrent_clients_never_overspend_either_cap(tmp_path: Path) -> None:
    app, core = build_app(
        str(write_service(tmp_path, total=0.8, grants={"alice": 0.3, "bob": 0.6}))
    )
    keys = {name: core.store.create_key(name)[0] for name in ("alice", "bob")}
    body = {
        "sql": "SELECT region, COUNT(*) FROM visits GROUP BY region",
        "budget": {"epsilon": 0.05},
    }
    try:
        with running_server(app) as url:

            def ask(i: int) -> tuple[str, int]:
                name = "alice" if i % 2 else "bob"
                with httpx.Client(base_url=url, timeout=60) as client:
                    answer = client.post(
                        "/api/v1/query",
                        json=body,
                        headers={"Authorization": f"Bearer {keys[name]}"},
                    )
                return name, answer.status_code

            with ThreadPoolExecutor(max_workers=64) as pool:
                results = list(pool.map(ask, range(64)))
        ok = [name for name, status in results if status == 200]
        assert {status for _, status in results} <= {200, 403}
        assert len(ok) == 16  # the dataset's total, 0.8 / 0.05
        assert ok.count("alice") <= 6 and ok.count("bob") <= 12
        status = core.ledgers["alice"].status("visits")
        assert status.spent.epsilon == Fraction(4, 5)  # type: ignore[union-attr]
        history = core.ledgers["alice"].history("visits")
        assert len(history) == 16 and {r.status for r in history} == {"released"}
        for name in ("alice", "bob"):
            assert core.ledgers[name].spent_by_analyst("visits").epsilon == Fraction(  # type: ignore[union-attr]
                ok.count(name), 20
            )
    finally:
        core.close()


def test_analyst_caps_hold_when_charges_race_without_the_engine(tmp_path: Path) -> None:
    """The guard alone (no HTTP, no engine lock): 64 threads charging two analysts' ledgers."""
    from ethica._exceptions import BudgetExceededError
    from ethica.privacy.budget import PureDP
    from ethica.privacy.release import Rows
    from ethica.service._budgets import AnalystLedger

    path = tmp_path / "ledger.sqlite3"
    admin = AnalystLedger(path, analyst="admin", caps={})
    admin.create_dataset("d", PureDP(Fraction(4, 5)), privacy_unit=Rows())
    caps = {"alice": PureDP(Fraction(3, 10)), "bob": PureDP(Fraction(6, 10))}
    # several connections per analyst, as several server workers would hold
    ledgers = {
        name: [AnalystLedger(path, analyst=name, caps={"d": cap}) for _ in range(4)]
        for name, cap in caps.items()
    }

    def charge(i: int) -> str | None:
        name = "alice" if i % 4 else "bob"  # alice asks three times as often
        try:
            ledgers[name][i % 4].record_charge("d", PureDP(Fraction(1, 20)), "count")
        except BudgetExceededError:
            return None
        return name

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: a check-then-charge race would show
    try:
        with ThreadPoolExecutor(max_workers=64) as pool:
            ok = [n for n in pool.map(charge, range(128)) if n is not None]
    finally:
        sys.setswitchinterval(interval)
    assert len(ok) == 16  # the total, 0.8 / 0.05
    assert ok.count("alice") <= 6  # her cap, 0.3 / 0.05: she asked 96 times
    assert ok.count("bob") <= 12
    assert admin.status("d").spent == PureDP(Fraction(4, 5))
    for ledger in [admin, *ledgers["alice"], *ledgers["bob"]]:
        ledger.close()


def test_each_connection_adds_the_charges_made_through_another(tmp_path: Path) -> None:
    """Spent totals are summed incrementally per connection: charges another connection
    recorded since are added, and a charge under another principal cannot escape the grant."""
    from ethica._exceptions import BudgetExceededError, LedgerError
    from ethica.privacy.budget import PureDP
    from ethica.privacy.release import Rows
    from ethica.service._budgets import AnalystLedger

    path = tmp_path / "ledger.sqlite3"
    caps = {"d": PureDP(Fraction(1, 2))}
    first, second = (AnalystLedger(path, analyst="alice", caps=caps) for _ in range(2))
    try:
        first.create_dataset("d", PureDP(1), privacy_unit=Rows())
        for ledger in (first, second):  # each connection keeps its sums from here on
            assert ledger.status("d").charges == 0 and ledger.spent_by_analyst("d") <= caps["d"]
        first.record_charge("d", PureDP(Fraction(1, 5)), "count")
        assert second.spent_by_analyst("d") == PureDP(Fraction(1, 5))
        second.record_charge("d", PureDP(Fraction(1, 5)), "count")
        assert first.remaining_for_analyst("d") == PureDP(Fraction(1, 10))
        with pytest.raises(BudgetExceededError) as refused:
            first.record_charge("d", PureDP(Fraction(1, 5)), "count")
        assert refused.value.remaining == PureDP(Fraction(1, 10))
        with pytest.raises(LedgerError, match="escape the grant"):
            first.record_charge("d", PureDP(Fraction(1, 20)), "count", principal="service:bob")
        assert first.status("d").spent == PureDP(Fraction(2, 5))
    finally:
        first.close()
        second.close()
