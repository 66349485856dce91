"""The report card of a synthetic copy: fidelity, utility, fairness fidelity, privacy evidence.

**The report card reads the real data and is not differentially private.** It is for the data
custodian deciding whether to publish the synthetic copy; it is never part of the release.

- **Workload error**: for every clique ``S`` of the workload (every 2-way marginal, and the
  3-way ones for an ``all-3way`` workload), the total variation distance
  ``TV_S = 1/2 sum_x |p_S(x) - q_S(x)|`` between the real marginal ``p_S`` (a GROUP BY in the
  engine) and the synthetic one ``q_S``; the mean and maximum over the workload.
- **Machine-learning utility** ("train on synthetic, test on real", Jordon et al. 2022): a
  logistic regression on one-hot codes trained on a real half vs on synthetic rows, both
  tested on the other real half (accuracy, ROC AUC).
- **Fairness fidelity**: per protected column, the selection rate and true positive rate of
  each group (:func:`ethica.audit`) under both models, and the largest gap between groups:
  does synthesis erase or invent discrimination?
- **Privacy evidence**: a shadow synthesis, same method and budget, on the real training half
  only (members); a distance-to-closest-record membership attack (Hamming distance to the
  nearest synthetic row; closer means "member") against members vs held-out non-members; its
  ROC AUC should be near 0.5 (chance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.data._level_marginals import codes_table, sample_codes
from ethica.data._private_sources import private_table
from ethica.privacy.synth._domain import Domain
from ethica.privacy.synth._marginals import MarginalReader, check_schema, encode
from ethica.privacy.synth._mechanisms import aim, mst
from ethica.privacy.synth._synthesize import SynthResult

__all__ = ["SynthReport", "report_card", "tv_distance"]

REPORT_SCHEMA_VERSION = 1


def tv_distance(real: NDArray[np.float64], synthetic: NDArray[np.float64]) -> float:
    """Total variation ``1/2 sum |p - q|`` between two count arrays, each normalised."""
    p = real / max(real.sum(), 1e-300)
    q = synthetic / max(synthetic.sum(), 1e-300)
    return float(0.5 * np.abs(p - q).sum())


def code_counts(
    codes: NDArray[np.int64], axes: Sequence[int], shape: Sequence[int]
) -> NDArray[np.float64]:
    """Dense counts of the columns ``axes`` of a code matrix."""
    dims = tuple(int(d) for d in shape)
    if len(codes) == 0:
        return np.zeros(dims, dtype=np.float64)
    flat = np.ravel_multi_index(tuple(codes[:, a] for a in axes), dims)
    size = int(np.prod(dims))
    return np.bincount(flat, minlength=size).astype(np.float64).reshape(dims)


@dataclass(frozen=True)
class SynthReport:
    """The report card (module docstring); ``to_dict()`` is its JSON."""

    method: str
    budget: dict[str, Any]
    n_real: int
    n_synthetic: int
    workload_error: dict[str, Any]
    ml_utility: dict[str, Any] | None = None
    fairness: dict[str, Any] | None = None
    privacy: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stable, versioned)."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "kind": "synthetic_data_report_card",
            "method": self.method,
            "budget": self.budget,
            "n_real": self.n_real,
            "n_synthetic": self.n_synthetic,
            "workload_error": self.workload_error,
            "ml_utility": self.ml_utility,
            "fairness": self.fairness,
            "privacy": self.privacy,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per workload clique: its total variation error."""
        return pd.DataFrame(self.workload_error["per_clique"])

    def _repr_html_(self) -> str:
        from ethica.report._synth_section import synth_section_html

        return synth_section_html(self)


