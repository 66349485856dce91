"""How the curator answers the subset-count queries of the Dinur–Nissim attack.

Each release is a frozen spec with ``release(exact, rng)`` returning the published answers.
Only :class:`DiscreteLaplaceAnswers` protects privacy; its noise comes from
``ethica.privacy``'s exact CSPRNG sampler (or a sampler passed in), never from ``rng``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.attacks._common import check_epsilon, check_positive_int
from ethica.privacy import (
    PureDP,
    discrete_laplace,
    laplace_cost,
    laplace_scale,
    sequential_composition,
)

__all__ = [
    "AnswerRelease",
    "BoundedNoiseAnswers",
    "DiscreteLaplaceAnswers",
    "ExactAnswers",
    "LaplaceSampler",
    "RoundedAnswers",
    "answer_release",
]

#: ``sampler(scale, size)`` -> int64 draws of the discrete Laplace with that (exact) scale.
LaplaceSampler = Callable[[Fraction, int], NDArray[np.int64]]


@runtime_checkable
class AnswerRelease(Protocol):
    """What the curator publishes for a vector of exact subset counts."""

    @property
    def name(self) -> str:
        """Short name of the release, used in tables (``"exact"``, ``"dp"``...)."""
        ...

    def release(self, exact: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """Return the published answers for the exact counts ``exact``."""
        ...

    def error_bound(self, n_queries: int) -> float:
        """Largest possible error of one answer (``inf`` for unbounded noise)."""
        ...

    def error_std(self, n_queries: int) -> float:
        """Standard deviation of the error of one answer."""
        ...

    def describe(self) -> dict[str, Any]:
        """The release's parameters, JSON-ready."""
        ...


