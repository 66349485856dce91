"""Benchmark: ethica's rich-subgroup auditor and learner against the reference GerryFair code.

The reference is Kearns, Neel, Roth and Wu's GerryFair as shipped in AIF360 0.6.1
(``aif360/algorithms/inprocessing/gerryfair``). It is installed once, with ``--no-deps``,
into ``benchmarks/.data/peer-aif360`` together with the runtime dependencies of matplotlib
(which the gerryfair package imports) that the venv lacks; the venv is untouched and the
folder is appended to ``sys.path``. Measured in the same run, on the same Adult rows and the
same predictions (protected: sex and race one-hot, age numeric; the reference gets exactly
the columns ethica's encoding builds, inside an AIF360 ``BinaryLabelDataset``):

(a) auditor, false-positive rates of a logistic regression: the reference ``Auditor.audit``
    per call (its one-time ``Auditor(...)`` construction timed apart) against ethica's
    ``RichSubgroupAuditor.audit`` per call (its one-time binding timed apart; the one-shot
    ``audit_rich_subgroups`` too), and the gamma-unfairness each finds (the reference's own
    figure and its group re-scored exactly);
(b) learner: time per fictitious-play round of the reference ``GerryFairClassifier.fit``
    against ethica's ``GerryFairClassifier`` at the same C, gamma and most rounds (ethica
    stops once its worst subgroup is within gamma; the reference, run with
    ``early_termination=False``, plays every round), whole fit and net of one-time set-up;
    and the error and unfairness ethica reaches at its own default C (1).

BLAS is limited to one thread for both (on a shared 2-core machine, threaded LAPACK on these
tall, thin matrices runs up to 10x slower than one thread, for both contenders alike).

Run: ``.venv/bin/python benchmarks/bench_gerryfair.py [--quick] [--rounds R] [--gamma G]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA_DIR, best_time
from ethica._exceptions import ConvergenceWarning
from ethica.data._datasets import load_adult
from ethica.data._training import fit_encoding
from ethica.fairness._gerryfair import GerryFairClassifier
from ethica.fairness._rich_subgroups import (
    LinearOracle,
    RichSubgroupAuditor,
    audit_rich_subgroups,
    encode_attributes,
)

PROTECTED = ["sex", "race", "age"]
PEER = DATA_DIR / "peer-aif360"
#: aif360 and matplotlib as the brief names them, plus matplotlib's imports the venv lacks.
PEER_REQUIREMENTS = (
    "aif360==0.6.1",
    "matplotlib",
    "pyparsing",
    "cycler",
    "kiwisolver",
    "contourpy",
    "fonttools",
)
PEER_MODULES = (
    "aif360",
    "matplotlib",
    "pyparsing",
    "cycler",
    "kiwisolver",
    "contourpy",
    "fontTools",
)
C = 10.0  # the reference's default multiplier (and gamma 0.01 its default target)


@dataclass(frozen=True)
class Bench:
    """The rows every contender sees."""

    features: npt.NDArray[np.float64]  # learner's X: encoded features, then protected columns
    y: npt.NDArray[np.int8]
    protected: pd.DataFrame  # sex, race (text), age (float): ethica's natural input
    encoded: pd.DataFrame  # their numeric encoding: exactly the reference's X_prime
    predictions: npt.NDArray[np.float64]  # audited: a logistic regression's 0/1 decisions
    frame: pd.DataFrame  # features + label, for the reference's dataset wrapper


def load_bench(rows: int | None) -> Bench:
    """Adult training rows (all, or a seeded sample of ``rows``) encoded once for everyone."""
    train = load_adult("train")
    if rows is not None and rows < len(train):
        train = train.sample(rows, random_state=0)
    data = fit_encoding(train, label="income", protected=PROTECTED, positive=">50K").transform(
        train
    )
    protected = pd.DataFrame(data.sensitive, columns=PROTECTED).astype({"age": float})
    attributes, names = encode_attributes(protected)
    features = np.hstack([data.X, attributes])
    scorer = LogisticRegression(solver="liblinear", random_state=0).fit(data.X, data.y)
    frame = pd.DataFrame(features, columns=[*data.feature_names, *names])
    frame["income"] = data.y.astype(np.float64)
    return Bench(
        features=features,
        y=data.y,
        protected=protected,
        encoded=pd.DataFrame(attributes, columns=list(names)),
        predictions=scorer.predict(data.X).astype(np.float64),
        frame=frame,
    )


def load_reference() -> tuple[SimpleNamespace | None, str]:
    """The reference's modules (installed on first use), or None and the reason."""
    if not all((PEER / module).exists() for module in PEER_MODULES):
        installed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(PEER),
                *PEER_REQUIREMENTS,
            ],
            check=False,
        )
        if installed.returncode != 0:
            return None, f"pip install --target {PEER} {' '.join(PEER_REQUIREMENTS)} failed"
    sys.path.append(str(PEER))
    os.environ.setdefault("MPLBACKEND", "Agg")
    logging.disable(logging.WARNING)  # aif360 logs every optional algorithm it cannot load
    try:
        from aif360.algorithms.inprocessing.gerryfair import clean
        from aif360.algorithms.inprocessing.gerryfair.auditor import Auditor
        from aif360.algorithms.inprocessing.gerryfair_classifier import (
            GerryFairClassifier as ReferenceModel,
        )
        from aif360.datasets import BinaryLabelDataset
    except ImportError as error:
        return None, f"cannot import {error.name!r} from {PEER}: {error}"
    finally:
        logging.disable(logging.NOTSET)
    return SimpleNamespace(
        Auditor=Auditor, Model=ReferenceModel, Dataset=BinaryLabelDataset, clean=clean
    ), "aif360 0.6.1"


