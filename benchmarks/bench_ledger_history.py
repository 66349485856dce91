"""A service charge's cost as the ledger's history grows (issue 14).

Each service request checks the analyst's grant and the dataset's total and records the
charge (:class:`ethica.service._budgets.AnalystLedger`), then reads the analyst's remaining
budget. The spent totals are exact sums over every charge ever recorded; the ledger sums
only the charges recorded since its last read, so the cost should not grow with the history.
This prints the CPU per charge (with the remaining-budget read) after ``N`` earlier charges,
and its ratio to the smallest history, in the same run.

    python benchmarks/bench_ledger_history.py [--histories 100 10000 100000] [--charges 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import report
from ethica.privacy.budget import PureDP
from ethica.privacy.release import Rows
from ethica.service._budgets import AnalystLedger

COST = PureDP(Fraction(1, 100))


def per_charge(history: int, charges: int) -> float:
    """Seconds of CPU per charge + remaining read after ``history`` earlier charges."""
    path = Path(tempfile.mkdtemp(prefix="bench_ledger_")) / "ledger.sqlite3"
    ledger = AnalystLedger(path, analyst="a", caps={"d": PureDP(10**9)})
    ledger.create_dataset("d", PureDP(10**9), privacy_unit=Rows())
    # the history, written as record_charge writes it (one transaction, for speed)
    rows = [(json.dumps(COST.to_dict(), sort_keys=True),)] * history
    with ledger._write() as conn:
        conn.executemany(
            "INSERT INTO charges (dataset, cost, description, principal, created_at, status) "
            "VALUES ('d', ?, 'count', 'service:a', '2026-01-01', 'released')",
            rows,
        )
    try:
        ledger.record_charge("d", COST, "count")  # a new connection reads the history once
        start = time.process_time()
        for _ in range(charges):
            ledger.record_charge("d", COST, "count")
            ledger.remaining_for_analyst("d")
        return (time.process_time() - start) / charges
    finally:
        ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--histories", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--charges", type=int, default=50)
    args = parser.parse_args()
    rows = [(f"after {n:,} charges", per_charge(n, args.charges)) for n in args.histories]
    report("CPU per service charge (+ remaining budget) as the history grows", rows)


if __name__ == "__main__":
    main()
