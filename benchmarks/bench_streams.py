"""RMSE of running counts over T = 365 days: naive, binary tree, least-squares tree, factorisation.

Same privacy for every mechanism: pure ``epsilon = 1`` (discrete Laplace) and ``rho = 1/2``
(discrete Gaussian; ``epsilon**2 / 2``), for a user's rows in any ``window`` days (1 = one day;
28 = four weeks), one row per user per day. Each mechanism's noise comes from ethica's exact
samplers; the RMSE at every day is measured over ``REPS`` simulated streams and compared with
the analytic ``sqrt(Var(z) ||W[t]||²)``. Printed: RMSE at days 1, 30, 100, 200, 365, the
worst day, the ratio to naive at day 365, and the largest relative gap simulation/analytic.

Run: ``.venv/bin/python benchmarks/bench_streams.py``
"""

from __future__ import annotations

import math

import numpy as np

from ethica.privacy import ZCDP, PureDP
from ethica.privacy.stream import MECHANISMS, UserWindow, build_strategy, stream_noise

HORIZON = 365
REPS = 2000
DAYS = (1, 30, 100, 200, 365)


def main() -> None:
    for window in (1, 28):
        unit = UserWindow("user", window=window)
        for budget in (PureDP(1), ZCDP(0.5)):
            print(f"\nT={HORIZON}, {budget}, window={window} day(s), {REPS} streams")
            header = "mechanism      " + "".join(f"day {d:<7}" for d in DAYS)
            print(header + "worst      ratio@365  sim/analytic")
            naive_last = None
            for name in MECHANISMS:
                strategy = build_strategy(name, HORIZON)
                noise, _ = stream_noise(strategy, unit, budget)
                analytic = np.sqrt(noise.variance() * strategy.running_norms())
                z = noise.draw(REPS * strategy.matrix.shape[0]).reshape(REPS, -1)
                measured = np.sqrt(((z.astype(float) @ strategy.running.T) ** 2).mean(axis=0))
                gap = float(np.max(np.abs(measured / analytic - 1)))
                if naive_last is None:
                    naive_last = analytic[-1]
                cells = "".join(f"{analytic[d - 1]:<11.4g}" for d in DAYS)
                print(
                    f"{name:<15}{cells}{analytic.max():<11.4g}"
                    f"{analytic[-1] / naive_last:<11.3f}{gap:.3f}"
                )
            assert math.isfinite(gap)


if __name__ == "__main__":
    main()
