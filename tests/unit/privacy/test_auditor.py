"""The empirical privacy auditor (ethica.privacy.testing) on every query type, row-level.

Each audit runs a release 20,000 times on each side of every neighbouring pair (adversarial
ones included), picks the best separating event on half of the runs and bounds epsilon from
below on the other half at 99% joint confidence. A correct release passes (lower bound <= the
claimed epsilon) with probability at least 99% by construction; in practice far more often,
because a violation needs both Clopper–Pearson bounds to miss at once, and most releases
are not tight. The negative controls (the same release with its sensitivity one unit too
small) must be caught: their true epsilon exceeds the claim by a third or more.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ethica._exceptions import InvalidParameterError
from ethica._results import SCHEMA_VERSION
from ethica.privacy import (
    ApproxDP,
    Batch,
    Count,
    Histogram,
    Mean,
    PureDP,
    Quantiles,
    Rows,
    Session,
    Sum,
    UserLevel,
    Variance,
    discrete_laplace,
)
from ethica.privacy.testing import (
    AuditResult,
    CallableMechanism,
    NeighbouringPair,
    QueryMechanism,
    Target,
    VectorisedMechanism,
    audit,
    clopper_pearson_lower,
    clopper_pearson_upper,
    epsilon_lower_bound,
    neighbouring_pairs,
)
from tests.unit.privacy._auditing import (
    BUDGETS,
    CONFIDENCE,
    QUERIES,
    RUNS,
    TooLittleNoise,
    audit_matrix,
    data_for,
    frame,
)


# ---------------------------------------------------------------- statistics
@pytest.mark.parametrize(("hits", "n"), [(1, 10), (37, 100), (4_999, 10_000), (99, 100)])
def test_clopper_pearson_bounds_are_the_exact_binomial_tail_inversions(hits: int, n: int) -> None:
    a = 0.005
    low = float(clopper_pearson_lower(hits, n, a))
    high = float(clopper_pearson_upper(hits, n, a))
    assert low < hits / n < high
    assert stats.binom.sf(hits - 1, n, low) == pytest.approx(a, rel=1e-6)  # P(X >= k | low) = a
    assert stats.binom.cdf(hits, n, high) == pytest.approx(a, rel=1e-6)  # P(X <= k | high) = a


def test_clopper_pearson_edges() -> None:
    assert float(clopper_pearson_lower(0, 50, 0.01)) == 0.0
    assert float(clopper_pearson_upper(50, 50, 0.01)) == 1.0
    assert float(clopper_pearson_upper(0, 50, 0.01)) == pytest.approx(1 - 0.01 ** (1 / 50))


def test_epsilon_lower_bound_subtracts_delta_and_is_below_the_point_estimate() -> None:
    pure = float(epsilon_lower_bound(6000, 10_000, 3000, 10_000, alpha=0.01, delta=0.0))
    approx = float(epsilon_lower_bound(6000, 10_000, 3000, 10_000, alpha=0.01, delta=0.05))
    assert approx < pure < math.log(0.6 / 0.3)
    assert pure > math.log(0.6 / 0.3) - 0.1
    assert float(epsilon_lower_bound(10, 10_000, 0, 10_000, alpha=0.01, delta=0.01)) == -math.inf


def test_audit_of_a_known_laplace_count_is_tight() -> None:
    """Discrete Laplace of scale 2 on a count: epsilon exactly 1/2, and the best threshold
    event attains it, so the bound lands just below 1/2."""

    def release(data: pd.DataFrame, runs: int) -> np.ndarray:
        return len(data) + discrete_laplace(Fraction(2), runs)

    data = frame()
    pairs = neighbouring_pairs(data, Rows())
    result = audit(VectorisedMechanism(release), pairs=pairs, claimed=PureDP(Fraction(1, 2)))
    assert result.claimed_epsilon == 0.5
    assert 0.44 < result.epsilon_lower_bound <= 0.5
    assert not result.violated


# ---------------------------------------------------------------- neighbouring pairs
def _difference(pair: NeighbouringPair) -> pd.DataFrame:
    assert pair.difference is not None
    return pair.difference


def test_row_pairs_attack_the_bounds_half_steps_and_nulls() -> None:
    data = frame()
    pairs = neighbouring_pairs(data, Rows(), query=Sum("x", 0, 2.5, step=1))
    added = [_difference(p) for p in pairs if p.name.startswith("add")]
    values = pd.concat([d["x"] for d in added]).astype(float)
    assert {2.5, 0.0, 0.5} <= set(values.dropna())  # upper, lower, half a step inside
    assert values.isna().any()  # NULL
    assert values.max() > 1e9  # far outside the bounds
    for pair in pairs:
        assert abs(len(pair.second) - len(pair.first)) == 1 == len(_difference(pair))
        assert list(pair.first.dtypes) == list(pair.second.dtypes)


def test_user_pairs_add_a_user_beyond_the_caps_and_null_ids_only_when_dropped() -> None:
    data = frame()
    unit = UserLevel("uid", max_groups_per_user=2, max_rows_per_group=2, nulls="drop")
    query = Count(by="g")
    pairs = neighbouring_pairs(data, unit, query=query)
    base = pairs[0].first
    per_user = base.groupby("uid")["g"].agg(["nunique", "size"])
    assert (per_user["nunique"] <= 2).all()
    assert (base.groupby(["uid", "g"]).size() <= 2).all()  # pre-bounded: engine bounding is a no-op
    big = _difference(next(p for p in pairs if p.name.startswith("add a user")))
    assert big["uid"].nunique() == 1
    assert big["g"].nunique() > 2  # more cells than the cap
    assert big.groupby("g").size().max() > 2  # more rows per cell than the cap
    assert big["g"].isin(["a", "b", "c"]).sum() < len(big)  # new keys too
    names = [p.name for p in pairs]
    assert any("NULL user id" in n for n in names) and any("NaN user id" in n for n in names)
    strict = neighbouring_pairs(data, UserLevel("uid", 2, 2, nulls="error"), query=query)
    assert not any("user id" in p.name for p in strict)


def test_pairs_refuse_unknown_columns_and_empty_data() -> None:
    with pytest.raises(InvalidParameterError, match="'y' is not in the data"):
        neighbouring_pairs(frame(), Rows(), query=Sum("y", 0, 1))
    with pytest.raises(InvalidParameterError, match="empty"):
        neighbouring_pairs(frame().iloc[:0], Rows())


# ---------------------------------------------------------------- every query, row-level
@pytest.mark.parametrize("name", list(QUERIES))
def test_row_level_release_never_exceeds_its_claim(name: str) -> None:
    """Every query type × every budget kind (ZCDP as its epsilon at delta 1e-6)."""
    for result in audit_matrix(name, Rows()):
        assert not result.violated
        assert len(result.pairs) >= 2 and all(sum(p.errors) == 0 for p in result.pairs)


def test_a_pure_count_audit_is_close_to_tight() -> None:
    """Without tightness the matrix above would pass vacuously."""
    result = audit(Count(), frame(), unit=Rows(), budget=PureDP(1), runs=RUNS)
    assert 0.85 < result.epsilon_lower_bound <= 1


def test_private_keys_release_cells_in_the_audit() -> None:
    """The private-key audit is not vacuous: cells pass selection in some runs."""
    name = "grouped sum (private keys)"
    mechanism = QueryMechanism(QUERIES[name], Rows(), BUDGETS["approx"])
    samples = mechanism.sample(data_for(name), 2_000)
    shown = [np.isfinite(v).mean() for v in samples.features.values()]
    assert shown and 0.05 < max(shown) < 1


# ---------------------------------------------------------------- negative controls
@pytest.mark.parametrize(
    ("query", "budget"),
    [
        (Sum("x", 0, 4, step=1), PureDP(1)),  # noise for B = 3, true epsilon 4/3
        (Count(), PureDP(1)),  # a count at half scale: true epsilon 2
        (Sum("x", 0, 4, step=1), ApproxDP(1, Fraction(1, 10**6))),
    ],
)
def test_negative_control_sensitivity_one_unit_too_small_is_caught(
    query: object, budget: PureDP
) -> None:
    control = TooLittleNoise(query, Rows(), budget)
    result = audit(control, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound > result.claimed_epsilon  # caught statistically...
    assert result.violated
    assert not all(p.sensitivity_holds for p in result.pairs)  # ...and by the exact check


@pytest.mark.parametrize(
    "query",
    [Histogram("x", (2, 5, 8)), Count(by="g", keys={"g": ["a", "b", "c"]})],
    ids=["histogram", "grouped count"],
)
def test_negative_control_of_a_histogram_is_caught_statistically(query: object) -> None:
    """A histogram (and a grouped count) at half its noise scale: true epsilon 2 at claim 1."""
    control = TooLittleNoise(query, Rows(), PureDP(1))
    result = audit(control, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound > 1.3 * result.claimed_epsilon
    assert not all(p.sensitivity_holds for p in result.pairs)


@pytest.mark.parametrize(
    "query",
    [Quantiles("x", (0.5,), 0, 10, candidates=11), Variance("x", 0, 10, step=1)],
    ids=["quantiles", "variance"],
)
def test_negative_control_of_quantiles_and_variance_is_caught_by_the_exact_check(
    query: object,
) -> None:
    """The statistical half cannot catch these two (lower bound 0 for both, measured): the
    halved median spends twice its epsilon, but one row moves the output's probabilities
    most on candidates far from the median, which 20,000 runs hardly ever reach; a variance
    combines three noisy sums into one released number. The understated bound is caught by
    the exact sensitivity check of every pair, which is why that check exists."""
    control = TooLittleNoise(query, Rows(), PureDP(1))
    result = audit(control, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert result.violated
    assert not all(p.sensitivity_holds for p in result.pairs)


def test_rounding_regression_sum_with_half_step_bound() -> None:
    """``Sum("x", 0, 2.5, step=1)``: the engine rounds 2.5 half away from zero (3 units) while
    the noise was calibrated with Python's half-to-even round (2 units): empirical epsilon
    1.54 at a claimed 1. The adversarial row at 2.5 exposes it."""
    result = audit(Sum("x", 0, 2.5, step=1), frame(), unit=Rows(), budget=PureDP(1), runs=RUNS)
    upper = next(p for p in result.pairs if "at the upper bound" in p.pair)
    assert all(c.holds for c in upper.sensitivity), upper.to_dict()
    assert result.epsilon_lower_bound <= 1, result.to_frame()


# ---------------------------------------------------------------- any callable
@pytest.mark.slow
def test_callable_over_the_public_session_api() -> None:
    def release(data: pd.DataFrame) -> object:
        session = Session(data, privacy_unit=Rows(), budget=PureDP(1))
        return session.evaluate(Count(), PureDP(1))

    pairs = neighbouring_pairs(frame(), Rows())[:1]
    result = audit(release, pairs=pairs, claimed=PureDP(1), runs=300)
    assert result.worst.event.startswith("count[]")
    assert result.epsilon_lower_bound <= 1


def test_a_mechanism_that_fails_on_one_side_only_is_caught() -> None:
    """An error that depends on the data is an observable output (feature ``raised``)."""

    def leaky(data: pd.DataFrame) -> float:
        if data["x"].max() > 1e6:
            raise ValueError(f"value {data['x'].max()} overflows")
        return float(len(data) + discrete_laplace(10, 1)[0])

    target = Target(measures={"x": (0.0, 10.0, 1.0)})
    pairs = [p for p in neighbouring_pairs(frame(), Rows(), target=target) if "far above" in p.name]
    result = audit(CallableMechanism(leaky), pairs=pairs, claimed=PureDP(1), runs=400)
    assert result.worst.errors == (0, 400)
    assert result.worst.q == 0.0 and result.worst.p > 0.9  # e.g. "raised < 1", "output >= t"
    assert result.epsilon_lower_bound > 1 and result.violated


def test_opendp_laplace_measurement() -> None:
    """Another library: OpenDP's integer Laplace measurement on a count, scale 2 (its own
    privacy map says epsilon 1/2). The audit accepts the claim 1/2 and would disprove 1/4."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.atom_domain(T=int), dp.absolute_distance(T=int)
    measurement = space >> dp.m.then_laplace(scale=2.0)
    assert measurement.map(1) == 0.5

    def count(data: pd.DataFrame) -> int:
        return int(measurement(len(data)))

    pairs = neighbouring_pairs(frame(), Rows())[:1]
    result = audit(count, pairs=pairs, claimed=PureDP(Fraction(1, 2)), runs=5_000)
    assert result.epsilon_lower_bound <= 0.5
    assert result.epsilon_lower_bound > 0.25  # a claim of 1/4 would be disproved


