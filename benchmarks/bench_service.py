"""The DP query service over HTTP vs the same bare DuckDB query, in the same run (issue 14).

Targets, on this 2-core machine:

* latency: ``SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY
  region`` over a 10M-row Parquet through HTTP (a real ``ethica serve`` on 127.0.0.1, one
  client, sequential requests) has a p50 <= 2x the p50 of the same query in bare DuckDB
  (a fresh connection reading the same Parquet file, the way the numbers would be computed
  without the service);
* throughput: 32 concurrent clients (threads, one HTTP connection each) on a 1M-row table
  for ``--seconds`` seconds: >= 100 queries/s, with p50 and p99 latency stated.

The server runs in its own process (``ethica serve``), so the clients' Python does not share
its GIL. Every request is a real release: charged to the ledger, fresh noise.

    python benchmarks/bench_service.py [--rows N] [--throughput-rows N] [--seconds S]
                                       [--engine-threads T]    # --rows 0: throughput only
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR

REGIONS = ["north", "south", "east", "west"]
SQL = "SELECT region, COUNT(*), AVG(income) FROM visits WHERE age >= 18 GROUP BY region"


def make_parquet(rows: int) -> Path:
    """``region`` (4 keys), ``age`` integers in [0, 100), ``income`` normal (40k, 12k)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA_DIR / f"service_{rows}.parquet"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "region": pa.array(np.array(REGIONS)[rng.integers(0, 4, rows)]),
            "age": rng.integers(0, 100, rows),
            "income": rng.normal(40_000, 12_000, rows),
        }
    )
    pq.write_table(table, path)
    return path


def bare_duckdb(path: Path, repeat: int) -> list[float]:
    """Seconds per run of the same GROUP BY in bare DuckDB over the Parquet file."""
    import duckdb

    sql = (
        "SELECT region, COUNT(*), AVG(income) FROM read_parquet(?) WHERE age >= 18 GROUP BY region"
    )
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        with duckdb.connect() as con:
            con.sql(sql, params=[str(path)]).to_arrow_table()
        timings.append(time.perf_counter() - start)
    return timings


def write_config(folder: Path, path: Path, engine_threads: int | None = None) -> Path:
    config: dict[str, object] = {
        "ledger": "ledger.sqlite3",
        "store": "service.sqlite3",
        "datasets": {
            "visits": {
                "source": str(path),
                "total": {"epsilon": 1_000_000},
                "columns": {
                    "region": {"type": "text", "keys": REGIONS},
                    "age": {"type": "number", "lower": 0, "upper": 120},
                    "income": {"type": "number", "lower": 0, "upper": 200_000},
                },
            }
        },
        "analysts": {f"a{i}": {"visits": {"epsilon": 30_000}} for i in range(32)},
    }
    if engine_threads is not None:
        config["engine_threads"] = engine_threads
    out = folder / "service.yaml"
    out.write_text(yaml.safe_dump(config), encoding="utf-8")
    return out


def ethica(*args: str) -> str:
    command = [str(Path(sys.executable).parent / "ethica"), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def start(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "ethica"), "serve", "--config", str(config)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        try:
            httpx.get(url + "/", timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ethica serve did not start") from None
            time.sleep(0.2)


def serve(
    path: Path, engine_threads: int | None = None
) -> tuple[subprocess.Popen[bytes], str, list[str], Path]:
    folder = Path(tempfile.mkdtemp(prefix="bench_service_"))
    config = write_config(folder, path, engine_threads)
    keys = [
        ethica("serve", "keys", "create", f"a{i}", "--config", str(config)).strip().splitlines()[-1]
        for i in range(32)
    ]
    process, url = start(config)
    return process, url, keys, folder


def http_latency(url: str, key: str, repeat: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=url, timeout=120) as client:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"sql": SQL, "budget": {"epsilon": 0.01}}
        for _ in range(repeat + 2):
            start = time.perf_counter()
            answer = client.post("/api/v1/query", json=body, headers=headers)
            timings.append(time.perf_counter() - start)
            answer.raise_for_status()
    return timings[2:]  # the first requests warm the worker threads' connections


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(
    url: str, keys: list[str], seconds: float, pid: int
) -> tuple[int, list[float], int, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(len(keys) + 1)
    stop = [0.0]

    def client(key: str) -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=url, timeout=120) as http:
            headers = {"Authorization": f"Bearer {key}"}
            body = {"sql": SQL, "budget": {"epsilon": 0.01}}
            http.post("/api/v1/query", json=body, headers=headers)  # warm up
            barrier.wait()
            while time.perf_counter() < stop[0]:
                start = time.perf_counter()
                answer = http.post("/api/v1/query", json=body, headers=headers)
                mine.append(time.perf_counter() - start)
                bad += answer.status_code != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    stop[0] = time.perf_counter() + 1e9
    barrier.wait()
    began, cpu = time.perf_counter(), cpu_seconds(pid)
    stop[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu
    return int(len(latencies) / elapsed), latencies, errors[0], cpu / max(len(latencies), 1)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def latency(args: argparse.Namespace) -> None:
    """p50 of the query through HTTP vs bare DuckDB on the same ``--rows`` Parquet."""
    big = make_parquet(args.rows)
    process, url, keys, _ = serve(big, args.engine_threads)
    try:
        service = http_latency(url, keys[0], args.repeat)
    finally:
        process.terminate()
        process.wait(timeout=60)
    bare = bare_duckdb(big, args.repeat)
    p50_service, p50_bare = statistics.median(service), statistics.median(bare)
    print(f"\nlatency, {args.rows:,} rows, {SQL}")
    print(f"  bare DuckDB (fresh connection, Parquet)  p50 {1000 * p50_bare:8.1f} ms")
    print(f"  ethica serve over HTTP (a release)       p50 {1000 * p50_service:8.1f} ms")
    print(f"  ratio  x{p50_service / p50_bare:.2f}  (target <= 2)")


def run_throughput(args: argparse.Namespace) -> None:
    """Queries per second with 32 concurrent clients on ``--throughput-rows`` rows."""
    small = make_parquet(args.throughput_rows)
    process, url, keys, _ = serve(small, args.engine_threads)
    try:
        rate, latencies, errors, cpu = throughput(url, keys, args.seconds, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"\nthroughput, {args.throughput_rows:,} rows, 32 concurrent clients, {args.seconds:g} s")
    print(f"  {rate} queries/s (target >= 100); {len(latencies)} answered, {errors} not 200")
    print(
        f"  latency p50 {1000 * percentile(latencies, 50):.0f} ms, "
        f"p99 {1000 * percentile(latencies, 99):.0f} ms"
    )
    print(
        f"  server CPU per answered query {1000 * cpu:.0f} ms (all its threads; 2 cores "
        f"bound the rate at {2 / cpu:.0f}/s if nothing else ran)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000, help="0: no latency run")
    parser.add_argument("--throughput-rows", type=int, default=1_000_000, help="0: no run")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument(
        "--engine-threads", type=int, default=None, help="DuckDB threads per query (default: cores)"
    )
    args = parser.parse_args()
    if args.rows:
        latency(args)
    if args.throughput_rows:
        run_throughput(args)


if __name__ == "__main__":
    main()
