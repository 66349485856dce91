"""Benchmark: ethica's DPLogisticRegression against IBM diffprivlib's LogisticRegression on Adult.

Same run, same rows, same features, same declared norm: Adult's training split (32,561 rows)
to train, its test split (16,281 rows) to score; features are the five numeric columns
scaled into [0, 1] by *declared* public ranges (age 17-90, education 1-16, capital gain
0-99,999, capital loss 0-4,356, hours 1-99) and six one-hot categorical columns (sex, race,
marital status, occupation, relationship, workclass), so every row has norm at most
``sqrt(11)``, the ``data_norm`` both learners are given. C = 1 for everyone.

Privacy: diffprivlib's guarantee is epsilon-DP for *replace-one* neighbours (its objective
uses the number of rows as public). ethica's is for add/remove (its ``Rows()`` unit); a
replace is a removal plus an addition, so ethica is run at epsilon/2 add/remove, which is
epsilon-DP replace-one: the same guarantee as diffprivlib at epsilon. Both are objective
perturbation (Chaudhuri et al. 2011), pure DP. The non-private scikit-learn model is the
ceiling.

diffprivlib 0.6.6 does not import with scikit-learn >= 1.8, so it runs in a bench-only venv
``benchmarks/.data/peer-diffprivlib`` (scikit-learn 1.7.2, created on first use; the project
venv is untouched), in a subprocess that reads the same arrays from ``.npy`` files. BLAS is
limited to one thread for everyone (shared 2-core machines).

Run: ``.venv/bin/python benchmarks/bench_dp_learning.py [--seeds S] [--quick]``.
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
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR
from ethica.data._datasets import load_adult
from ethica.privacy.learning import DPLogisticRegression

EPSILONS = (0.1, 0.5, 1.0, 2.0, 8.0)
NUMERIC = {
    "age": (17.0, 90.0),
    "education_num": (1.0, 16.0),
    "capital_gain": (0.0, 99999.0),
    "capital_loss": (0.0, 4356.0),
    "hours_per_week": (1.0, 99.0),
}
CATEGORICAL = ("sex", "race", "marital_status", "occupation", "relationship", "workclass")
DATA_NORM = float(np.sqrt(len(NUMERIC) + len(CATEGORICAL)))
PEER = DATA_DIR / "peer-diffprivlib"
PEER_REQUIREMENTS = ("scikit-learn==1.7.2", "diffprivlib==0.6.6")

PEER_SCRIPT = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
from diffprivlib.models import LogisticRegression
folder, seeds = sys.argv[1], int(sys.argv[2])
epsilons = json.loads(sys.argv[3])
X, y = np.load(folder + "/X_train.npy"), np.load(folder + "/y_train.npy")
Xt, yt = np.load(folder + "/X_test.npy"), np.load(folder + "/y_test.npy")
norm = float(sys.argv[4])
out = {}
with threadpool_limits(1, "blas"):
    for eps in epsilons:
        accuracy, seconds = [], []
        for _ in range(seeds):
            start = time.perf_counter()
            model = LogisticRegression(epsilon=eps, data_norm=norm, C=1.0).fit(X, y)
            seconds.append(time.perf_counter() - start)
            accuracy.append(float(model.score(Xt, yt)))
        out[str(eps)] = {"accuracy": accuracy, "seconds": seconds}
print(json.dumps(out))
"""


def encode(frame: pd.DataFrame, columns: pd.Index | None = None) -> pd.DataFrame:
    """Declared-range scaling of the numeric columns and one-hot categories (public)."""
    numeric = pd.DataFrame(
        {
            name: (frame[name].astype(float).clip(lo, hi) - lo) / (hi - lo)
            for name, (lo, hi) in NUMERIC.items()
        }
    )
    dummies = pd.get_dummies(frame[list(CATEGORICAL)].astype(str), dtype=float)
    encoded = pd.concat([numeric, dummies], axis=1)
    return encoded if columns is None else encoded.reindex(columns=columns, fill_value=0.0)


