"""Quantile bins: a numeric column cut at its DP quantiles, bought inside the synthesis charge.

The accounting test recomputes the zCDP spent from the mechanisms' own calls (every
exponential mechanism and every discrete Gaussian draw), not from the synthesizer's books, so
an epsilon or a sensitivity that the binning step got wrong is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import ethica.privacy.release._evaluate as release_evaluate
from ethica._exceptions import InvalidParameterError, LedgerError, SchemaError
from ethica.data._level_marginals import MarginalReader, encode
from ethica.datasets import load_adult
from ethica.privacy import ZCDP, ApproxDP, Ledger, Rows
from ethica.privacy.noise._gaussian import discrete_gaussian
from ethica.privacy.noise._selection import exponential_mechanism
from ethica.privacy.synth import Domain, SynthResult, synthesize
from ethica.privacy.synth._binning import DEFAULT_BINNING_SHARE, _edges

SPEC: dict[str, Any] = {
    "columns": {
        "age": {"quantile_bins": 8, "range": [0, 100], "integer": True},
        "hours_per_week": {"quantile_bins": 4, "range": [0, 100], "integer": True},
        "sex": {"categories": ["Female", "Male"]},
        "income": {"categories": ["<=50K", ">50K"]},
    }
}
BUDGET = ApproxDP(1, Fraction(1, 10**9))


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()[["age", "hours_per_week", "sex", "income"]]


def _with(column: str, **item: object) -> dict[str, Any]:
    spec = {"columns": dict(SPEC["columns"])}
    spec["columns"][column] = item
    return spec


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"quantile_bins": 1, "range": [0, 100]}, "from 2 to 100"),
        ({"quantile_bins": 101, "range": [0, 100]}, "from 2 to 100"),
        ({"quantile_bins": 2.5, "range": [0, 100]}, "2.5"),
        ({"quantile_bins": True, "range": [0, 100]}, "True"),
        ({"quantile_bins": 8, "range": [100, 0]}, r"low < high, got range=\[100.0, 0.0\]"),
        ({"quantile_bins": 8, "range": [5, 5]}, "low < high"),
        ({"quantile_bins": 8}, "needs a public range"),
        ({"quantile_bins": 8, "range": [0]}, "two finite numbers"),
        ({"quantile_bins": 8, "range": [0, "x"]}, "'x' is not a number"),
        ({"quantile_bins": 8, "range": [0, 100], "bins": [0, 50, 100]}, "not both"),
        ({"range": [0, 100], "bins": [0, 50, 100]}, "goes with quantile_bins"),
        ({"quantile_bins": 8, "range": [0, 100], "edges": [1]}, "unknown keys"),
    ],
)
def test_bad_quantile_bins_refused_by_the_domain(item: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Domain.from_dict(_with("age", **item))


def test_refusals_before_the_charge_cost_nothing(adult: pd.DataFrame, tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.db") as book:
        book.create_dataset("adult", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=Rows())

        def run(spec: dict[str, Any], **kwargs: Any) -> None:
            synthesize(
                adult, domain=spec, budget=BUDGET, method="mst", ledger=book, dataset="adult",
                **kwargs,
            )  # fmt: skip

        with pytest.raises(InvalidParameterError, match="strictly between 0 and 1"):
            run(SPEC, binning_share=1)
        with pytest.raises(InvalidParameterError, match="strictly between 0 and 1"):
            run(SPEC, binning_share=0)
        with pytest.raises(InvalidParameterError, match="a number in"):
            run(SPEC, binning_share=[0.1])
        declared = _with("age", bins=[17, 40, 91], integer=True)
        declared["columns"]["hours_per_week"] = {"bins": [0, 40, 100]}
        with pytest.raises(InvalidParameterError, match="no column declares quantile_bins"):
            run(declared, binning_share=Fraction(1, 5))
        with pytest.raises(SchemaError, match="sex"):  # text is not numeric: no quantiles
            run(_with("sex", quantile_bins=4, range=[0, 1]))
        with pytest.raises(SchemaError, match="no_such"):
            spec = {
                "columns": {**SPEC["columns"], "no_such": {"quantile_bins": 4, "range": [0, 1]}}
            }
            run(spec)
        with pytest.raises(InvalidParameterError, match="too little"):  # eps on the grid is 0
            synthesize(
                adult, domain=SPEC, budget=ZCDP(Fraction(1, 10**20)), binning_share=Fraction(1, 2)
            )
        assert book.history("adult") == []  # nothing was charged


Calls = dict[str, list[tuple[Fraction, Fraction]]]


def _recording(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Record every privacy-spending call: (epsilon, sensitivity) of each exponential
    mechanism (the release room's quantiles; the synthesizer's selections) and
    (sigma, sensitivity 1) of each discrete Gaussian measurement."""
    calls: Calls = {"quantile": [], "select": [], "measure": []}

    def selection(kind: str) -> Callable[..., int]:
        def wrapped(scores: Any, epsilon: Any, sensitivity: Any = 1) -> int:
            calls[kind].append((Fraction(epsilon), Fraction(sensitivity)))
            return exponential_mechanism(scores, epsilon, sensitivity)

        return wrapped

    def measure(sigma: Any, size: int = 1) -> Any:
        calls["measure"].append((Fraction(sigma), Fraction(1)))
        return discrete_gaussian(sigma, size)

    release = "ethica.privacy.release._evaluate."
    synth = "ethica.privacy.synth._mechanisms."
    monkeypatch.setattr(release + "exponential_mechanism", selection("quantile"))
    monkeypatch.setattr(synth + "exponential_mechanism", selection("select"))
    monkeypatch.setattr(synth + "discrete_gaussian", measure)
    return calls


