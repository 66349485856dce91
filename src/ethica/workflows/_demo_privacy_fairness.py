"""The demo's "Fairness and privacy together" story on Adult.

:func:`privacy_fairness_sections` runs, within about half a minute:

1. **Who pays for a private model.** DP logistic regression (objective perturbation,
   :class:`ethica.privacy.learning.DPLogisticRegression`) on Adult train at a few epsilons,
   next to the non-private model, scored on Adult test by sex and race with
   :func:`ethica.privacy.learning.privacy_cost_by_group` (Bagdasaryan, Poursaeed & Shmatikov
   2019); and the loss-threshold membership attack (Yeom et al. 2018) against the same
   learner in an overfit setting, at each epsilon.
2. **A private audit next to the exact one.** The ordinary model's decisions on Adult test,
   audited exactly and under ``PureDP(1)`` with declared groups; the private audit's
   intervals are compared with the exact ones.
3. **Fair learning with a private protected attribute: the three-way frontier.** Adult train
   is cut in two: the first half is treated as public (it gives the finite hypothesis class of
   :class:`~ethica.privacy.learning.DPExponentiatedGradient` and the scorer of
   :class:`~ethica.privacy.learning.DPThresholdOptimizer`), the second as private (its sex
   column is what the budget protects). Both DP fair learners run over a grid of epsilons
   and demographic-parity bounds (:func:`~ethica.privacy.learning.private_frontier`) and are
   measured on Adult test: error × unfairness × epsilon. The features of this part leave
   out the sex column, so the reduction's classifiers never read it.

Encoding: numeric columns scaled into [0, 1] by declared public ranges, categories one-hot,
so every row has norm at most ``sqrt(5 + number of categorical columns)``: ``data_norm`` is
declared, never read from the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ethica.fairness import AuditResult
    from ethica.fairness._private_audit import PrivateAuditResult
    from ethica.privacy.learning import PrivacyCostResult, PrivateFrontierResult
    from ethica.report import Section

__all__ = [
    "AUDIT_EPSILON",
    "DEMO_EPSILONS",
    "FRONTIER_BOUNDS",
    "FRONTIER_EPSILONS",
    "MembershipPoint",
    "PrivacyFairnessRun",
    "privacy_fairness_sections",
    "run_privacy_fairness",
    "sections_of",
]

LABEL = "income"
POSITIVE = ">50K"
#: Public ranges of Adult's numeric columns (documented in the UCI description).
NUMERIC: dict[str, tuple[float, float]] = {
    "age": (17.0, 90.0),
    "education_num": (1.0, 16.0),
    "capital_gain": (0.0, 99999.0),
    "capital_loss": (0.0, 4356.0),
    "hours_per_week": (1.0, 99.0),
}
CATEGORICAL = (
    "workclass",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
)
DATA_NORM = math.sqrt(len(NUMERIC) + len(CATEGORICAL))
#: Epsilons of the DP models (add/remove neighbours), smallest to largest.
DEMO_EPSILONS = (0.05, 0.2, 1.0, 8.0)
#: DP models trained per epsilon (the figure shows their mean and range).
DRAWS = 3
#: The private audit's budget.
AUDIT_EPSILON = 1
#: Public groups of the audit (Adult's documented categories).
GROUPS = {
    "sex": ["Male", "Female"],
    "race": ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"],
}
#: Membership setting: members per split, splits, and the learner's inverse regularisation.
MEMBERS, SPLITS, MEMBERSHIP_C = 150, 6, 1e4
#: "No noise": an epsilon so large the DP learner is the ordinary one.
NO_NOISE = 1e6
#: The three-way frontier's grid: budgets of each fit, demographic-parity bounds, fits per
#: point, and the public half's multiplier grid (the reduction's hypothesis class).
FRONTIER_EPSILONS = (0.05, 0.5, 5.0)
FRONTIER_BOUNDS = (0.01, 0.05)
FRONTIER_REPEATS = 2
FRONTIER_HYPOTHESES = 12
#: Public rows the hypothesis class is fitted on (a sample of the public half: enough for
#: 14 classifiers, and fast).
FRONTIER_PUBLIC_ROWS = 4000


@dataclass(frozen=True)
class MembershipPoint:
    """Mean loss-threshold attack AUC and advantage over the splits, at one epsilon."""

    epsilon: float
    auc: float
    advantage: float
    auc_sd: float


@dataclass(frozen=True)
class PrivacyFairnessRun:
    """Everything the section shows: per-group costs, membership, exact and private audits."""

    cost: PrivacyCostResult
    attribute: str
    membership: tuple[MembershipPoint, ...]
    exact: AuditResult
    private: PrivateAuditResult
    chance_sd: float
    frontier: PrivateFrontierResult | None = None


def encode(frame: pd.DataFrame, columns: pd.Index | None = None) -> pd.DataFrame:
    """Numeric columns scaled by their declared ranges, categories one-hot (norm <= DATA_NORM)."""
    numeric = pd.DataFrame(
        {
            name: (frame[name].astype(float).clip(lo, hi) - lo) / (hi - lo)
            for name, (lo, hi) in NUMERIC.items()
        },
        index=frame.index,
    )
    dummies = pd.get_dummies(frame[list(CATEGORICAL)].astype(str), dtype=float)
    encoded = pd.concat([numeric, dummies], axis=1)
    return encoded if columns is None else encoded.reindex(columns=columns, fill_value=0.0)


def _income(frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
    flags = frame[LABEL].astype(str).str.startswith(POSITIVE).to_numpy()
    return np.asarray(flags, dtype=np.int64)


def _membership(train: pd.DataFrame, seed: int) -> tuple[tuple[MembershipPoint, ...], float]:
    from ethica.attacks import loss_threshold_attack
    from ethica.privacy.learning import DPLogisticRegression

    rows = train.sample(2 * MEMBERS * SPLITS, random_state=seed)
    X = encode(rows).to_numpy()
    y = _income(rows)
    points = []
    for epsilon in (NO_NOISE, *sorted(DEMO_EPSILONS, reverse=True)):
        aucs, advantages = [], []
        for split in range(SPLITS):
            start = 2 * MEMBERS * split
            members = slice(start, start + MEMBERS)
            others = slice(start + MEMBERS, start + 2 * MEMBERS)
            model = DPLogisticRegression(epsilon=epsilon, C=MEMBERSHIP_C, data_norm=DATA_NORM)
            model.fit(X[members], y[members])
            attack = loss_threshold_attack(model, X[members], y[members], X[others], y[others])
            aucs.append(attack.auc)
            advantages.append(attack.advantage)
        points.append(
            MembershipPoint(
                epsilon, float(np.mean(aucs)), float(np.mean(advantages)), float(np.std(aucs))
            )
        )
    chance_sd = math.sqrt((2 * MEMBERS + 1) / (12 * MEMBERS**2)) / math.sqrt(SPLITS)
    return tuple(points), chance_sd


def _frontier(train: pd.DataFrame, test: pd.DataFrame) -> PrivateFrontierResult:
    """The three-way frontier on Adult (module docstring, part 3)."""
    from sklearn.linear_model import LogisticRegression

    from ethica.fairness import DemographicParity
    from ethica.privacy.learning import private_frontier, public_hypotheses

    frame = encode(train)
    features = [c for c in frame.columns if not c.startswith("sex_")]
    X = frame[features].to_numpy()
    X_test = encode(test, frame.columns)[features].to_numpy()
    y, sex = _income(train), train["sex"].astype(str).to_numpy()
    half = X.shape[0] // 2
    public, private = slice(0, min(half, FRONTIER_PUBLIC_ROWS)), slice(half, None)
    spec = DemographicParity(difference_bound=FRONTIER_BOUNDS[0])
    hypotheses = public_hypotheses(
        X[public], y[public], sensitive_features=sex[public], constraints=spec,
        estimator=LogisticRegression(max_iter=300), grid_size=FRONTIER_HYPOTHESES,
    )  # fmt: skip
    scorer = LogisticRegression(max_iter=1000).fit(X[public], y[public])
    return private_frontier(
        X[private], y[private], sex[private], X_test, _income(test),
        test["sex"].astype(str).to_numpy(), groups=GROUPS["sex"], constraints=spec,
        epsilons=FRONTIER_EPSILONS, bounds=FRONTIER_BOUNDS, hypotheses=hypotheses,
        scorer=scorer, repeats=FRONTIER_REPEATS,
    )  # fmt: skip


def run_privacy_fairness(
    scored: pd.DataFrame,
    exact: AuditResult,
    *,
    prediction: str = "decision",
    outcome: str = "outcome",
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
) -> PrivacyFairnessRun:
    """Train the DP models, attack them, and audit ``scored`` privately next to ``exact``.

    ``scored`` is Adult test with the ordinary model's 0/1 ``prediction`` and the true 0/1
    ``outcome``; ``exact`` its exact audit (by sex and race). ``train`` and ``test`` are
    Adult's two files when the caller has them already (read here otherwise).
    """
    from ethica.datasets import load_adult
    from ethica.fairness import audit
    from ethica.fairness._private_audit import PrivateAuditResult
    from ethica.privacy import PureDP
    from ethica.privacy.learning import DPLogisticRegression, privacy_cost_by_group

    step = progress or (lambda _message: None)
    if train is None or test is None:
        train, test = load_adult("train"), load_adult("test")
    X_train = encode(train)
    X_test = encode(test, X_train.columns).to_numpy()
    y_train, y_test = _income(train), _income(test)
    step(f"Privacy and fairness: training {DRAWS} DP models at each ε in {DEMO_EPSILONS}")
    models: dict[str, Any] = {
        "non-private": DPLogisticRegression(epsilon=NO_NOISE, data_norm=DATA_NORM).fit(
            X_train.to_numpy(), y_train
        )
    }
    for epsilon in DEMO_EPSILONS:
        for draw in range(DRAWS):
            model = DPLogisticRegression(epsilon=epsilon, data_norm=DATA_NORM)
            models[f"ε={epsilon:g} #{draw + 1}"] = model.fit(X_train.to_numpy(), y_train)
    attribute = "race"
    cost = privacy_cost_by_group(
        models, X_test, y_test, test[attribute].astype(str).rename(attribute)
    )
    step("Privacy and fairness: membership inference against the DP models")
    membership, chance_sd = _membership(train, seed)
    step(f"Privacy and fairness: auditing the ordinary model under PureDP({AUDIT_EPSILON})")
    private = audit(
        scored,
        label=outcome,
        prediction=prediction,
        protected=list(GROUPS),
        groups=GROUPS,
        privacy=PureDP(AUDIT_EPSILON),
        harm=exact.harm,
    )
    assert isinstance(private, PrivateAuditResult)
    step(
        "Privacy and fairness: the three-way frontier (DP fair learners at ε in "
        f"{FRONTIER_EPSILONS}, bounds {FRONTIER_BOUNDS})"
    )
    frontier = _frontier(train, test)
    return PrivacyFairnessRun(cost, attribute, membership, exact, private, chance_sd, frontier)


def sections_of(run: PrivacyFairnessRun) -> tuple[Section, ...]:
    """The report sections of a finished run."""
    from ethica.report._privacy_fairness_section import (
        dp_learning_cost_section,
        private_audit_section,
        private_frontier_section,
    )

    sections = (
        dp_learning_cost_section(
            run.cost, run.membership, chance_sd=run.chance_sd, data_norm=DATA_NORM
        ),
        private_audit_section(run.exact, run.private),
    )
    if run.frontier is None:
        return sections
    return (*sections, private_frontier_section(run.frontier))


def privacy_fairness_sections(
    scored: pd.DataFrame,
    exact: AuditResult,
    *,
    progress: Callable[[str], None] | None = None,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
) -> tuple[Section, ...]:
    """The demo's three sections: who pays for a private model, a private audit, and fair
    learning with a private protected attribute (the three-way frontier)."""
    return sections_of(
        run_privacy_fairness(scored, exact, progress=progress, train=train, test=test)
    )
