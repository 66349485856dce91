"""Dinur–Nissim reconstruction: recovery against noise, DP at chance, bad input."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica._results import SCHEMA_VERSION
from ethica.attacks import (
    MAX_LP_CELLS,
    BoundedNoiseAnswers,
    DiscreteLaplaceAnswers,
    ExactAnswers,
    RoundedAnswers,
    answer_release,
    recovery_sweep,
    subset_sum_attack,
)
from ethica.privacy import PureDP

Sampler = Callable[[Fraction, int], NDArray[np.int64]]
N = 200
BALANCED = np.arange(N) % 2  # half ones: chance is exactly 1/2


def test_exact_answers_recover_every_bit() -> None:
    result = subset_sum_attack(N, release=ExactAnswers(), seed=1)
    assert result.recovered_fraction == 1.0
    assert result.l1_residual == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("release", [BoundedNoiseAnswers(0.1 * math.sqrt(N)), RoundedAnswers(3)])
def test_noise_far_below_sqrt_n_recovers_at_least_95_percent(release: object) -> None:
    result = subset_sum_attack(N, release=release, secret=BALANCED, seed=2)  # type: ignore[arg-type]
    assert result.recovered_fraction >= 0.95


def test_noise_far_above_sqrt_n_falls_towards_chance() -> None:
    low = subset_sum_attack(N, release=BoundedNoiseAnswers(0.1 * math.sqrt(N)), seed=3)
    high = subset_sum_attack(N, release=BoundedNoiseAnswers(10 * math.sqrt(N)), seed=3)
    # Least squares theory: per-bit error sd ~ 2 * sd(noise) / sqrt(m) = 10/sqrt(3) here,
    # so the rounded guess is right with probability ~ 0.5 + 0.07.
    assert high.recovered_fraction < 0.65
    assert high.recovered_fraction < low.recovered_fraction - 0.3


def test_dp_at_total_epsilon_one_is_at_chance(seeded_laplace: Sampler) -> None:
    release = DiscreteLaplaceAnswers(1.0, sampler=seeded_laplace)
    result = subset_sum_attack(N, release=release, secret=BALANCED, seed=4)
    # With noise sd ~ 80 sqrt(n) the guess is independent of the secret; correct bits are
    # then (at most) Binomial(n, 1/2): tolerance 4 sd = 4 * 0.5 / sqrt(n) ~ 0.14.
    assert abs(result.recovered_fraction - 0.5) <= 4 * 0.5 / math.sqrt(N)
    assert result.chance_fraction == 0.5


def test_dp_scale_splits_epsilon_over_queries() -> None:
    calls: list[tuple[Fraction, int]] = []

    def recording(scale: Fraction, size: int) -> NDArray[np.int64]:
        calls.append((scale, size))
        return np.zeros(size, dtype=np.int64)

    result = subset_sum_attack(50, 120, DiscreteLaplaceAnswers(2.0, sampler=recording))
    assert calls == [(Fraction(60), 120)]  # scale m / epsilon: epsilon / m per query
    assert result.recovered_fraction == 1.0  # zero noise from the recording sampler
    assert math.isinf(result.error_bound)


def test_sweep_shape_matches_theory(seeded_laplace: Sampler) -> None:
    progress: list[tuple[int, int]] = []
    sweep = recovery_sweep(
        100,
        noise_multiples=(0.0, 0.1, 10.0),
        epsilons=(1.0,),
        trials=2,
        dp_sampler=seeded_laplace,
        progress=lambda done, total: progress.append((done, total)),
    )
    frame = sweep.to_frame()
    assert list(frame["release"]) == ["exact", "bounded", "bounded", "dp"]
    assert list(frame["error_bound_over_sqrt_n"][:3]) == pytest.approx([0.0, 0.1, 10.0])
    recovery = frame["recovery_mean"].to_numpy()
    assert recovery[0] == 1.0 and recovery[1] >= 0.95
    assert recovery[2] < 0.7 and recovery[3] < 0.7
    assert progress[-1] == (8, 8) and len(progress) == 8
    document = json.loads(json.dumps(sweep.to_dict()))
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["points"][3]["error_bound_over_sqrt_n"] is None
    assert "<table" in sweep._repr_html_()


def test_result_serialises() -> None:
    result = subset_sum_attack(30, 60, RoundedAnswers(5), seed=0)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["parameters"] == {"multiple": 5}
    assert document["error_bound"] == 2.5
    assert result.to_frame().shape[0] == 1
    assert "Dinur" in result._repr_html_()


def test_seed_makes_runs_reproducible() -> None:
    release = BoundedNoiseAnswers(5.0)
    first = subset_sum_attack(80, release=release, seed=7)
    assert subset_sum_attack(80, release=release, seed=7) == first


@pytest.mark.parametrize("epsilon", [0, -1.0, math.inf, math.nan])
def test_epsilon_must_be_positive(epsilon: float) -> None:
    with pytest.raises(InvalidParameterError, match=r"epsilon must be a finite number > 0"):
        DiscreteLaplaceAnswers(epsilon)


def test_too_large_lp_is_refused_with_the_limit() -> None:
    n = 1000
    with pytest.raises(InvalidParameterError, match=r"exceeds the limit of 2,000,000.*HiGHS"):
        subset_sum_attack(n, 4 * n)
    assert n * 4 * n > MAX_LP_CELLS


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n_people": 0}, "n_people must be an integer >= 1"),
        ({"n_people": 10, "n_queries": 0}, "n_queries must be an integer >= 1"),
        ({"n_people": 3, "secret": [0, 2, 1]}, "secret must be 3 bits"),
        ({"n_people": 3, "secret": [0, 1]}, "secret must be 3 bits"),
    ],
)
def test_bad_sizes_and_secrets(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        subset_sum_attack(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: RoundedAnswers(0), "multiple must be an integer >= 1"),
        (lambda: BoundedNoiseAnswers(-1.0), "magnitude must be a finite number >= 0"),
        (lambda: recovery_sweep(10, trials=0), "trials must be an integer >= 1"),
        (lambda: recovery_sweep(10, epsilons=(0.0,)), "epsilon must be"),
    ],
)
def test_bad_release_parameters(make: Callable[[], object], words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        make()


def test_cli_spellings_resolve_to_releases() -> None:
    assert answer_release("exact") == ExactAnswers()
    assert answer_release("rounded", 4.0) == RoundedAnswers(4)
    assert answer_release("bounded", 2.5) == BoundedNoiseAnswers(2.5)
    assert answer_release("dp", 0.5).describe() == {"epsilon": 0.5}


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("laplace", 1.0, r"unknown release 'laplace'; choose one of"),
        ("exact", 1.0, "takes no value"),
        ("dp", None, "takes a value for epsilon"),
        ("rounded", 2.5, "multiple must be an integer"),
        ("dp", -1.0, "epsilon must be a finite number > 0"),
    ],
)
def test_bad_cli_spellings(name: str, value: float | None, words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words):
        answer_release(name, value)


def test_dp_with_ethica_privacy_noise_is_at_chance() -> None:
    # The default noise: ethica.privacy.discrete_laplace (OS CSPRNG, not reproducible), so
    # the stated tolerance matters: |recovered - 1/2| <= 4 * 0.5 / sqrt(n) fails with
    # probability ~6e-5 when the guess is independent of the secret.
    release = DiscreteLaplaceAnswers(1.0)
    result = subset_sum_attack(N, release=release, secret=BALANCED, seed=5)
    assert abs(result.recovered_fraction - 0.5) <= 4 * 0.5 / math.sqrt(N)


def test_dp_accounting_composes_to_the_total_epsilon() -> None:
    release = DiscreteLaplaceAnswers(0.5)
    assert release.query_budget(800) == PureDP(Fraction(1, 1600))
    assert release.scale(800) == 1600
    assert release.total_budget(800) == PureDP(Fraction(1, 2))
