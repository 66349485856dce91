"""ethica.audit on a 10M-row Parquet file vs a bare DuckDB GROUP BY over the same columns.

Target (issue 2): the audit call takes at most 2x the bare GROUP BY, peak RSS < 1 GB.
Both run in fresh processes; the timing covers the call only, best of 3.

    python benchmarks/bench_audit_parquet.py [--rows N] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR, report, run_child


def make_parquet(rows: int) -> Path:
    """Decisions of a synthetic model: sex (2), race (5), label, prediction, score."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA_DIR / f"decisions_{rows}.parquet"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sexes = np.array(["Female", "Male"])[rng.integers(0, 2, rows)]
    races = np.array(["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"])[
        rng.choice(5, rows, p=[0.8, 0.1, 0.05, 0.03, 0.02])
    ]
    score = rng.beta(2, 5, rows)
    label = (rng.random(rows) < score).astype(np.int8)
    table = pa.table(
        {
            "sex": sexes,
            "race": races,
            "label": label,
            "prediction": (score >= 0.5).astype(np.int8),
            "score": score,
        }
    )
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


BARE = """
import duckdb, time
con = duckdb.connect()
timings = []
for _ in range(3):
    t = time.perf_counter()
    con.execute("SELECT sex, race, label, prediction, count(*) FROM read_parquet('{path}') "
                "GROUP BY ALL").fetchall()
    timings.append(time.perf_counter() - t)
RESULT = {{'seconds': min(timings)}}
"""

ETHICA = """
import time, warnings, ethica
timings = []
for _ in range(3):
    t = time.perf_counter()
    ethica.audit('{path}', label='label', prediction='prediction', protected=['sex', 'race'])
    timings.append(time.perf_counter() - t)
RESULT = {{'seconds': min(timings)}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M rows")
    args = parser.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    path = make_parquet(rows)
    bare = run_child(BARE.format(path=path))
    ours = run_child(ETHICA.format(path=path))
    report(
        f"Audit of {rows:,} Parquet rows, sex x race (best of 3, fresh processes)",
        [("bare DuckDB GROUP BY", bare["seconds"]), ("ethica.audit", ours["seconds"])],
    )
    print(f"  peak RSS: bare {bare['peak_rss_mb']:.0f} MB, ethica {ours['peak_rss_mb']:.0f} MB")
    print(f"  ratio ethica/bare = {ours['seconds'] / bare['seconds']:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
