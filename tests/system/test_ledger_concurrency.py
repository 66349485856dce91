"""16 processes racing on one ledger file never spend more than its total."""

from __future__ import annotations

import multiprocessing
from fractions import Fraction
from pathlib import Path

from ethica import BudgetExceededError
from ethica.privacy import Ledger, PureDP

WORKERS = 16


def spend_until_refused(path: str, cost: Fraction, barrier: object, results: object) -> None:
    """Charge ``cost`` until the ledger refuses; put ``(cost, charges)`` on ``results``."""
    book = Ledger(path, principal="racer")
    barrier.wait()  # type: ignore[attr-defined]
    done = 0
    try:
        while True:
            book.record_charge("shared", PureDP(cost), "race")
            done += 1
    except BudgetExceededError:
        results.put((cost, done))  # type: ignore[attr-defined]
    finally:
        book.close()


def _race(path: Path, costs: list[Fraction]) -> list[tuple[Fraction, int]]:
    """Start one process per cost, release them together, return (cost, charges) each."""
    context = multiprocessing.get_context("fork")  # the parent holds no open ledger
    barrier = context.Barrier(len(costs))
    results = context.Queue()
    workers = [
        context.Process(target=spend_until_refused, args=(str(path), cost, barrier, results))
        for cost in costs
    ]
    for worker in workers:
        worker.start()
    outcome = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return outcome


def test_sixteen_processes_racing_spend_exactly_the_total(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("shared", PureDP(1))
    outcome = _race(path, [Fraction(1, 10)] * WORKERS)
    assert sum(n for _, n in outcome) == 10  # 10 x 1/10 fits exactly; the 11th never does
    with Ledger(path) as book:
        status = book.status("shared")
        assert status.spent == PureDP(1) and status.charges == 10
        assert len(book.history("shared")) == 10


def test_racing_with_mixed_costs_never_overspends(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("shared", PureDP(Fraction(7, 3)))
    costs = [Fraction(1 + i % 3, 17) for i in range(WORKERS)]
    outcome = _race(path, costs)
    with Ledger(path) as book:
        status = book.status("shared")
    spent = sum(c * n for c, n in outcome)
    assert status.spent == PureDP(spent)
    assert spent <= Fraction(7, 3)
    assert Fraction(7, 3) - spent < Fraction(3, 17)  # every worker stopped only when refused