def exact_unfairness(
    members: npt.NDArray[np.bool_], predictions: npt.NDArray[np.float64], y: npt.NDArray[np.int8]
) -> float:
    """alpha * beta of a subgroup for false-positive rates, computed directly from the rows."""
    event = y == 0
    inside = members[event].astype(bool)
    if not inside.any():
        return 0.0
    rates = predictions[event]
    return float(inside.sum() / y.shape[0] * abs(rates[inside].mean() - rates.mean()))


def bench_auditor(bench: Bench, ref: SimpleNamespace | None, dataset: Any, repeat: int) -> None:
    def bind(protected: pd.DataFrame) -> RichSubgroupAuditor:
        return RichSubgroupAuditor(bench.y, protected, metric="fpr")

    found = audit_rich_subgroups(bench.predictions, bench.y, bench.protected, metric="fpr")
    once = best_time(
        lambda: audit_rich_subgroups(bench.predictions, bench.y, bench.protected, metric="fpr"),
        repeat=repeat,
    )
    binding = best_time(lambda: bind(bench.protected), repeat=repeat)
    auditor, numeric = bind(bench.protected), bind(bench.encoded)
    ours = best_time(lambda: auditor.audit(bench.predictions), repeat=repeat)
    ours_numeric = best_time(lambda: numeric.audit(bench.predictions), repeat=repeat)
    ours_exact = exact_unfairness(found.contains(bench.protected), bench.predictions, bench.y)
    print("\n(a) auditor, FP-rate subgroups of a logistic regression's decisions")
    print(
        f"  ethica RichSubgroupAuditor.audit: {ours * 1e3:8.2f} ms per call on sex/race text + "
        f"age; {ours_numeric * 1e3:.2f} ms on the reference's numeric columns (+ "
        f"{binding * 1e3:.1f} ms once to bind the auditor); one-shot audit_rich_subgroups "
        f"{once * 1e3:.1f} ms"
    )
    print(
        f"  ethica gamma-unfairness {found.gamma_unfairness:.5f} (re-scored from the rows "
        f"{ours_exact:.5f}); subgroup {found.description}"
    )
    if ref is None:
        return
    start = time.perf_counter()
    reference = ref.Auditor(dataset, "FP")
    construction = time.perf_counter() - start
    theirs = best_time(lambda: reference.audit(bench.predictions), repeat=repeat)
    members, reported = reference.audit(bench.predictions)
    theirs_exact = exact_unfairness(np.asarray(members), bench.predictions, bench.y)
    print(
        f"  reference Auditor.audit:          {theirs * 1e3:8.2f} ms per call (+ "
        f"{construction:.2f} s once to build Auditor(dataset))"
    )
    print(
        f"  reference gamma-unfairness {float(reported):.5f} as it reports it, "
        f"{theirs_exact:.5f} re-scored from the rows ({int(np.sum(members))} rows in its group)"
    )
    print(
        f"  RATIO per call (reference / ethica): x{theirs / ours:.1f} on text attributes, "
        f"x{theirs / ours_numeric:.1f} on the same numeric columns   [target >= 10]"
    )
    print(
        f"    one audit from scratch (reference construction + call / ethica one-shot): "
        f"x{(construction + theirs) / once:.1f}; reference call / ethica one-shot: "
        f"x{theirs / once:.1f}"
    )
    print(
        f"  RATIO unfairness found (ethica / reference, re-scored): "
        f"{found.gamma_unfairness / theirs_exact:.3f}   [target >= 1]"
    )