def report_card(
    source: object,
    result: SynthResult,
    *,
    target: str | None = None,
    positive: str | None = None,
    protected: Sequence[str] = (),
    synthetic: NDArray[np.int64] | None = None,
    max_rows: int = 20_000,
    synthetic_rows: int = 1_000_000,
    attack_rows: int = 1_000,
    seed: int = 0,
    table: str | None = None,
) -> SynthReport:
    """Score ``result`` against the real ``source`` (module docstring; custodian only).

    Parameters
    ----------
    source
        The real data the model was fitted on.
    result
        The synthesis.
    target, positive
        Column to predict for the utility and fairness sections and its positive category
        (default: the last declared category); ``None`` skips those sections.
    protected
        Protected columns (declared in the domain) for the fairness section.
    synthetic
        Synthetic codes to score (default: a fresh sample of the model's noisy row count).
    max_rows
        Real rows materialised for the utility, fairness and attack sections: a bounded
        random sample drawn in the engine (a Bernoulli ``TABLESAMPLE``, then a random
        ``LIMIT``), so the card never loads a large table. The workload error uses exact
        GROUP BY marginals of all real rows.
    synthetic_rows
        At most this many synthetic rows are drawn and scored when ``synthetic`` is not
        given (default: the model's noisy row count, capped here so a 10M-row source does not
        materialise 10M synthetic rows; TV from 1M i.i.d. draws is within about 1e-3).
    attack_rows
        Members and non-members each in the membership attack (0 skips the shadow synthesis).
    seed
        Seeds the sampling, the split and the learners (reproducible).
    """
    dom = result.domain
    rng = np.random.default_rng(seed)
    t, text = private_table(source, table=table)
    check_schema(t, dom)
    encoded = encode(t, dom, text=text)
    reader = MarginalReader(encoded, dom)
    if synthetic is not None:
        codes = synthetic
    else:
        if (
            isinstance(synthetic_rows, bool)
            or not isinstance(synthetic_rows, int)
            or synthetic_rows < 1
        ):
            raise InvalidParameterError(
                f"synthetic_rows must be a positive integer, got {synthetic_rows!r}."
            )
        codes = result.sample_codes(max(min(round(result.total), synthetic_rows), 1), seed)
    names = list(dom.names)
    cliques: list[tuple[str, ...]] = sorted(
        set(result.workload) | set(_pairs(names)), key=lambda c: (len(c), c)
    )
    per: list[dict[str, Any]] = []
    tv_by_order: dict[int, list[float]] = {}
    for clique in cliques:
        real = reader.counts(clique)
        syn = code_counts(codes, [names.index(c) for c in clique], real.shape)
        tv = tv_distance(real, syn)
        per.append({"clique": list(clique), "order": len(clique), "tv": tv})
        tv_by_order.setdefault(len(clique), []).append(tv)
    n_real = int(reader.counts(names[:1]).sum())
    workload: dict[str, Any] = {"per_clique": per}
    for k, tvs in sorted(tv_by_order.items()):
        workload[f"{k}way_mean"] = float(np.mean(tvs))
        workload[f"{k}way_max"] = float(np.max(tvs))
    notes = [
        "This report card reads the real data and is NOT differentially private: it is for "
        "the data custodian only; publish the synthetic data, never this report."
    ]
    binned = result.binning.get("columns", {})
    if binned:
        notes.append(
            f"Bin edges of {', '.join(binned)} are DP quantiles (released with the model) "
            f"bought with {result.binning['share']} of the synthesis rho: "
            + "; ".join(f"{c}: {f['edges']}" for c, f in binned.items())
        )
    ml = fair = priv = None
    if target is not None or attack_rows > 0:
        real_rows = sample_codes(encoded, names, max_rows, n_real, seed)
        perm = rng.permutation(len(real_rows))
        half = len(real_rows) // 2
        train, test = real_rows[perm[:half]], real_rows[perm[half:]]
        if target is not None:
            ml, fair = _utility(dom, target, positive, protected, train, test, codes, seed)
        if attack_rows > 0:
            priv = _attack(result, train, test, attack_rows, seed)
    return SynthReport(
        method=result.method,
        budget=result.budget.to_dict(),
        n_real=n_real,
        n_synthetic=len(codes),
        workload_error=workload,
        ml_utility=ml,
        fairness=fair,
        privacy=priv,
        notes=tuple(notes),
    )


def _pairs(names: Sequence[str]) -> list[tuple[str, ...]]:
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def _one_hot(codes: NDArray[np.int64], sizes: Sequence[int]) -> NDArray[np.float64]:
    blocks = [np.eye(s)[codes[:, j]] for j, s in enumerate(sizes)]
    return np.hstack(blocks) if blocks else np.zeros((len(codes), 0))