# ---------------------------------------------------------------- the result
def test_result_serialises_and_renders() -> None:
    result = audit(Count(by="g", keys={"g": ["a", "b"]}), frame(), budget=PureDP(1), runs=2_000)
    assert isinstance(result, AuditResult)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["claimed"] == PureDP(1).to_dict()
    assert document["epsilon_lower_bound"] == result.epsilon_lower_bound
    assert document["worst"]["pair"] == result.worst.pair
    assert len(result.to_frame()) == len(result.pairs) == len(document["pairs"])
    page = result._repr_html_()
    assert "lower bound" in page and result.worst.pair in page
    assert result.runs_per_second > 0


def test_audit_refuses_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="budget"):
        audit(Count(), frame())
    with pytest.raises(InvalidParameterError, match="claimed"):
        audit(lambda d: len(d), frame())
    with pytest.raises(InvalidParameterError, match="runs"):
        audit(Count(), frame(), budget=PureDP(1), runs=5)
    with pytest.raises(InvalidParameterError, match="pairs"):
        audit(Count(), budget=PureDP(1))
    pair = NeighbouringPair("x", frame(), frame())
    with pytest.raises(InvalidParameterError, match="numbers"):
        audit(lambda d: "text", pairs=[pair], claimed=PureDP(1), runs=20)


