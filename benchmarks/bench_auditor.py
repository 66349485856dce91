"""Runs per second of the empirical privacy auditor against the public API in a loop.

A count audit needs many releases of the same query on the same data. The public API pays
the whole release each time (``Session.evaluate``: checks, engine aggregation, noise, result
objects). The auditor (``ethica.privacy.testing.QueryMechanism``) runs the engine once per
data set and re-draws only the noise from that aggregate, with the release's own code, for all
runs in one vectorised call. Both draw from the same exact samplers and return the same
distribution of released counts. Prints runs per second of each, measured in this run, and the
ratio; then the wall time of a whole 100,000-run count audit (every neighbouring pair).

    python benchmarks/bench_auditor.py [--rows N] [--runs R] [--api-seconds S]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from ethica.privacy import Count, PureDP, Rows, Session
from ethica.privacy.testing import QueryMechanism, audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the table")
    parser.add_argument("--runs", type=int, default=100_000, help="auditor runs per data set")
    parser.add_argument(
        "--api-seconds", type=float, default=10.0, help="how long to loop over the public API"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.random(args.rows), "g": rng.choice(["a", "b"], args.rows)})
    query, budget = Count(), PureDP(1)

    session = Session(data, privacy_unit=Rows(), budget=PureDP(10**9))
    session.evaluate(query, budget)  # warm-up (imports, engine)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.api_seconds:
        session.evaluate(query, budget)
        calls += 1
    api_rate = calls / (time.perf_counter() - start)

    mechanism = QueryMechanism(query, Rows(), budget)
    mechanism.sample(data, 1_000)  # warm-up
    start = time.perf_counter()
    samples = mechanism.sample(data, args.runs)
    auditor_rate = args.runs / (time.perf_counter() - start)
    assert samples.runs == args.runs

    start = time.perf_counter()
    result = audit(query, data, unit=Rows(), budget=budget, runs=args.runs)
    whole = time.perf_counter() - start

    print(f"\nCount audit on {args.rows:,} rows, PureDP(1), row-level (same run):")
    print(f"  public API loop (Session.evaluate)   {api_rate:12,.1f} runs/s   ({calls} calls)")
    print(
        f"  auditor (one aggregate, re-noised)   {auditor_rate:12,.1f} runs/s"
        f"   ({args.runs:,} runs)"
    )
    print(f"  ratio auditor / public API           x{auditor_rate / api_rate:11,.0f}")
    print(
        f"  whole audit: {len(result.pairs)} pairs x 2 data sets x {args.runs:,} runs in "
        f"{whole:.1f} s; epsilon lower bound {result.epsilon_lower_bound:.3f} (claimed 1)"
    )


if __name__ == "__main__":
    main()
