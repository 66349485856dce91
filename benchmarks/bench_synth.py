"""Synthetic Adult (13 columns): ε sweep, the smartnoise-synth MST peer, and a 10M-row run.

    python benchmarks/bench_synth.py                 # ε sweep (MST, AIM) + peer MST at ε = 1
    python benchmarks/bench_synth.py --no-sweep      # peer comparison only
    python benchmarks/bench_synth.py --rows 10000000 # 10M-row Parquet through DuckDB, peak RSS

Peer: smartnoise-synth's MST (``Synthesizer.create("mst")``; it pins ``mbi`` 1.x, opacus and
torch, so it lives in a bench-only venv ``benchmarks/.data/peer-smartnoise``, created on first
use, and runs in a subprocess). Both fit the same encoded Adult (every column as its level
index under ethica's declared domain; the peer is told they are categorical and reads their
sets from the data, which a DP release could not do, with ``preprocessor_eps=0``). Both run
at ε = 1, δ = 1e-9 with the same scoring: mean total variation of all 78 two-way marginals,
real vs synthetic, by :func:`ethica.privacy.synth.report_card`. The peer is sampled two ways:
its default (mbi's deterministic "round" assignment) and i.i.d. (``method="sample"``).

The ``--rows`` mode writes Adult resampled (duplicated, no noise) to Parquet with DuckDB and
runs ``synthesize`` (and a bounded report card) on it in a fresh process; peak RSS is that
process's VmHWM from ``/proc/self/status``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR, run_child
from ethica.datasets import load_adult
from ethica.privacy import ApproxDP
from ethica.privacy.synth import report_card, synthesize
from ethica.privacy.synth._marginals import encode
from ethica.workflows._synth import adult_domain

PEER = DATA_DIR / "peer-smartnoise"
PEER_REQUIREMENTS = ["smartnoise-synth==1.0.8"]
EPSILON, DELTA = 1.0, 1e-9

PEER_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from snsynth import Synthesizer
folder, eps, delta, seed = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
np.random.seed(seed)
codes = np.load(f"{folder}/adult_codes.npy")
names = json.load(open(f"{folder}/names.json"))
frame = pd.DataFrame({n: codes[:, j].astype(str) for j, n in enumerate(names)})
start = time.perf_counter()
synth = Synthesizer.create("mst", epsilon=eps, delta=delta)
synth.fit(frame, preprocessor_eps=0.0, categorical_columns=names)
fit_s = time.perf_counter() - start
n = len(frame)
start = time.perf_counter()
rounded = synth.sample(n)
round_s = time.perf_counter() - start
start = time.perf_counter()
model = synth.synthesizer.synthetic_data(rows=n, method="sample")
iid = synth._transformer.inverse_transform(
    [tuple(t[1:]) for t in synth.undo_compress_fn(model).df.itertuples()]
)
iid_s = time.perf_counter() - start
for name, rows in (("round", rounded), ("iid", iid)):
    arr = np.asarray(pd.DataFrame(rows, columns=names).astype(int).to_numpy(), dtype=np.int64)
    np.save(f"{folder}/peer_{name}.npy", arr)
print(json.dumps({"fit_s": fit_s, "round_s": round_s, "iid_s": iid_s}))
"""

SCALE_CHILD = """
import time, warnings
from ethica.privacy import ApproxDP
from ethica.privacy.synth import report_card, synthesize
from ethica.workflows._synth import adult_domain
start = time.perf_counter()
result = synthesize({path!r}, domain=adult_domain(), budget=ApproxDP(1.0, 1e-9), method={method!r})
synth_s = time.perf_counter() - start
start = time.perf_counter()
card = report_card({path!r}, result, target="income", protected=["sex"], attack_rows=500)
card_s = time.perf_counter() - start
RESULT = {{"synth_s": synth_s, "card_s": card_s, "tv2": card.workload_error["2way_mean"],
          "n_real": card.n_real, "n_synthetic": card.n_synthetic}}
"""


def peer_python() -> Path | None:
    """The bench-only venv's interpreter (created on first use), or None if it cannot be."""
    python = PEER / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(PEER)
    check = subprocess.run([str(python), "-c", "import snsynth"], capture_output=True, check=False)
    if check.returncode != 0:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=False
        )
        if installed.returncode != 0:
            return None
    return python


def sweep() -> None:
    data = load_adult()
    domain = adult_domain()
    print(
        "method  eps   seconds  tv2_mean  tv2_max  acc_real  acc_syn  auc_real  auc_syn  attack_auc"
    )
    for method in ("mst", "aim"):
        for eps in (0.1, 1.0, 10.0):
            start = time.perf_counter()
            result = synthesize(data, domain=domain, budget=ApproxDP(eps, DELTA), method=method)
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


