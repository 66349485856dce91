"""ethica.privacy.synth: marginals in the engine, accounting, ledger, model, report card."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ethica._exceptions import BudgetExceededError, LedgerError, SchemaError
from ethica.data._level_marginals import MarginalReader, encode
from ethica.datasets import load_adult
from ethica.privacy import ZCDP, ApproxDP, Ledger, Rows
from ethica.privacy.synth import Domain, SynthResult, report_card, synthesize, tv_distance
from ethica.privacy.synth._mechanisms import aim, mst
from ethica.privacy.synth._model import Measurement, fit_forest
from ethica.workflows._synth import adult_domain

COLUMNS = ("age", "race", "sex", "relationship", "income")


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.fixture(scope="module")
def domain() -> Domain:
    return adult_domain(COLUMNS)


def _pandas_codes(frame: pd.DataFrame, domain: Domain) -> pd.DataFrame:
    out = {}
    for col in domain.columns:
        if col.categories is not None:
            lookup = {v: i for i, v in enumerate(col.categories)}
            out[col.name] = frame[col.name].map(lookup).fillna(col.size - 1).astype(int)
        else:
            edges = np.asarray(col.edges)
            idx = np.searchsorted(edges[1:-1], frame[col.name].to_numpy(float), side="right")
            out[col.name] = np.where(frame[col.name].isna(), col.size - 1, idx)
    return pd.DataFrame(out)


@pytest.mark.parametrize("as_csv", [False, True])
def test_marginal_counts_equal_pandas_groupby(
    adult: pd.DataFrame, domain: Domain, tmp_path: Path, as_csv: bool
) -> None:
    frame = adult[list(COLUMNS)].copy()
    frame.loc[3, "race"] = None  # a missing value lands in the catch-all level
    frame.loc[5, "age"] = 200  # beyond the last edge: clamped into the last bin
    if as_csv:
        path = tmp_path / "adult.csv"
        frame.to_csv(path, index=False)
        from ethica.data._private_sources import private_table

        table, text = private_table(path)
    else:
        table, text = ibis.memtable(pa.Table.from_pandas(frame)), False
    reader = MarginalReader(encode(table, domain, text=text), domain)
    codes = _pandas_codes(frame, domain)
    for clique in [("sex", "income"), ("age", "race"), ("race",), ("age", "sex", "income")]:
        expected = np.zeros([domain[c].size for c in clique])
        grouped = codes.groupby(list(clique)).size()
        for key, n in grouped.items():
            expected[key if isinstance(key, tuple) else (key,)] = n
        np.testing.assert_array_equal(reader.counts(clique), expected)
    assert reader.counts(("race",))[-1] == 1 + frame["race"].isna().sum() - 1


def test_forest_fitted_from_exact_marginals_reproduces_them(
    adult: pd.DataFrame, domain: Domain
) -> None:
    reader = MarginalReader(
        encode(ibis.memtable(pa.Table.from_pandas(adult)), domain, text=False), domain
    )
    edges = [("sex", "relationship"), ("relationship", "income"), ("age", "relationship")]
    ms = [Measurement((v,), reader.counts((v,)), 1.0) for v in domain.names]
    ms += [Measurement(e, reader.counts(e), 1.0) for e in edges]
    model = fit_forest(domain.names, domain.shape, ms, edges)
    assert model.total == pytest.approx(len(adult))
    for e in edges:
        np.testing.assert_allclose(model.counts(e), reader.counts(e), atol=1e-3)
    # sampling is i.i.d. along the tree: a large sample's edge marginal is close to the model's
    sample = model.sample(200_000, np.random.default_rng(0))
    names = list(domain.names)
    i, j = names.index("relationship"), names.index("income")
    syn = np.zeros(model.counts(("relationship", "income")).shape)
    np.add.at(syn, (sample[:, i], sample[:, j]), 1)
    assert tv_distance(reader.counts(("relationship", "income")), syn) < 0.01


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_spends_at_most_rho(adult: pd.DataFrame, domain: Domain, method: str) -> None:
    reader = MarginalReader(
        encode(ibis.memtable(pa.Table.from_pandas(adult)), domain, text=False), domain
    )
    rho = Fraction(1, 10)
    workload = [("sex", "income"), ("race", "income")]
    fit = (
        mst(domain, reader.counts, rho)
        if method == "mst"
        else aim(domain, reader.counts, rho, workload)
    )
    assert 0 < fit.rho_spent <= rho
    assert fit.rho_spent > rho * Fraction(9, 10)  # the budget is actually used
    if method == "mst":
        assert len(fit.selected) == len(domain.names) - 1


def test_ledger_charged_once_reserve_then_read_and_replay(
    adult: pd.DataFrame, domain: Domain, tmp_path: Path
) -> None:
    book = Ledger(tmp_path / "ledger.db")
    book.create_dataset("adult", ApproxDP(3, Fraction(1, 10**6)), privacy_unit=Rows())
    budget = ApproxDP(1, Fraction(1, 10**9))
    result = synthesize(
        adult,
        domain=domain,
        budget=budget,
        method="mst",
        ledger=book,
        dataset="adult",
        request_id="r1",
    )
    history = book.history("adult")
    assert [h.status for h in history] == ["released"]
    assert history[0].cost == budget
    again = synthesize(
        adult,
        domain=domain,
        budget=budget,
        method="mst",
        ledger=book,
        dataset="adult",
        request_id="r1",
    )
    assert len(book.history("adult")) == 1  # a replay spends nothing and draws no noise
    assert again.selected == result.selected
    np.testing.assert_allclose(again.model.counts(["sex"]), result.model.counts(["sex"]))
    assert SynthResult.from_dict(result.to_dict()).to_dict() == result.to_dict()


def test_refusals_before_the_charge(adult: pd.DataFrame, tmp_path: Path) -> None:
    book = Ledger(tmp_path / "ledger.db")
    book.create_dataset("adult", ApproxDP(1, Fraction(1, 10**6)), privacy_unit=Rows())
    bad = Domain.from_dict({"columns": {"no_such": {"categories": ["a"]}}})
    with pytest.raises(SchemaError, match="no_such"):
        synthesize(
            adult, domain=bad, budget=ApproxDP(1, Fraction(1, 10**9)), ledger=book, dataset="adult"
        )
    with pytest.raises(BudgetExceededError):
        synthesize(
            adult,
            domain=adult_domain(COLUMNS),
            budget=ApproxDP(2, Fraction(1, 10**9)),
            ledger=book,
            dataset="adult",
        )
    with pytest.raises(LedgerError, match="register"):
        synthesize(
            adult,
            domain=adult_domain(COLUMNS),
            budget=ApproxDP(1, Fraction(1, 10**9)),
            ledger=book,
            dataset="other",
        )
    assert book.history("adult") == []  # nothing was charged


def _mean_tv(
    adult: pd.DataFrame, domain: Domain, epsilon: float, seed: int, method: str = "mst"
) -> float:
    result = synthesize(adult, domain=domain, budget=ApproxDP(epsilon, 1e-9), method=method)
    return float(report_card(adult, result, attack_rows=0, seed=seed).workload_error["2way_mean"])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mst", "aim"])
def test_workload_error_falls_as_epsilon_grows(
    adult: pd.DataFrame, domain: Domain, method: str
) -> None:
    low = np.mean([_mean_tv(adult, domain, 0.02, s, method) for s in range(3)])
    high = np.mean([_mean_tv(adult, domain, 10.0, s, method) for s in range(3)])
    # at epsilon 0.02 the 1-way noise sigma is hundreds of rows per cell; at 10 a few rows
    assert low > high + 0.02, (low, high)
    assert high < 0.05


def test_report_card_fairness_and_attack_on_small_data(adult: pd.DataFrame) -> None:
    small = adult.sample(4000, random_state=1)
    dom = adult_domain(COLUMNS)
    result = synthesize(small, domain=dom, budget=ZCDP(Fraction(1, 2)), method="aim")
    card = report_card(
        small, result, target="income", protected=["sex"], max_rows=4000, attack_rows=1000
    )
    ml = card.ml_utility
    assert ml is not None and 0.6 < ml["synthetic"]["accuracy"] <= 1
    assert ml["real"]["auc"] > 0.75  # the real model learns income from these columns
    fair = card.fairness
    assert fair is not None and set(fair["sex"]["groups"]) >= {"Female", "Male"}
    male = fair["sex"]["groups"]["Male"]
    assert male["selection_rate_real"] > fair["sex"]["groups"]["Female"]["selection_rate_real"]
    assert card.privacy is not None and 0.4 < card.privacy["auc"] < 0.6
    data = card.to_dict()
    assert data["notes"] and "NOT differentially private" in data["notes"][0]
    assert "Workload error" in card._repr_html_()


def _xor_table(n: int, seed: int) -> tuple[pd.DataFrame, Domain]:
    """z = x XOR y (95 %): every pair is independent, the triple is not."""
    rng = np.random.default_rng(seed)
    x, y, w = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 3, n)
    z = (x ^ y) ^ (rng.random(n) < 0.05)
    frame = pd.DataFrame({k: v.astype(str) for k, v in dict(x=x, y=y, z=z, w=w).items()})
    cats = {"x": ["0", "1"], "y": ["0", "1"], "z": ["0", "1"], "w": ["0", "1", "2"]}
    domain = Domain.from_dict({"columns": {k: {"categories": v} for k, v in cats.items()}})
    return frame, domain


def test_general_aim_measures_a_3way_interaction_that_mst_cannot_hold() -> None:
    frame, domain = _xor_table(20_000, seed=0)
    budget = ZCDP(Fraction(1, 2))
    names = list(domain.names)
    real = _pandas_codes(frame, domain).to_numpy()

    def tv3(result: SynthResult) -> float:
        rows = result.sample_codes(100_000, seed=1)
        cols = [names.index(c) for c in ("x", "y", "z")]
        p, q = np.zeros((3, 3, 3)), np.zeros((3, 3, 3))
        np.add.at(p, tuple(real[:, cols].T), 1)
        np.add.at(q, tuple(rows[:, cols].T), 1)
        return tv_distance(p, q)

    aim_result = synthesize(frame, domain=domain, budget=budget, method="aim", workload="all-3way")
    mst_result = synthesize(frame, domain=domain, budget=budget, method="mst")
    assert ("x", "y", "z") in aim_result.selected  # the triple was measured as one clique
    aim_tv, mst_tv = tv3(aim_result), tv3(mst_result)
    # a tree over pairwise-independent columns makes x, y, z independent: TV = 0.45;
    # the measured triple (noise sigma ~ 1-2 rows per cell over 20,000) brings it near 0
    assert mst_tv > 0.4, mst_tv
    assert aim_tv < 0.05, aim_tv
    again = SynthResult.from_dict(aim_result.to_dict())  # the junction-tree model round-trips
    np.testing.assert_allclose(
        again.model.probabilities(("x", "y", "z")), aim_result.model.probabilities(("x", "y", "z"))
    )
