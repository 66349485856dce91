"""DP count + clamped sum per group (public keys): ethica vs a bare DuckDB GROUP BY vs OpenDP.

Targets (issue 4), 10M rows, 1000 groups, ~2M users, one Parquet file read by everyone:

* row-level: ethica <= 2x the bare DuckDB GROUP BY, and >= 2x faster than OpenDP's Polars API;
* user-level (<= 5 groups per user, <= 2 rows per group): ethica >= 10x faster than OpenDP.

Each contender runs in a fresh process (best of ``--repeat``). OpenDP 0.16's Polars API needs
Polars 1.36.1 (the venv has Polars 2): it is installed once into ``.data/peer-polars`` with
``pip install --target`` and put first on the child's path; the venv is untouched. OpenDP's
group truncation uses ``keep="first"`` (its ``"sample"`` fails on a single key column in 0.16).

    python benchmarks/bench_release.py [--rows N] [--quick] [--repeat R] [--skip-user]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR, report, run_child

GROUPS = 1000
PEER_POLARS = DATA_DIR / "peer-polars"


def make_parquet(rows: int) -> Path:
    """``user`` (rows / 5 distinct), ``g`` (1000 groups), ``x`` uniform on [0, 120]."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA_DIR / f"release_{rows}.parquet"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "user": rng.integers(0, max(1, rows // 5), rows),
            "g": rng.integers(0, GROUPS, rows),
            "x": rng.random(rows) * 120,
        }
    )
    pq.write_table(table, path)
    return path


def _peer_polars() -> Path:
    if not (PEER_POLARS / "polars").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(PEER_POLARS),
                "polars==1.36.1",
            ],
            check=True,
        )
    return PEER_POLARS


_TIMER = """
import time
def best(f, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); out.append(time.perf_counter() - t)
    return min(out)
"""

DUCKDB = (
    _TIMER
    + """
import duckdb
con = duckdb.connect()
sql = ("SELECT g, count(*) AS n, sum(least(greatest(x, 0), 100)) AS s "
       "FROM read_parquet('{path}') GROUP BY g")
RESULT = {{"seconds": best(lambda: con.execute(sql).fetchall(), {repeat})}}
"""
)

ETHICA = (
    _TIMER
    + """
from ethica.privacy import Batch, Count, PureDP, Session, Sum, UserLevel, Rows
unit = {unit}
keys = {{"g": list(range({groups}))}}
query = Batch((Count(by="g", keys=keys), Sum("x", 0, 100, by="g", keys=keys)))
def run():
    session = Session("{path}", privacy_unit=unit, budget=PureDP(1))
    session.evaluate(query, PureDP(1))
RESULT = {{"seconds": best(run, {repeat})}}
"""
)

OPENDP = (
    _TIMER
    + """
import warnings; warnings.simplefilter("ignore")
import polars as pl, opendp.prelude as dp
dp.enable_features("contrib")
keys = pl.DataFrame({{"g": list(range({groups}))}}, schema={{"g": pl.Int64}})
def run():
    data = pl.scan_parquet("{path}")
    if {user}:
        unit = dp.unit_of(contributions=[dp.polars.Bound(per_group=2),
                                         dp.polars.Bound(by=["g"], num_groups=5)],
                          identifier="user")
    else:
        unit = dp.unit_of(contributions=1)
    context = dp.Context.compositor(
        data=data, privacy_unit=unit, privacy_loss=dp.loss_of(epsilon=1.0),
        split_evenly_over=1, margins=[dp.polars.Margin(by=["g"], max_length={rows})])
    query = context.query()
    if {user}:
        query = query.truncate_per_group(2, by=["g"]).truncate_num_groups(
            5, by=["g"], keep="first")
    query = query.group_by("g").agg(
        dp.len(), pl.col("x").fill_null(0.0).dp.sum((0.0, 100.0))).with_keys(keys)
    query.release().collect()
RESULT = {{"seconds": best(run, {repeat})}}
"""
)


def _opendp(path: Path, rows: int, repeat: int, user: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(_peer_polars()))
    code = OPENDP.format(path=path, rows=rows, repeat=repeat, user=user, groups=GROUPS)
    saved = os.environ.get("PYTHONPATH")
    os.environ.update(env)
    try:
        return run_child(code)["seconds"]
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M rows, best of 2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-user", action="store_true", help="row-level comparison only")
    args = parser.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    repeat = 2 if args.quick else args.repeat
    path = make_parquet(rows)
    print(f"{rows:,} rows, {GROUPS} groups, {rows // 5:,} users; best of {repeat}")

    bare = run_child(DUCKDB.format(path=path, repeat=repeat))["seconds"]
    ethica_rows, opendp_rows = _compare(
        "row-level: DP count + clamped sum, public keys", path, rows, repeat, bare, user=False
    )
    print(f"  ethica / bare DuckDB = {ethica_rows / bare:.2f} (target <= 2)")
    print(f"  OpenDP / ethica      = {opendp_rows / ethica_rows:.2f} (target >= 2)")
    if args.skip_user:
        return
    ethica_user, opendp_user = _compare(
        "user-level (<= 5 groups, <= 2 rows per group)", path, rows, repeat, bare, user=True
    )
    print(f"  OpenDP / ethica      = {opendp_user / ethica_user:.2f} (target >= 10)")


def _compare(
    title: str, path: Path, rows: int, repeat: int, bare: float, *, user: bool
) -> tuple[float, float]:
    """Time ethica and OpenDP on one privacy unit; print both against the bare GROUP BY."""
    unit = "UserLevel('user', max_groups_per_user=5, max_rows_per_group=2)" if user else "Rows()"
    ethica = run_child(ETHICA.format(path=path, unit=unit, groups=GROUPS, repeat=repeat))
    opendp = _opendp(path, rows, repeat, user=user)
    report(
        title,
        [
            ("bare DuckDB GROUP BY" + (" (no bounding)" if user else ""), bare),
            ("ethica Session.evaluate", ethica["seconds"]),
            ("OpenDP Polars API", opendp),
        ],
    )
    return ethica["seconds"], opendp


if __name__ == "__main__":
    main()