def bench_learner(
    bench: Bench, ref: SimpleNamespace | None, dataset: Any, rounds: int, gamma: float
) -> None:
    print(f"\n(b) learner, fictitious play, C={C:g}, gamma={gamma:g}, up to {rounds} rounds")
    setup = best_time(  # what its fit does before the first round
        lambda: (LinearOracle(bench.features), RichSubgroupAuditor(bench.y, bench.protected)),
        repeat=3,
    )
    estimator = GerryFairClassifier(C=C, gamma=gamma, max_iter=rounds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = estimator.fit(bench.features, bench.y, sensitive_features=bench.protected)
        ours_fit = best_time(
            lambda: estimator.fit(bench.features, bench.y, sensitive_features=bench.protected),
            repeat=3,
        )
    ours = _round_times("ethica GerryFairClassifier", ours_fit, setup, model.n_iter_)
    reached = "" if caught else " (reached gamma)"
    print(
        f"  ethica: {model.n_iter_} rounds{reached}; training error {model.errors_[-1]:.4f}, "
        f"gamma-unfairness {model.unfairness_[-1]:.5f} (own auditor)"
    )
    default = GerryFairClassifier(gamma=gamma, max_iter=rounds)  # ethica's own default C
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default.fit(bench.features, bench.y, sensitive_features=bench.protected)
    print(
        f"  ethica at its default C={default.C:g}: {default.n_iter_} rounds; training error "
        f"{default.errors_[-1]:.4f}, gamma-unfairness {default.unfairness_[-1]:.5f}"
    )
    if ref is None:
        return
    ref_setup = best_time(  # what its fit does before the first round
        lambda: (ref.clean.extract_df_from_ds(dataset), ref.Auditor(dataset, "FP")), repeat=2
    )
    reference = ref.Model(C=C, gamma=gamma, max_iters=rounds + 1)  # it plays max_iters - 1
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(dataset, early_termination=False)
    theirs_fit = time.perf_counter() - start
    theirs = _round_times(
        "reference GerryFairClassifier", theirs_fit, ref_setup, len(reference.errors)
    )
    soft = np.ravel(reference.predict(dataset, threshold=None).labels).astype(np.float64)
    mixture = np.clip(soft, 0.0, 1.0)  # its running sum of 1/T's can overshoot 1 by rounding
    audited = audit_rich_subgroups(mixture, bench.y, bench.protected, metric="fpr")
    print(
        f"  reference: {len(reference.errors)} rounds; training error "
        f"{float(reference.errors[-1]):.4f}, gamma-unfairness "
        f"{float(reference.fairness_violations[-1]):.5f} as it reports it, "
        f"{audited.gamma_unfairness:.5f} by ethica's auditor"
    )
    marginal = f"x{theirs[1] / ours[1]:.2f}" if ours[1] > 0 else "n/a (noise)"
    print(
        f"  RATIO per round (reference / ethica): x{theirs[0] / ours[0]:.2f} whole fit / rounds, "
        f"{marginal} excluding one-time set-up; whole fit x{theirs_fit / ours_fit:.2f} "
        f"({len(reference.errors)} vs {model.n_iter_} rounds)"
    )


def _round_times(name: str, fit: float, setup: float, rounds: int) -> tuple[float, float]:
    """(whole fit / rounds, (fit - set-up) / rounds), printed."""
    whole, marginal = fit / rounds, max(fit - setup, 0.0) / rounds
    print(
        f"  {name:<30} fit {fit:7.2f} s: {whole * 1e3:8.1f} ms per round, "
        f"{marginal * 1e3:8.1f} ms per round after {setup:.2f} s set-up"
    )
    return whole, marginal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 rows, 4 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="learner rounds (default 20)")
    parser.add_argument("--gamma", type=float, default=0.01, help="learner target (0.01)")
    args = parser.parse_args()
    rows = 4000 if args.quick else None
    rounds = args.rounds or (4 if args.quick else 20)
    bench = load_bench(rows)
    ref, status = load_reference()
    threadpool_limits(limits=1)  # after every import: it limits only the BLAS already loaded
    dataset = None
    if ref is not None:
        dataset = ref.Dataset(
            df=bench.frame,
            label_names=["income"],
            protected_attribute_names=list(bench.encoded.columns),
            favorable_label=1.0,
            unfavorable_label=0.0,
        )
    print(
        f"Adult train, {bench.y.shape[0]} rows; protected {list(bench.encoded.columns)}; "
        f"learner features {bench.features.shape[1]}; reference: "
        f"{status if ref is not None else 'NOT MEASURED, ' + status}; BLAS threads 1"
    )
    bench_auditor(bench, ref, dataset, repeat=3 if args.quick else 5)
    bench_learner(bench, ref, dataset, rounds, args.gamma)


if __name__ == "__main__":
    main()
