"""Synthetic Adult: the declared public domain, a run with its report card, and ε sweeps.

The Adult domain below is public knowledge (the UCI codebook's categories; bins chosen
without looking at the data), as a DP synthesizer requires.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ethica.privacy.budget._budgets import ApproxDP, Budget
from ethica.privacy.budget._ledger import Ledger
from ethica.privacy.synth import Domain, SynthReport, SynthResult, report_card, synthesize
from ethica.report._page import Section
from ethica.report._synth_section import synth_section

__all__ = [
    "ADULT_DOMAIN",
    "adult_domain",
    "epsilon_curve",
    "run_synth",
    "synth_sections",
    "synthetic_adult",
]

ADULT_DOMAIN: dict[str, Any] = {
    "columns": {
        "age": {"bins": [17, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 91], "integer": True},
        "workclass": {
            "categories": [
                "Federal-gov",
                "Local-gov",
                "Never-worked",
                "Private",
                "Self-emp-inc",
                "Self-emp-not-inc",
                "State-gov",
                "Without-pay",
            ]
        },
        "education": {
            "categories": [
                "Preschool",
                "1st-4th",
                "5th-6th",
                "7th-8th",
                "9th",
                "10th",
                "11th",
                "12th",
                "HS-grad",
                "Some-college",
                "Assoc-voc",
                "Assoc-acdm",
                "Bachelors",
                "Masters",
                "Prof-school",
                "Doctorate",
            ]
        },
        "marital_status": {
            "categories": [
                "Divorced",
                "Married-AF-spouse",
                "Married-civ-spouse",
                "Married-spouse-absent",
                "Never-married",
                "Separated",
                "Widowed",
            ]
        },
        "occupation": {
            "categories": [
                "Adm-clerical",
                "Armed-Forces",
                "Craft-repair",
                "Exec-managerial",
                "Farming-fishing",
                "Handlers-cleaners",
                "Machine-op-inspct",
                "Other-service",
                "Priv-house-serv",
                "Prof-specialty",
                "Protective-serv",
                "Sales",
                "Tech-support",
                "Transport-moving",
            ]
        },
        "relationship": {
            "categories": [
                "Husband",
                "Not-in-family",
                "Other-relative",
                "Own-child",
                "Unmarried",
                "Wife",
            ]
        },
        "race": {
            "categories": ["Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"]
        },
        "sex": {"categories": ["Female", "Male"]},
        "capital_gain": {"bins": [0, 1, 5000, 10000, 100000], "integer": True},
        "capital_loss": {"bins": [0, 1, 1500, 2000, 5000], "integer": True},
        "hours_per_week": {"bins": [1, 20, 30, 40, 41, 50, 60, 100], "integer": True},
        "native_country": {"categories": ["United-States", "Mexico", "Philippines", "Germany"]},
        "income": {"categories": ["<=50K", ">50K"]},
    }
}


def adult_domain(columns: Sequence[str] | None = None) -> Domain:
    """The Adult domain (all 13 columns, or the named subset, in that order)."""
    spec = ADULT_DOMAIN["columns"]
    names = list(spec) if columns is None else list(columns)
    return Domain.from_dict({"columns": {n: spec[n] for n in names}})


def run_synth(
    source: object,
    *,
    domain: Domain | str | Path,
    budget: Budget,
    method: str,
    workload: object = "all-2way",
    ledger: Ledger | None = None,
    dataset: str | None = None,
    target: str | None = None,
    protected: Sequence[str] = (),
    attack_rows: int = 1000,
    seed: int = 0,
) -> tuple[SynthResult, SynthReport]:
    """Synthesize, then score against the real data (the card is for the custodian)."""
    result = synthesize(
        source,
        domain=domain,
        budget=budget,
        method=method,
        workload=workload,
        ledger=ledger,
        dataset=dataset,
    )
    card = report_card(
        source, result, target=target, protected=protected, attack_rows=attack_rows, seed=seed
    )
    return result, card


def epsilon_curve(
    source: object,
    domain: Domain,
    epsilons: Sequence[float],
    *,
    method: str = "aim",
    delta: float = 1e-9,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Mean 2-way TV error of the synthesis at each ε (no ledger: a custodian's study)."""
    out = []
    for eps in epsilons:
        tvs, tv3s = [], []
        for r in range(repeats):
            result = synthesize(source, domain=domain, budget=ApproxDP(eps, delta), method=method)
            card = report_card(source, result, attack_rows=0, seed=r)
            tvs.append(card.workload_error["2way_mean"])
            if "3way_mean" in card.workload_error:
                tv3s.append(card.workload_error["3way_mean"])
        tv3 = sum(tv3s) / len(tv3s) if tv3s else None
        out.append({"epsilon": eps, "tv2": sum(tvs) / len(tvs), "tv3": tv3})
    return out


def synthetic_adult(
    epsilon: float = 1.0,
    *,
    method: str = "aim",
    curve_epsilons: Sequence[float] = (),
    attack_rows: int = 1000,
) -> tuple[SynthReport, Section]:
    """The demo's section "A safe copy of the data": synthetic Adult (the training file) at
    ``epsilon``, its report card, and the workload error at ``curve_epsilons`` too (plotted
    with the run at ``epsilon`` as one more point)."""
    from ethica.datasets import load_adult

    data = load_adult()
    domain = adult_domain()
    _, card = run_synth(
        data,
        domain=domain,
        budget=ApproxDP(epsilon, 1e-9),
        method=method,
        target="income",
        protected=("sex", "race"),
        attack_rows=attack_rows,
    )
    curve = epsilon_curve(data, domain, curve_epsilons, method=method) if curve_epsilons else []
    if curve:
        tv3 = card.workload_error.get("3way_mean")
        curve.append({"epsilon": epsilon, "tv2": card.workload_error["2way_mean"], "tv3": tv3})
        curve.sort(key=lambda row: float(row["epsilon"]))
    return card, synth_section(card, curve=curve)


def synth_sections(progress: Callable[[str], None] | None = None) -> tuple[Section, ...]:
    """The demo's section: MST on Adult at ε = 1 (about 20 s), with ε = 0.3 and 3 plotted."""
    step = progress or (lambda _message: None)
    step("Synthetic data: a private copy of Adult (MST, ε = 1), its report card")
    _, section = synthetic_adult(1.0, method="mst", curve_epsilons=(0.3, 3.0), attack_rows=500)
    return (section,)
