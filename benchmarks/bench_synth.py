"""Synthetic Adult (13 columns): ε sweep, the smartnoise-synth MST and AIM peers, a 10M-row run.

    python benchmarks/bench_synth.py                 # ε sweep (MST, AIM) + peers at ε = 1
    python benchmarks/bench_synth.py --no-sweep      # peer comparison only (MST and AIM)
    python benchmarks/bench_synth.py --no-sweep --peer-methods aim --repeats 2
    python benchmarks/bench_synth.py --rows 10000000 # 10M-row Parquet through DuckDB, peak RSS

Peer: smartnoise-synth's MST and AIM (``Synthesizer.create("mst" | "aim")``, AIM with its
defaults: all 2-way workload, 80 MB model size, 1000 mirror-descent steps per round; it pins
``mbi`` 1.x, opacus and torch, so it lives in a bench-only venv
``benchmarks/.data/peer-smartnoise``, created on first
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
#: smartnoise-synth 1.0.8 AIM on Adult at epsilon 1 (one run, 2026-12-02, docs/synthetic.md):
#: mean 2-way TV with its "round" and i.i.d. sampling, and CPU seconds of the whole process.
PEER_AIM_REFERENCE = {"round": 0.0488, "iid": 0.0228, "cpu": 2366.0}
PEER_REQUIREMENTS = ["smartnoise-synth==1.0.8"]
EPSILON, DELTA = 1.0, 1e-9

PEER_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from snsynth import Synthesizer
folder, eps, delta, seed = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
method = sys.argv[5]
np.random.seed(seed)
codes = np.load(f"{folder}/adult_codes.npy")
names = json.load(open(f"{folder}/names.json"))
frame = pd.DataFrame({n: codes[:, j].astype(str) for j, n in enumerate(names)})
start, cpu = time.perf_counter(), time.process_time()
synth = Synthesizer.create(method, epsilon=eps, delta=delta)
synth.fit(frame, preprocessor_eps=0.0, categorical_columns=names)
fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
n = len(frame)
start = time.perf_counter()
rounded = synth.sample(n)
round_s = time.perf_counter() - start
start = time.perf_counter()
model = synth.synthesizer.synthetic_data(rows=n, method="sample")
if method == "mst":
    frame_iid = synth.undo_compress_fn(model).df
else:  # AIM: the model's columns are col0, col1, ... (its sample() reorders them the same way)
    frame_iid = model.df[["col" + str(i) for i in range(synth._transformer.output_width)]]
iid = synth._transformer.inverse_transform([tuple(t[1:]) for t in frame_iid.itertuples()])
iid_s = time.perf_counter() - start
for name, rows in (("round", rounded), ("iid", iid)):
    arr = np.asarray(pd.DataFrame(rows, columns=names).astype(int).to_numpy(), dtype=np.int64)
    np.save(f"{folder}/peer_{method}_{seed}_{name}.npy", arr)
print(json.dumps({"fit_s": fit_s, "fit_cpu": fit_cpu, "round_s": round_s, "iid_s": iid_s}))
"""

