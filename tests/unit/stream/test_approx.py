"""ApproxDP budgets for streams: the tightest rho for Gaussian noise, epsilon alone for Laplace."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ZCDP, ApproxDP, Ledger, PureDP, zcdp_to_approx
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise
from ethica.privacy.stream import (
    Stream,
    StreamSpec,
    UserWindow,
    approx_to_zcdp,
    build_strategy,
    spec_from_mapping,
    stream_noise,
)

UNIT = UserWindow("user", window=7)


@pytest.mark.parametrize(
    ("epsilon", "delta"),
    [(1, Fraction(1, 10**6)), (Fraction(1, 10), Fraction(1, 10**9)), (4, Fraction(1, 100))],
)
def test_approx_to_zcdp_is_the_tightest_rho_that_meets_the_budget(
    epsilon: object, delta: Fraction
) -> None:
    budget = ApproxDP(epsilon, delta)
    rho = approx_to_zcdp(budget).rho
    assert zcdp_to_approx(ZCDP(rho), delta).epsilon <= budget.epsilon  # meets (eps, delta)
    bigger = rho * (1 + Fraction(1, 10**5))
    assert zcdp_to_approx(ZCDP(bigger), delta).epsilon > budget.epsilon  # and is tight
    # tighter than inverting Bun & Steinke's eps = rho + 2 sqrt(rho log(1/delta))
    log = math.log(1 / float(delta))
    bun_steinke = (math.sqrt(log + float(budget.epsilon)) - math.sqrt(log)) ** 2
    assert float(rho) > bun_steinke


def test_approx_to_zcdp_takes_approx_dp_only() -> None:
    with pytest.raises(InvalidParameterError, match="ApproxDP"):
        approx_to_zcdp(PureDP(1))


def test_stream_noise_spends_approx_dp_with_either_law() -> None:
    strategy = build_strategy("tree", 64)
    budget = ApproxDP(1, Fraction(1, 10**6))
    gaussian, sens = stream_noise(strategy, UNIT, budget)
    expected, _ = stream_noise(strategy, UNIT, approx_to_zcdp(budget))
    assert isinstance(gaussian, GaussianNoise) and gaussian == expected
    laplace, _ = stream_noise(strategy, UNIT, budget, noise="laplace")
    assert isinstance(laplace, LaplaceNoise) and laplace.parameter == sens.l1 / 1  # delta unused
    pure, _ = stream_noise(strategy, UNIT, PureDP(1))
    assert pure == laplace
    with pytest.raises(InvalidParameterError, match="ApproxDP"):
        stream_noise(strategy, UNIT, PureDP(1), noise="gaussian")
    with pytest.raises(InvalidParameterError, match="noise must be"):
        stream_noise(strategy, UNIT, budget, noise="uniform")


def test_an_approx_dp_spec_round_trips_and_reads_from_yaml_fields() -> None:
    spec = spec_from_mapping(
        {
            "name": "s", "dataset": "d", "start": "2026-03-01", "horizon": 30,
            "budget": {"epsilon": 1, "delta": "1e-6"}, "privacy_unit": {"user": "user"},
            "noise": "laplace",
        }
    )  # fmt: skip
    assert spec.budget == ApproxDP(1, Fraction(1, 10**6)) and spec.noise == "laplace"
    assert StreamSpec.from_dict(spec.to_dict()) == spec
    default = spec_from_mapping(
        {
            "name": "s", "dataset": "d", "start": "2026-03-01", "horizon": 30,
            "budget": {"epsilon": 1, "delta": "1e-6"}, "privacy_unit": {"user": "user"},
        }
    )  # fmt: skip
    assert default.noise == "gaussian"
    pure = spec_from_mapping(
        {
            "name": "s", "dataset": "d", "start": "2026-03-01", "horizon": 30,
            "budget": {"epsilon": 1}, "privacy_unit": {"user": "user"},
        }
    )  # fmt: skip
    assert "noise" not in pure.to_dict()  # pure and zCDP specs keep their fingerprint


def test_an_approx_dp_stream_charges_its_budget_and_releases(tmp_path: Path) -> None:
    budget = ApproxDP(1, Fraction(1, 10**6))
    with Ledger(tmp_path / "ledger.sqlite3") as book:
        book.create_dataset("visits", ApproxDP(2, Fraction(1, 10**5)), privacy_unit=UNIT)
        spec = StreamSpec(
            name="shop", dataset="visits", unit=UNIT, start=datetime(2026, 3, 1), horizon=10,
            budget=budget, mechanism="factorization",
        )  # fmt: skip
        rng = np.random.default_rng(0)
        path = tmp_path / "d0.parquet"
        pd.DataFrame({"user": rng.integers(0, 500, 300)}).to_parquet(path)
        with Stream.create(spec, book) as stream:
            assert isinstance(stream.noise, GaussianNoise)
            assert book.status("visits").spent == budget
            day = stream.append("2026-03-01", path)
        assert day.interval == "normal" and abs(day.daily[0] - 300) < 10 * day.daily_half_width
        with Stream.open("shop", book) as reopened:
            assert reopened.noise == stream.noise and reopened.spec.noise == "gaussian"