def peer_comparison(repeats: int) -> None:
    data = load_adult()
    domain = adult_domain()
    names = list(domain.names)
    folder = DATA_DIR / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    arrow = encode(ibis_table(data), domain, text=False).to_pyarrow()
    codes = np.column_stack([arrow[n].to_numpy() for n in names]).astype(np.int64)
    np.save(folder / "adult_codes.npy", codes)
    (folder / "names.json").write_text(json.dumps(names))
    print(f"\nMST on Adult ({len(codes)} rows, {len(names)} columns), ε = {EPSILON}, δ = {DELTA}")
    ours_tv, ours_s = [], []
    for r in range(repeats):
        start = time.perf_counter()
        result = synthesize(data, domain=domain, budget=ApproxDP(EPSILON, DELTA), method="mst")
        ours_s.append(time.perf_counter() - start)
        card = report_card(data, result, attack_rows=0, seed=r)
        ours_tv.append(card.workload_error["2way_mean"])
    python = peer_python()
    if python is None:
        print(f"smartnoise-synth unavailable: pip install {PEER_REQUIREMENTS} into {PEER} failed")
        return
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    peer_tv: dict[str, list[float]] = {"round": [], "iid": []}
    peer_s: list[float] = []
    for r in range(repeats):
        out = subprocess.run(
            [str(python), "-c", PEER_SCRIPT, str(folder), str(EPSILON), str(DELTA), str(r)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        timing = json.loads(out.strip().splitlines()[-1])
        peer_s.append(timing["fit_s"])
        for way in peer_tv:
            peer_codes = np.load(folder / f"peer_{way}.npy")
            card = report_card(data, result, synthetic=peer_codes, attack_rows=0)
            peer_tv[way].append(card.workload_error["2way_mean"])

    def cell(values: list[float]) -> str:
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return f"{np.mean(values):.4f} ± {sd:.4f}"

    print(f"  ({repeats} runs each; mean ± sd)   mean 2-way TV       fit seconds")
    print(f"  ethica MST (i.i.d.)            {cell(ours_tv):>18}   {np.mean(ours_s):8.2f}")
    print(f"  smartnoise MST, round (default){cell(peer_tv['round']):>18}   {np.mean(peer_s):8.2f}")
    print(f"  smartnoise MST, i.i.d.         {cell(peer_tv['iid']):>18}")
    print(
        f"  TV ratio ethica / peer: {np.mean(ours_tv) / np.mean(peer_tv['round']):.2f} (round),"
        f" {np.mean(ours_tv) / np.mean(peer_tv['iid']):.2f} (i.i.d.); "
        f"time ratio ethica / peer: {np.mean(ours_s) / np.mean(peer_s):.3f}"
    )


def ibis_table(frame: object) -> object:
    import ibis

    return ibis.memtable(frame)


def make_parquet(rows: int) -> Path:
    """Adult duplicated (no noise) to ``rows`` rows, written by DuckDB (never one big frame)."""
    import duckdb

    path = DATA_DIR / f"adult_{rows}.parquet"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    adult = load_adult()
    con = duckdb.connect()
    con.register("adult", adult)
    copies = -(-rows // len(adult))
    con.execute(
        f"COPY (SELECT a.* FROM range({copies}) r(k), adult a LIMIT {rows}) "
        f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
    )
    con.close()
    return path


def scale(rows: int, method: str) -> None:
    start = time.perf_counter()
    path = make_parquet(rows)
    print(f"{rows:,}-row Parquet at {path} ({time.perf_counter() - start:.1f} s to prepare)")
    got = run_child(SCALE_CHILD.format(path=str(path), method=method))
    print(
        f"  {method.upper()} synthesize: {got['synth_s']:.1f} s wall; report card "
        f"(exact marginals, bounded samples): {got['card_s']:.1f} s; peak RSS (VmHWM) "
        f"{got['peak_rss_mb']:.0f} MB; n_real {got['n_real']:,}, scored on "
        f"{got['n_synthetic']:,} synthetic rows, mean 2-way TV {got['tv2']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="run the scale test at N rows")
    parser.add_argument("--method", default="mst", choices=["mst", "aim"])
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (peer)")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    if args.rows:
        scale(args.rows, args.method)
        return
    if not args.no_sweep:
        sweep()
    if not args.no_peer:
        peer_comparison(args.repeats)


if __name__ == "__main__":
    main()
