"""ethica's DP SQL vs smartnoise-sql (``snsql``) on the same query, data and total ε (issue 14).

Query: ``SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY region``
over the 1M-row table of ``bench_service.py`` (``region`` 4 public keys, ``age`` in [0, 120],
``income`` in [0, 200000]), rows as the privacy unit, a **total** ε of 1 for the whole query:

* ethica splits ε over its aggregates (COUNT ε/2; AVG ε/2, as a noisy sum and a noisy count);
* snsql charges its ``epsilon`` to every mechanism of the query (here three: the key count,
  the count and the sum behind AVG; its odometer says ``3 ε``), so the peer runs at
  ``epsilon = 1 / cost(1)`` where ``cost(1)`` is its own ``get_privacy_cost`` at ``epsilon=1``:
  both spend ε = 1 in total. ``censor_dims`` is off (the keys are public on both sides).

Both answer from DuckDB, in the same run, with the table already in memory (2 threads each):
ethica through :class:`ethica.service._core.ServiceCore` (the service's logic without HTTP:
SQL allow-list, ledger charge, bounded aggregation, exact noise, intervals, ledger record),
snsql through its Postgres reader over a DuckDB connection (a 10-line DB-API adapter; snsql
has no DuckDB reader). ``--sqlite-peer`` also times snsql's own local path (``from_df``:
pandas into in-memory SQLite), about 50x slower than its DuckDB one.

snsql (1.0.10) lives in a bench-only venv ``benchmarks/.data/peer-snsql`` created on first use,
and runs in a subprocess. Per-query times are medians of ``--repeat`` runs; the ratio is
snsql's median over ethica's.

    python benchmarks/bench_sql_peer.py [--rows N] [--repeat R] [--sqlite-peer]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR
from bench_service import SQL, make_parquet, write_config

PEER = DATA_DIR / "peer-snsql"
PEER_REQUIREMENTS = ["smartnoise-sql==1.0.10", "duckdb", "pyarrow", "pandas"]
EPSILON = 1.0

PEER_SCRIPT = r"""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import duckdb, pandas as pd, snsql
from snsql import Privacy

path, sql = sys.argv[1], sys.argv[2]
eps_total, repeat, sqlite = float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"


class DuckDBAdapter:
    # the DB-API surface snsql's Postgres reader uses
    def __init__(self, con):
        self.con = con
    def cursor(self):
        return self
    def execute(self, text):
        self.con.execute(text)
        self.description = self.con.description
        return self
    def __iter__(self):
        return iter(self.con.fetchall())
    def commit(self):
        pass
    def rollback(self):
        pass


con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"CREATE TABLE visits AS SELECT * FROM read_parquet('{path}')")
rows = con.execute("SELECT count(*) FROM visits").fetchone()[0]
meta = {"": {"": {"visits": {
    "row_privacy": True, "censor_dims": False, "rows": rows,
    "region": {"type": "string"},
    "age": {"type": "int", "lower": 0, "upper": 120},
    "income": {"type": "float", "lower": 0, "upper": 200000},
}}}}


def reader_for(epsilon, make):
    return make(Privacy(epsilon=epsilon, delta=1e-9, alphas=[0.05]))


def timed(reader):
    reader.execute(sql)  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        reader.execute(sql)
        times.append(time.perf_counter() - start)
    return times


def duck(privacy):
    adapter = DuckDBAdapter(con)
    return snsql.from_connection(adapter, engine="postgres", privacy=privacy, metadata=meta)



per_unit = float(reader_for(1.0, duck).get_privacy_cost(sql)[0])
reader = reader_for(eps_total / per_unit, duck)
out = {
    "cost_at_epsilon_1": per_unit,
    "epsilon_per_mechanism": eps_total / per_unit,
    "total_epsilon": float(reader.get_privacy_cost(sql)[0]),
    "accuracy_95": reader.get_simple_accuracy(sql, 0.05),
    "mechanisms": [list(m) if m else None for m in reader._get_mechanism_costs(sql)],
    "duckdb_times": timed(reader),
}
if sqlite:
    frame = con.execute("SELECT * FROM visits").df()
    start = time.perf_counter()
    from_df = lambda privacy: snsql.from_df(frame, privacy=privacy, metadata=meta)
    sqlite_reader = reader_for(eps_total / per_unit, from_df)
    out["sqlite_load_s"] = time.perf_counter() - start
    out["sqlite_times"] = timed(sqlite_reader)