@dataclass(frozen=True)
class ExactAnswers:
    """Every answer is the true count: ``a_j = sum_{i in S_j} x_i``."""

    @property
    def name(self) -> str:
        """``"exact"``."""
        return "exact"

    def release(self, exact: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """Return the exact counts as floats."""
        return exact.astype(np.float64)

    def error_bound(self, n_queries: int) -> float:
        """Zero."""
        return 0.0

    def error_std(self, n_queries: int) -> float:
        """Zero."""
        return 0.0

    def describe(self) -> dict[str, Any]:
        """No parameters."""
        return {}


@dataclass(frozen=True)
class RoundedAnswers:
    """Each answer rounded to the nearest multiple of ``multiple`` (R): ``R * round(a / R)``.

    The error is at most ``R / 2``; over a uniform position it has standard deviation
    about ``R / sqrt(12)``.
    """

    multiple: int

    def __post_init__(self) -> None:
        check_positive_int("multiple", self.multiple)

    @property
    def name(self) -> str:
        """``"rounded"``."""
        return "rounded"

    def release(self, exact: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """Return the counts rounded to the nearest multiple of ``multiple``."""
        r = float(self.multiple)
        return np.round(exact / r) * r

    def error_bound(self, n_queries: int) -> float:
        """``multiple / 2``."""
        return self.multiple / 2

    def error_std(self, n_queries: int) -> float:
        """``multiple / sqrt(12)``."""
        return self.multiple / math.sqrt(12)

    def describe(self) -> dict[str, Any]:
        """``{"multiple": R}``."""
        return {"multiple": self.multiple}


@dataclass(frozen=True)
class BoundedNoiseAnswers:
    """Each answer perturbed by independent uniform noise on ``[-E, E]`` (E = ``magnitude``).

    Dinur and Nissim (2003) allow any perturbation of magnitude at most E; uniform noise
    from the seeded generator is one such perturbation (it gives no privacy guarantee).
    """

    magnitude: float

    def __post_init__(self) -> None:
        m = self.magnitude
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m < 0:
            raise InvalidParameterError(
                f"magnitude must be a finite number >= 0, got {m!r}; pass the largest "
                "perturbation of one answer, e.g. magnitude=2.0."
            )

    @property
    def name(self) -> str:
        """``"bounded"``."""
        return "bounded"

    def release(self, exact: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """Return ``exact + U(-E, E)``."""
        noise = rng.uniform(-self.magnitude, self.magnitude, size=exact.shape)
        return exact.astype(np.float64) + noise

    def error_bound(self, n_queries: int) -> float:
        """``magnitude``."""
        return float(self.magnitude)

    def error_std(self, n_queries: int) -> float:
        """``magnitude / sqrt(3)``."""
        return self.magnitude / math.sqrt(3)

    def describe(self) -> dict[str, Any]:
        """``{"magnitude": E}``."""
        return {"magnitude": float(self.magnitude)}


@dataclass(frozen=True)
class DiscreteLaplaceAnswers:
    """Answers released under ``epsilon``-differential privacy by the discrete Laplace.

    Definition: ``a_j = sum_{i in S_j} x_i + Z_j`` with ``Z_j`` i.i.d. discrete Laplace,
    ``P(Z = z) ∝ exp(-|z| / b)``, scale ``b = m / epsilon`` for ``m`` queries.

    Accounting: changing one person's bit changes each count by at most 1 (sensitivity 1),
    so one answer with scale ``m / epsilon`` is ``(epsilon / m)``-DP (Dwork, McSherry,
    Nissim and Smith 2006; the discrete version is Canonne, Kamath and Steinke 2020), and
    the ``m`` answers compose to ``epsilon``-DP in total (basic sequential composition).

    Parameters
    ----------
    epsilon
        Total privacy loss of the whole release, ``> 0``.
    sampler
        ``sampler(scale, size)`` returning int64 discrete Laplace draws; by default
        ``ethica.privacy.discrete_laplace`` (exact, from the OS CSPRNG). Pass a seeded one
        only in tests: a seeded sampler gives no privacy.
    """

    epsilon: float
    sampler: LaplaceSampler | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_epsilon(self.epsilon)

    @property
    def name(self) -> str:
        """``"dp"``."""
        return "dp"

    def query_budget(self, n_queries: int) -> PureDP:
        """The budget of one answer: ``PureDP(epsilon / m)``, exactly."""
        return PureDP(Fraction(self.epsilon) / n_queries)

    def scale(self, n_queries: int) -> Fraction:
        """Per-answer scale ``b = 1 / (epsilon / m) = m / epsilon`` (sensitivity 1), exactly."""
        return laplace_scale(1, self.query_budget(n_queries))

    def total_budget(self, n_queries: int) -> PureDP:
        """The ``m`` answers' cost by sequential composition: ``PureDP(epsilon)``."""
        cost = laplace_cost(sensitivity=1, scale=self.scale(n_queries))
        total = sequential_composition([cost] * n_queries)
        assert isinstance(total, PureDP)
        return total

    def release(self, exact: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.float64]:
        """Return ``exact + Z``, ``Z`` discrete Laplace of scale ``m / epsilon``.

        ``rng`` is not used: privacy noise never comes from a seeded generator.
        """
        sampler = self.sampler if self.sampler is not None else discrete_laplace
        noise = np.asarray(sampler(self.scale(exact.size), exact.size), dtype=np.int64)
        return (exact + noise).astype(np.float64)

    def error_bound(self, n_queries: int) -> float:
        """Unbounded: ``inf``."""
        return math.inf

    def error_std(self, n_queries: int) -> float:
        """``sqrt(2 e^{-1/b}) / (1 - e^{-1/b})``, the discrete Laplace's standard deviation."""
        q = math.exp(-1.0 / float(self.scale(n_queries)))
        return math.sqrt(2 * q) / (1 - q)

    def describe(self) -> dict[str, Any]:
        """``{"epsilon": epsilon}``."""
        return {"epsilon": float(self.epsilon)}


#: CLI spellings of the releases and the parameter each takes (``None``: no parameter).
RELEASE_PARAMETERS: dict[str, str | None] = {
    "exact": None,
    "rounded": "multiple",
    "bounded": "magnitude",
    "dp": "epsilon",
}


def answer_release(name: str, value: float | None = None) -> AnswerRelease:
    """Resolve a release from its name and parameter (for the CLI).

    ``"exact"``; ``"rounded"`` with ``value`` = the multiple R; ``"bounded"`` with
    ``value`` = the magnitude E; ``"dp"`` with ``value`` = the total epsilon.
    """
    if name not in RELEASE_PARAMETERS:
        raise InvalidParameterError(
            f"unknown release {name!r}; choose one of {sorted(RELEASE_PARAMETERS)}."
        )
    parameter = RELEASE_PARAMETERS[name]
    if parameter is None and value is None:
        return ExactAnswers()
    if parameter is None or value is None:
        needs = f"a value for {parameter}" if parameter else "no value"
        raise InvalidParameterError(
            f"release {name!r} takes {needs}, got {value!r}; e.g. "
            f"{'exact' if parameter is None else f'{name} with {parameter}=1'}."
        )
    if name == "rounded":
        if not float(value).is_integer():
            raise InvalidParameterError(
                f"multiple must be an integer >= 1, got {value!r}; pass a whole number."
            )
        return RoundedAnswers(int(value))
    if name == "bounded":
        return BoundedNoiseAnswers(value)
    return DiscreteLaplaceAnswers(value)
