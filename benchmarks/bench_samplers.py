"""Per-sample throughput of ethica's exact samplers against OpenDP 0.16, same run.

OpenDP: ``vector_domain(atom_domain(T=int)) >> then_laplace(scale)`` (L1) and
``>> then_gaussian(scale)`` (L2) applied to a vector of zeros: its fastest vectorised form.
ethica: ``discrete_laplace(scale, n)`` / ``discrete_gaussian(sigma, n)``. Both draw from the
OS CSPRNG and sample exactly. Prints microseconds per sample and the speed-up (target >= 100x).

Run ``.venv/bin/python benchmarks/bench_samplers.py [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import opendp.prelude as dp

from _harness import best_time
from ethica.privacy import discrete_gaussian, discrete_laplace

dp.enable_features("contrib")


def _opendp(kind: str, scale: float) -> Callable[[int], object]:
    metric = dp.l1_distance(T=int) if kind == "laplace" else dp.l2_distance(T=float)
    space = dp.vector_domain(dp.atom_domain(T=int)), metric
    then = dp.m.then_laplace if kind == "laplace" else dp.m.then_gaussian
    measurement = space >> then(scale=scale)
    return lambda n: measurement([0] * n)


def _ours(kind: str, scale: float) -> Callable[[int], object]:
    sampler = discrete_laplace if kind == "laplace" else discrete_gaussian
    return lambda n: sampler(scale, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small samples, one scale each")
    args = parser.parse_args()
    n_peer, n_ours = (2_000, 100_000) if args.quick else (20_000, 1_000_000)
    cases = [("laplace", 10.0), ("gaussian", 10.0)]
    if not args.quick:
        cases += [
            ("laplace", 1.0),
            ("laplace", 100.0),
            ("laplace", 1e6),
            ("laplace", 1e12),
            ("gaussian", 1.0),
            ("gaussian", 100.0),
            ("gaussian", 1e4),
            ("gaussian", 1e6),
        ]
    print(
        f"{'sampler':<10} {'scale':>8} {'OpenDP us/sample':>17} {'ethica us/sample':>17} "
        f"{'speed-up':>9}"
    )
    for kind, scale in cases:
        peer_fn, ours_fn = _opendp(kind, scale), _ours(kind, scale)
        ours_fn(1000)  # build and cache the exact tables once
        peer = best_time(lambda f=peer_fn: f(n_peer), repeat=2) / n_peer * 1e6
        ours = best_time(lambda f=ours_fn: f(n_ours), repeat=3) / n_ours * 1e6
        print(f"{kind:<10} {scale:>8g} {peer:>17.3f} {ours:>17.4f} {peer / ours:>8.0f}x")


if __name__ == "__main__":
    main()
