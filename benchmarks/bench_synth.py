"""Synthetic Adult (13 columns) at several epsilons: time, workload error, utility, attack.

Run: ``.venv/bin/python benchmarks/bench_synth.py``. (The smartnoise-synth comparison needs a
bench-only environment and is not run here yet.)
"""

from __future__ import annotations

import time

from ethica.datasets import load_adult
from ethica.privacy import ApproxDP
from ethica.privacy.synth import report_card, synthesize
from ethica.workflows._synth import adult_domain


def main() -> None:
    data = load_adult()
    domain = adult_domain()
    print(
        "method  eps   seconds  tv2_mean  tv2_max  acc_real  acc_syn  auc_real  auc_syn  attack_auc"
    )
    for method in ("mst", "aim"):
        for eps in (0.1, 1.0, 10.0):
            start = time.perf_counter()
            result = synthesize(data, domain=domain, budget=ApproxDP(eps, 1e-9), method=method)
            seconds = time.perf_counter() - start
            card = report_card(
                data, result, target="income", protected=["sex", "race"], attack_rows=1000
            )
            w, ml, pr = card.workload_error, card.ml_utility or {}, card.privacy or {}
            print(
                f"{method:6s} {eps:5.1f} {seconds:8.1f} {w['2way_mean']:9.3f} {w['2way_max']:8.3f}"
                f" {ml['real']['accuracy']:9.3f} {ml['synthetic']['accuracy']:8.3f}"
                f" {ml['real']['auc']:9.3f} {ml['synthetic']['auc']:8.3f} {pr['auc']:11.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
