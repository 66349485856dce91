"""Where a DP GROUP BY release spends its CPU in the service (issue 14), without HTTP.

Runs ``bench_service.SQL`` through :class:`ethica.service._core.ServiceCore` on the 1M-row
table of ``bench_service.py`` and prints the process CPU per query (all threads, DuckDB's
included) of each stage: parsing the SQL, the session, the free checks, the ledger charge,
the engine query (:func:`ethica.data._engine.to_arrow`), the rest of the aggregation (Ibis
expressions, pandas), the noise, recording the release, the remaining budget. Then the same
engine query's SQL text alone in DuckDB, for the engine's share, and with ``--explain`` its
``EXPLAIN ANALYZE``. Process CPU, not wall time: the machine is shared.

    python benchmarks/profile_service.py [--rows N] [--queries Q] [--explain]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import SQL, make_parquet, write_config


def _timed(owner: Any, name: str, label: str, spent: dict[str, float]) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    import ethica.data._engine as engine
    import ethica.privacy.release._evaluate as evaluate
    import ethica.privacy.release._session as session
    from ethica.privacy.budget._ledger import Ledger
    from ethica.service import _core
    from ethica.service._budgets import AnalystLedger
    from ethica.service._config import load_config

    core = _core.ServiceCore(
        load_config(write_config(Path(tempfile.mkdtemp()), make_parquet(args.rows)))
    )
    spent: dict[str, float] = defaultdict(float)
    stages = [
        (_core, "plan_sql", "parse and check the SQL"),
        (session.Session, "__init__", "open the session"),
        (session, "check_parts", "free checks"),
        (session.Session, "_reserve", "ledger: check both caps and charge"),
        (evaluate, "aggregate_parts", "aggregate (engine + expressions)"),
        (engine, "to_arrow", "  of which the engine query"),
        (evaluate, "release_from_aggregates", "noise and tables"),
        (Ledger, "complete", "ledger: record the release"),
        (AnalystLedger, "remaining_for_analyst", "ledger: remaining budget"),
    ]
    for owner, name, label in stages:
        _timed(owner, name, label, spent)
    captured: list[Any] = []
    run_query = engine.to_arrow

    def capture(expr: Any, backend: Any) -> Any:
        captured[:] = [expr, backend]
        return run_query(expr, backend)

    engine.to_arrow = capture
    caller = _core.Caller("a0", "analyst")
    for _ in range(3):  # warm: connections, compiled SQL
        core.query(caller, SQL, {"epsilon": 0.01})
    spent.clear()
    start = time.process_time()
    for _ in range(args.queries):
        core.query(caller, SQL, {"epsilon": 0.01})
    total = (time.process_time() - start) / args.queries
    print(f"\n{SQL}\n{args.rows:,} rows: {1000 * total:.1f} ms CPU per query (all threads)")
    for _, _, label in stages:
        print(f"  {label:40s} {1000 * spent[label] / args.queries:7.1f} ms")
    expr, backend = captured
    sql = str(backend.compile(expr))
    start = time.process_time()
    for _ in range(args.queries):
        backend.con.sql(sql).fetchall()
    alone = (time.process_time() - start) / args.queries
    print(f"  the engine query's SQL alone in DuckDB  {1000 * alone:7.1f} ms")
    if args.explain:
        print(backend.con.sql("EXPLAIN ANALYZE " + sql).fetchall()[0][1])
    core.close()


if __name__ == "__main__":
    main()