SCALE_CHILD = """
import time, warnings
from ethica.privacy import ApproxDP
from ethica.privacy.synth import report_card, synthesize
from ethica.workflows._synth import adult_domain
start, cpu = time.perf_counter(), time.process_time()
result = synthesize({path!r}, domain=adult_domain(), budget=ApproxDP(1.0, 1e-9), method={method!r})
synth_s, synth_cpu = time.perf_counter() - start, time.process_time() - cpu
start = time.perf_counter()
card = report_card({path!r}, result, target="income", protected=["sex"], attack_rows=500)
card_s = time.perf_counter() - start
RESULT = {{"synth_s": synth_s, "synth_cpu": synth_cpu, "rounds": len(result.selected),
          "card_s": card_s, "tv2": card.workload_error["2way_mean"],
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


def peer_comparison(
    method: str, repeats: int, saved: Path | None = None, *, reference: bool = False
) -> None:
    """ethica vs smartnoise-synth, same method, same data, same scoring; wall and CPU time.

    CPU seconds (``time.process_time`` of the fitting process, all its threads) are reported
    next to wall seconds: on a shared machine the wall clock measures the neighbours too.
    ``saved``: a folder of the peer's earlier runs (``timing_<method>_<r>.json`` and
    ``peer_<method>_<r>_{round,iid}.npy``, as this function writes them) instead of running
    it again (smartnoise's AIM takes many CPU-minutes). ``reference`` (AIM only): compare with
    the peer's recorded run (:data:`PEER_AIM_REFERENCE`) without running it.
    """
    data = load_adult()
    domain = adult_domain()
    names = list(domain.names)
    folder = DATA_DIR / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    arrow = encode(ibis_table(data), domain, text=False).to_pyarrow()
    codes = np.column_stack([arrow[n].to_numpy() for n in names]).astype(np.int64)
    np.save(folder / "adult_codes.npy", codes)
    (folder / "names.json").write_text(json.dumps(names))
    print(
        f"\n{method.upper()} on Adult ({len(codes)} rows, {len(names)} columns), "
        f"ε = {EPSILON}, δ = {DELTA}, workload all-2way"
    )
    ours_tv, ours_s, ours_cpu = [], [], []
    for r in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = synthesize(data, domain=domain, budget=ApproxDP(EPSILON, DELTA), method=method)
        ours_s.append(time.perf_counter() - start)
        ours_cpu.append(time.process_time() - cpu)
        card = report_card(data, result, attack_rows=0, seed=r)
        ours_tv.append(card.workload_error["2way_mean"])
        print(
            f"  ethica run {r}: TV {ours_tv[-1]:.4f}, {ours_s[-1]:.1f} s, {ours_cpu[-1]:.1f} cpu-s"
        )
    if reference:
        peer = PEER_AIM_REFERENCE
        print(
            f"  peer NOT re-run (smartnoise AIM takes > 2,000 CPU-s): its recorded run, TV "
            f"{peer['round']:.4f} (round), {peer['iid']:.4f} (i.i.d.), {peer['cpu']:.0f} cpu-s\n"
            f"  TV ratio ethica / peer: {np.mean(ours_tv) / peer['round']:.2f} (round), "
            f"{np.mean(ours_tv) / peer['iid']:.2f} (i.i.d.); CPU ratio "
            f"{np.mean(ours_cpu) / peer['cpu']:.3f}"
        )
        return
    python = peer_python()
    if python is None:
        print(f"smartnoise-synth unavailable: pip install {PEER_REQUIREMENTS} into {PEER} failed")
        return
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    peer_tv: dict[str, list[float]] = {"round": [], "iid": []}
    peer_s: list[float] = []
    peer_cpu: list[float] = []
    for r in range(repeats):
        if saved is not None:  # runs of the peer saved by an earlier (or concurrent) invocation
            folder = saved
            timing = json.loads((saved / f"timing_{method}_{r}.json").read_text())
        else:
            argv = [str(python), "-c", PEER_SCRIPT, str(folder), str(EPSILON), str(DELTA)]
            ran = subprocess.run([*argv, str(r), method], capture_output=True, text=True, env=env)
            ran.check_returncode()
            out = ran.stdout
            timing = json.loads(out.strip().splitlines()[-1])
            (folder / f"timing_{method}_{r}.json").write_text(json.dumps(timing))
        peer_s.append(timing["fit_s"])
        peer_cpu.append(timing["fit_cpu"])
        for way in peer_tv:
            peer_codes = np.load(folder / f"peer_{method}_{r}_{way}.npy")
            card = report_card(data, result, synthetic=peer_codes, attack_rows=0)
            peer_tv[way].append(card.workload_error["2way_mean"])
        print(
            f"  peer run {r}: TV {peer_tv['round'][-1]:.4f} (round), {peer_tv['iid'][-1]:.4f}"
            f" (i.i.d.), {peer_s[-1]:.1f} s, {peer_cpu[-1]:.1f} cpu-s"
        )

    def cell(values: list[float]) -> str:
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return f"{np.mean(values):.4f} ± {sd:.4f}"

    label = method.upper()
    print(f"  ({repeats} runs each; mean ± sd)     mean 2-way TV       fit s   fit cpu-s")
    print(
        f"  ethica {label} (i.i.d.)          {cell(ours_tv):>18}   {np.mean(ours_s):7.1f}"
        f"   {np.mean(ours_cpu):7.1f}"
    )
    print(
        f"  smartnoise {label}, round (default){cell(peer_tv['round']):>18}   "
        f"{np.mean(peer_s):7.1f}   {np.mean(peer_cpu):7.1f}"
    )
    print(f"  smartnoise {label}, i.i.d.         {cell(peer_tv['iid']):>18}")
    print(
        f"  TV ratio ethica / peer: {np.mean(ours_tv) / np.mean(peer_tv['round']):.2f} (round),"
        f" {np.mean(ours_tv) / np.mean(peer_tv['iid']):.2f} (i.i.d.); time ratio ethica / peer:"
        f" {np.mean(ours_s) / np.mean(peer_s):.3f} wall,"
        f" {np.mean(ours_cpu) / np.mean(peer_cpu):.3f} CPU"
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
        f"  {method.upper()} synthesize: {got['synth_s']:.1f} s wall, {got['synth_cpu']:.1f} "
        f"CPU-s ({got['rounds']} selections); report card "
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
    parser.add_argument(
        "--peer-results", type=Path, default=None, help="reuse the peer's saved runs in DIR"
    )
    parser.add_argument(
        "--peer-methods", default="mst,aim", help="methods compared with the peer: mst,aim"
    )
    parser.add_argument(
        "--peer-reference",
        action="store_true",
        help="AIM: compare with the peer's recorded run instead of re-running it (> 2,000 CPU-s)",
    )
    args = parser.parse_args()
    if args.rows:
        scale(args.rows, args.method)
        return
    if not args.no_sweep:
        sweep()
    if not args.no_peer:
        for method in args.peer_methods.split(","):
            reference = args.peer_reference and method == "aim"
            peer_comparison(method, args.repeats, args.peer_results, reference=reference)


if __name__ == "__main__":
    main()