# ---------------------------------------------------------------- the fast path is the release
def _direct(mechanism: QueryMechanism, data: pd.DataFrame, calls: int) -> dict[str, np.ndarray]:
    """``calls`` releases through the release's own per-call path, as features."""
    from ethica.privacy.release._evaluate import release_from_aggregates
    from ethica.privacy.testing import flatten_output

    aggregates = mechanism.aggregate(data)
    rows = []
    for _ in range(calls):
        tables = release_from_aggregates(aggregates, list(mechanism.parts), mechanism.unit, 0.95)
        out: dict[str, float] = {}
        for table in tables:
            out.update(flatten_output(table, table.name))
        rows.append(out)
    return {k: np.array([r.get(k, np.nan) for r in rows]) for k in rows[0]}


@pytest.mark.parametrize(
    "query",
    [
        Mean("x", 0, 10, step=1, by="g", keys={"g": ["a", "b"]}),
        Quantiles("x", (0.25, 0.5), 0, 10, candidates=11),
        Histogram("x", (2, 5, 8)),
    ],
)
def test_fast_sampling_has_the_distribution_of_the_release(query: object) -> None:
    """Stacked runs (one vectorised noise call) and the quantile stream draw from the same
    distribution as calling the release once per run (two-sample Kolmogorov–Smirnov)."""
    mechanism = QueryMechanism(query, Rows(), PureDP(1))
    data = frame()
    fast = mechanism.draw(mechanism.aggregate(data), 1_500)
    slow = _direct(mechanism, data, 400)
    assert set(fast) == set(slow)
    for name in fast:
        assert stats.ks_2samp(fast[name], slow[name]).pvalue > 1e-6, name


def test_a_batch_is_audited_as_one_mechanism() -> None:
    batch = Batch((Count(), Histogram("x", (5,)), Quantiles("x", (0.5,), 0, 10, candidates=5)))
    result = audit(batch, frame(), budget=PureDP(1), runs=4_000)
    assert result.epsilon_lower_bound <= 1
    samples = QueryMechanism(batch, Rows(), PureDP(1)).sample(frame(), 50)
    assert len(samples.features) == 1 + 2 + 1