def load() -> tuple[npt.NDArray[np.float64], ...]:
    train, test = load_adult("train"), load_adult("test")
    X_train = encode(train)
    X_test = encode(test, X_train.columns)

    def label(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        return frame["income"].astype(str).str.startswith(">50K").to_numpy().astype(np.float64)

    return X_train.to_numpy(), label(train), X_test.to_numpy(), label(test)


def peer_python() -> Path | None:
    """The bench-only venv's interpreter (created on first use), or None if it cannot be."""
    python = PEER / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(PEER)
    check = subprocess.run(
        [str(python), "-c", "import diffprivlib, sklearn"], capture_output=True, check=False
    )
    if check.returncode != 0:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=False
        )
        if installed.returncode != 0:
            return None
    return python


def summary(name: str, accuracy: list[float], seconds: list[float]) -> dict[str, float | str]:
    return {
        "model": name,
        "mean_accuracy": float(np.mean(accuracy)),
        "sd_accuracy": float(np.std(accuracy, ddof=1)) if len(accuracy) > 1 else 0.0,
        "median_fit_s": float(np.median(seconds)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 seeds")
    args = parser.parse_args()
    seeds = 3 if args.quick else args.seeds
    X, y, Xt, yt = load()
    folder = DATA_DIR / "dp-learning"
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("X_train", X), ("y_train", y), ("X_test", Xt), ("y_test", yt)):
        np.save(folder / f"{name}.npy", array)
    print(f"Adult: {X.shape[0]} training rows, {Xt.shape[0]} test rows, {X.shape[1]} features")
    print(f"declared data_norm = sqrt(11) = {DATA_NORM:.4f}; {seeds} fits per cell")
    with threadpool_limits(1, "blas"):
        start = time.perf_counter()
        ceiling = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
        ceiling_time = time.perf_counter() - start
    print(
        f"non-private scikit-learn LogisticRegression: accuracy {ceiling.score(Xt, yt):.4f}, "
        f"fit {ceiling_time:.3f} s"
    )

    ours: dict[float, dict[str, list[float]]] = {}
    for eps in EPSILONS:
        accuracy, seconds = [], []
        for _ in range(seeds):
            start = time.perf_counter()
            model = DPLogisticRegression(epsilon=eps / 2, data_norm=DATA_NORM, C=1.0).fit(X, y)
            seconds.append(time.perf_counter() - start)
            accuracy.append(float(model.score(Xt, yt)))
        ours[eps] = {"accuracy": accuracy, "seconds": seconds}

    python = peer_python()
    peer: dict[str, dict[str, list[float]]] | None = None
    if python is None:
        print(f"diffprivlib unavailable: pip install into {PEER} failed")
    else:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        env.pop("PYTHONPATH", None)
        output = subprocess.run(
            [
                str(python),
                "-c",
                PEER_SCRIPT,
                str(folder),
                str(seeds),
                json.dumps(EPSILONS),
                str(DATA_NORM),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        peer = json.loads(output.strip().splitlines()[-1])

    header = (
        f"\n{'epsilon':>7}  {'ethica acc':>10} {'sd':>7} {'fit s':>7}  "
        f"{'diffpriv acc':>12} {'sd':>7} {'fit s':>7}  {'acc diff':>8} {'sd ratio':>8} "
        f"{'time ratio':>10}"
    )
    print(header)
    for eps in EPSILONS:
        mine = summary("ethica", ours[eps]["accuracy"], ours[eps]["seconds"])
        line = (
            f"{eps:>7}  {mine['mean_accuracy']:>10.4f} {mine['sd_accuracy']:>7.4f} "
            f"{mine['median_fit_s']:>7.3f}"
        )
        if peer is not None:
            theirs = summary("diffprivlib", peer[str(eps)]["accuracy"], peer[str(eps)]["seconds"])
            sd_ratio = float(mine["sd_accuracy"]) / max(float(theirs["sd_accuracy"]), 1e-12)
            line += (
                f"  {theirs['mean_accuracy']:>12.4f} {theirs['sd_accuracy']:>7.4f} "
                f"{theirs['median_fit_s']:>7.3f}  "
                f"{float(mine['mean_accuracy']) - float(theirs['mean_accuracy']):>+8.4f} "
                f"{sd_ratio:>8.2f} "
                f"x{float(mine['median_fit_s']) / float(theirs['median_fit_s']):>9.2f}"
            )
        print(line)
    print(
        "\nacc diff = ethica - diffprivlib (mean test accuracy); sd ratio and time ratio = "
        "ethica / diffprivlib (median fit time)."
    )


if __name__ == "__main__":
    main()