def _accounts(calls: Calls, result: SynthResult, share: Fraction) -> Fraction:
    """The zCDP spent, recomputed from the calls; asserts the binning step's accounting.

    Each quantile ``q`` is an exponential mechanism on a rank utility of sensitivity
    ``max(q, 1 - q)`` (one row per person, added or removed): ``eps**2 / 8``-zCDP (Cesar &
    Rogers 2021). Each measurement is a discrete
    Gaussian of L2 sensitivity 1: ``1 / (2 sigma**2)`` (Bun & Steinke 2016).
    """
    expected = sorted(  # max(q, 1 - q) for each q = j / k of each column (one row a person)
        max(Fraction(j / k), 1 - Fraction(j / k))
        for fact in result.binning["columns"].values()
        for k in [fact["quantile_bins"]]
        for j in range(1, k)
    )
    assert sorted(s for _, s in calls["quantile"]) == expected, calls["quantile"]
    binning = sum((e * e / 8 for e, _ in calls["quantile"]), Fraction(0))
    assert binning <= share * result.rho, (binning, share * result.rho)
    stated = [  # what the released model says each quantile cost, call by call
        Fraction(fact["epsilon_per_quantile"])
        for fact in result.binning["columns"].values()
        for _ in range(fact["quantile_bins"] - 1)
    ]
    assert sorted(e for e, _ in calls["quantile"]) == sorted(stated)
    selection = sum((e * e / 8 for e, _ in calls["select"]), Fraction(0))
    measurement = sum(
        (Fraction(1) / (2 * sigma * sigma) for sigma, _ in calls["measure"]), Fraction(0)
    )
    return binning + selection + measurement


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_total_spent_never_exceeds_the_budget_recomputed_from_the_calls(
    adult: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    calls = _recording(monkeypatch)
    share = Fraction(1, 5)
    budget = ZCDP(Fraction(1, 20))
    result = synthesize(adult, domain=SPEC, budget=budget, method=method, binning_share=share)
    assert len(calls["quantile"]) == 7 + 3  # k - 1 quantiles per column
    spent = _accounts(calls, result, share)
    assert spent <= budget.rho
    assert spent > budget.rho * Fraction(9, 10)  # the budget is actually used
    binning = sum((e * e / 8 for e, _ in calls["quantile"]), Fraction(0))
    assert binning > share * budget.rho * Fraction(99, 100)  # the share is what binning gets
    assert result.binning["share"] == "1/5"


def test_an_epsilon_error_in_the_binning_step_is_caught(
    adult: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: a binning step that ran each quantile at twice its epsilon (e.g. a
    cost taken as eps**2/32) spends 4x its share; the recomputed accounts must say so."""
    calls = _recording(monkeypatch)
    real = release_evaluate.selection_epsilon
    monkeypatch.setattr(release_evaluate, "selection_epsilon", lambda b: 2 * real(b))
    share = Fraction(1, 5)
    result = synthesize(
        adult, domain=SPEC, budget=ZCDP(Fraction(1, 20)), method="mst", binning_share=share
    )
    with pytest.raises(AssertionError):
        _accounts(calls, result, share)


def test_a_sensitivity_error_in_the_binning_step_is_caught(
    adult: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: quantiles run with utility sensitivity 1/2 (too small by half) are
    twice as sharp as paid for; the recomputed accounts must refuse them."""
    calls = _recording(monkeypatch)
    spy = getattr(release_evaluate, "exponential_mechanism")  # noqa: B009 - the recorder
    monkeypatch.setattr(
        release_evaluate,
        "exponential_mechanism",
        lambda scores, eps, sensitivity=1: spy(scores, eps, Fraction(sensitivity) / 2),
    )
    share = Fraction(1, 5)
    result = synthesize(
        adult, domain=SPEC, budget=ZCDP(Fraction(1, 20)), method="mst", binning_share=share
    )
    with pytest.raises(AssertionError):
        _accounts(calls, result, share)


def test_edges_are_near_the_true_quantiles_at_a_large_budget(adult: pd.DataFrame) -> None:
    """At rho = 5 on one column, each quantile's eps is about 2.4, so the released edge's rank
    is within 2 (ln 101 + ln 20) / 2.4 ≈ 6.3 rows of the best grid point with probability 95%
    (McSherry & Talwar 2007, Thm. 6); 0.5% of 32,561 rows (163) is over 25 times that."""
    spec = {"columns": {"age": SPEC["columns"]["age"]}}
    result = synthesize(adult, domain=spec, budget=ZCDP(10), binning_share=Fraction(1, 2))
    age = adult["age"].to_numpy()
    edges = result.domain["age"].edges
    assert edges is not None and edges[0] == 0 and edges[-1] == 101
    inner = edges[1:-1]
    assert list(inner) == sorted(set(inner)) and all(e.is_integer() for e in inner)
    assert len(inner) == 7
    grid = np.arange(0, 101)
    below = np.array([(age < c).mean() for c in grid])
    for j, c in enumerate(inner, start=1):
        best = np.abs(below - j / 8).min()
        assert abs((age < c).mean() - j / 8) <= best + 0.005, (j, c)
    assert result.binning["columns"]["age"]["edges"] == list(edges)


def test_equal_edges_merge(adult: pd.DataFrame) -> None:
    """Every x is 0 on the grid {0, 1}: the 1/8..3/8 quantiles are 0 (the range's low end,
    dropped), the 5/8..7/8 ones 1 (the median either), so 7 quantiles give one interior edge.
    Each quantile's eps is about 2.4 and the utilities differ by at least n/4 = 250."""
    frame = pd.DataFrame({"x": np.zeros(1000, dtype=int), "sex": ["Male"] * 1000})
    spec = {"columns": {"x": {"quantile_bins": 8, "range": [0, 1], "integer": True}}}
    spec["columns"]["sex"] = SPEC["columns"]["sex"]
    result = synthesize(frame, domain=spec, budget=ZCDP(10), binning_share=Fraction(1, 2))
    assert result.domain["x"].edges == (0.0, 1.0, 2.0)
    assert result.binning["share"] == "1/2"


def test_one_bin_from_merged_edges() -> None:
    """Quantiles all at the low end or beyond the top leave one bin: its encoding is total."""
    column = Domain.from_dict(
        {"columns": {"age": {"quantile_bins": 4, "range": [100, 200], "integer": True}}}
    )["age"]
    assert _edges(column, (100.0, 100.0, 201.0)) == [100.0, 201.0]
    frame = pd.DataFrame({"age": [20.0, 150.0, None, 300.0], "sex": ["Male"] * 4})
    domain = Domain.from_dict(
        {"columns": {"age": {"bins": [100, 201]}, "sex": SPEC["columns"]["sex"]}}
    )
    counts = MarginalReader(
        encode(ibis.memtable(pa.Table.from_pandas(frame)), domain, text=False), domain
    ).counts(("age",))
    assert counts.tolist() == [3.0, 1.0]  # clamped into the one bin; missing in the last level
    result = synthesize(frame, domain=domain, budget=ZCDP(1), method="mst")
    assert result.binning == {}  # declared bins: nothing bought
    assert result.sample(50, seed=0)["age"].dropna().between(100, 200).all()


def test_replay_returns_the_stored_edges(adult: pd.DataFrame, tmp_path: Path) -> None:
    book = Ledger(tmp_path / "ledger.db")
    book.create_dataset("adult", ApproxDP(3, Fraction(1, 10**6)), privacy_unit=Rows())
    kwargs: dict[str, Any] = dict(
        domain=SPEC, budget=BUDGET, method="mst", ledger=book, dataset="adult", request_id="r1"
    )
    first = synthesize(adult, **kwargs)
    again = synthesize(adult, **kwargs)
    assert len(book.history("adult")) == 1 and book.history("adult")[0].cost == BUDGET
    assert again.domain == first.domain and again.binning == first.binning
    assert SynthResult.from_dict(first.to_dict()).to_dict() == first.to_dict()
    with pytest.raises(LedgerError, match="for another request"):  # another share, same id
        synthesize(adult, **{**kwargs, "binning_share": Fraction(1, 3)})


def test_csv_source_read_as_text(adult: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "adult.csv"
    adult.head(3000).to_csv(path, index=False)
    result = synthesize(path, domain=SPEC, budget=ZCDP(2), method="mst")
    edges = result.domain["hours_per_week"].edges
    assert edges is not None and 2 <= len(edges) <= 5 and edges[-1] == 101
    assert result.binning["share"] == str(DEFAULT_BINNING_SHARE)  # the default, stated
    assert result.sample(100, seed=1)["hours_per_week"].dropna().between(0, 100).all()