def _utility(
    dom: Domain,
    target: str,
    positive: str | None,
    protected: Sequence[str],
    train: NDArray[np.int64],
    test: NDArray[np.int64],
    synthetic: NDArray[np.int64],
    seed: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from ethica.fairness import audit

    names = list(dom.names)
    col = dom[target]
    if col.categories is None:
        raise InvalidParameterError(f"target {target!r} must be a categorical column.")
    pos = col.categories[-1] if positive is None else positive
    if pos not in col.categories:
        raise InvalidParameterError(
            f"positive {pos!r} is not a category of {target!r}: {list(col.categories)}."
        )
    level = col.categories.index(pos)
    j = names.index(target)
    features = [i for i in range(len(names)) if i != j]
    sizes = [dom.columns[i].size for i in features]

    def xy(rows: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        return _one_hot(rows[:, features], sizes), (rows[:, j] == level).astype(np.int64)

    x_test, y_test = xy(test)
    out: dict[str, Any] = {"target": target, "positive": pos, "n_test": len(test)}
    preds: dict[str, NDArray[np.int64]] = {}
    for name, rows in (("real", train), ("synthetic", synthetic[: max(len(train), 1)])):
        x, y = xy(rows)
        if len(np.unique(y)) < 2:
            out[name] = {"accuracy": None, "auc": None, "note": "one class only"}
            preds[name] = np.zeros(len(y_test), dtype=np.int64)
            continue
        model = LogisticRegression(max_iter=2000, random_state=seed).fit(x, y)
        score = model.predict_proba(x_test)[:, 1]
        preds[name] = (score >= 0.5).astype(np.int64)
        out[name] = {
            "accuracy": float((preds[name] == y_test).mean()),
            "auc": float(roc_auc_score(y_test, score)),
        }
    fairness: dict[str, Any] = {}
    for attr in protected:
        a = dom[attr]
        labels = np.array(a.labels(), dtype=object)[test[:, names.index(attr)]]
        groups: dict[str, dict[str, Any]] = {}
        for name, pred in preds.items():
            frame = audit(
                y_true=y_test, y_pred=pred, sensitive_features=pd.Series(labels, name=attr)
            ).to_frame()
            frame = frame[frame["attributes"] == attr]
            for metric in ("selection_rate", "tpr"):
                rows = frame[frame["metric"] == metric]
                for _, r in rows.iterrows():
                    g = groups.setdefault(str(r["group"]), {"n": int(r["n"])})
                    value = r["value"]
                    g[f"{metric}_{name}"] = None if pd.isna(value) else float(value)
        gaps: dict[str, Any] = {}
        for metric in ("selection_rate", "tpr"):
            for name in preds:
                got = [g.get(f"{metric}_{name}") for g in groups.values() if g["n"] >= 30]
                vals = [float(v) for v in got if v is not None]
                gaps[f"{metric}_gap_{name}"] = float(max(vals) - min(vals)) if vals else None
        fairness[attr] = {"groups": groups, "gaps": gaps}
    return out, fairness


def _attack(
    result: SynthResult,
    train: NDArray[np.int64],
    test: NDArray[np.int64],
    attack_rows: int,
    seed: int,
) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    dom = result.domain
    names = list(dom.names)
    reader = MarginalReader(codes_table(train, names), dom)
    fit = (
        mst(dom, reader.counts, result.rho)
        if result.method == "mst"
        else aim(dom, reader.counts, result.rho, list(result.workload))
    )
    rng = np.random.default_rng(seed + 1)
    shadow = fit.model.sample(len(train), rng)
    k = min(attack_rows, len(train), len(test))
    ins = train[rng.permutation(len(train))[:k]]
    outs = test[rng.permutation(len(test))[:k]]
    d_in, d_out = _closest(ins, shadow), _closest(outs, shadow)
    labels = np.r_[np.ones(k), np.zeros(k)]
    auc = float(roc_auc_score(labels, -np.r_[d_in, d_out])) if k else 0.5
    return {
        "attack": "distance to closest synthetic record (Hamming), shadow synthesis on members",
        "n_members": k,
        "n_non_members": k,
        "auc": auc,
        "mean_dcr_members": float(d_in.mean()) if k else None,
        "mean_dcr_non_members": float(d_out.mean()) if k else None,
        "exact_match_members": float((d_in == 0).mean()) if k else None,
        "exact_match_non_members": float((d_out == 0).mean()) if k else None,
    }


def _closest(rows: NDArray[np.int64], synthetic: NDArray[np.int64]) -> NDArray[np.float64]:
    """Hamming distance of each row to its nearest synthetic row (chunked)."""
    out = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), 128):
        chunk = rows[start : start + 128]
        dist = (chunk[:, None, :] != synthetic[None, :, :]).sum(axis=2)
        out[start : start + len(chunk)] = dist.min(axis=1)
    return out