print(json.dumps(out))
"""


def peer_python() -> Path:
    """The bench-only venv's interpreter, created (and snsql installed) on first use."""
    python = PEER / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(PEER)
    check = subprocess.run([str(python), "-c", "import snsql"], capture_output=True, check=False)
    if check.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True
        )
    return python


def peer(path: Path, repeat: int, sqlite: bool) -> dict[str, object]:
    command = [str(peer_python()), "-c", PEER_SCRIPT, str(path), SQL, str(EPSILON)]
    command += [str(repeat), "1" if sqlite else "0"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def ethica(path: Path, repeat: int) -> tuple[list[float], dict[str, Any]]:
    """Per-query seconds of the service's core (no HTTP) and one answer, at total ε."""
    import yaml

    from ethica.service._config import load_config
    from ethica.service._core import Caller, ServiceCore

    folder = Path(tempfile.mkdtemp(prefix="bench_sql_peer_"))
    config = write_config(folder, path)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["engine_threads"] = 2
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    core = ServiceCore(load_config(config))
    caller = Caller("a0", "analyst")
    budget = {"epsilon": EPSILON}
    try:
        answer = core.query(caller, SQL, budget)  # warm
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            core.query(caller, SQL, budget)
            times.append(time.perf_counter() - start)
    finally:
        core.close()
    return times, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--sqlite-peer", action="store_true")
    args = parser.parse_args()

    path = make_parquet(args.rows)
    theirs = peer(path, args.repeat, args.sqlite_peer)
    ours, answer = ethica(path, args.repeat)
    p50_ours = statistics.median(ours)
    p50_duck = statistics.median(theirs["duckdb_times"])  # type: ignore[arg-type]

    print(f"\n{SQL}\n{args.rows:,} rows, rows as the unit, total epsilon {EPSILON:g} each")
    print(
        f"  snsql: its odometer charges {theirs['cost_at_epsilon_1']:g} x epsilon for this "
        f"query, so it runs at epsilon={theirs['epsilon_per_mechanism']:.4g} per mechanism "
        f"(total {theirs['total_epsilon']:.4g}); mechanisms {theirs['mechanisms']}"
    )
    print(f"  ethica (service core, DuckDB)     p50 {1000 * p50_ours:9.1f} ms")
    print(f"  snsql  (Postgres reader, DuckDB)  p50 {1000 * p50_duck:9.1f} ms")
    print(f"  ratio  snsql / ethica  x{p50_duck / p50_ours:.1f}  (goal >= 10)")
    if "sqlite_times" in theirs:
        p50_sqlite = statistics.median(theirs["sqlite_times"])  # type: ignore[arg-type]
        print(
            f"  snsql  (from_df, SQLite)          p50 {1000 * p50_sqlite:9.1f} ms  "
            f"x{p50_sqlite / p50_ours:.1f} of ethica (loading the frame: "
            f"{theirs['sqlite_load_s']:.0f} s, not timed)"
        )
    print("  intervals (95%):")
    print(f"    snsql get_simple_accuracy per column (region, COUNT, AVG): {theirs['accuracy_95']}")
    for table in answer["tables"]:
        pairs = list(zip(table["ci_low"], table["ci_high"], strict=True))
        finite = all(abs(hi - lo) < float("inf") for lo, hi in pairs)
        widths = [round((hi - lo) / 2, 3) for lo, hi in pairs]
        print(f"    ethica {table['name']}: interval on every cell: {finite}; half-widths {widths}")


if __name__ == "__main__":
    main()
