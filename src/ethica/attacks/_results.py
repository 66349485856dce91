"""Results of the reconstruction attacks on subset counts: frozen, JSON-ready dataclasses."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ethica._results import Result, ResultPart
from ethica.attacks._common import frame_html

__all__ = ["RecoverySweep", "SubsetSumResult", "SweepPoint"]


@dataclass(frozen=True)
class SubsetSumResult(Result):
    """One run of the Dinur–Nissim attack (:func:`subset_sum_attack`).

    Attributes
    ----------
    n_people, n_queries
        Secret bits ``n`` and subset-count queries ``m``.
    release, parameters
        How the answers were published (``"exact"``, ``"rounded"``, ``"bounded"``, ``"dp"``)
        and that release's parameters.
    error_bound, error_std
        Largest possible and typical (standard deviation) error of one answer;
        ``error_bound`` is ``inf`` for DP noise.
    recovered_fraction
        Share of the ``n`` bits the attack got right.
    chance_fraction
        Share a guess without queries gets right: ``max(p, 1 - p)`` for ``p`` the share of ones.
    l1_residual
        ``||Q y - a||_1`` at the LP optimum.
    """

    n_people: int
    n_queries: int
    release: str
    parameters: Mapping[str, Any]
    error_bound: float
    error_std: float
    recovered_fraction: float
    chance_fraction: float
    l1_residual: float

    @property
    def error_std_over_sqrt_n(self) -> float:
        """``error_std / sqrt(n)``: the noise on the scale where the attack breaks down."""
        return self.error_std / math.sqrt(self.n_people)

    def _document(self) -> Mapping[str, Any]:
        return {
            "attack": "dinur_nissim",
            "n_people": self.n_people,
            "n_queries": self.n_queries,
            "release": self.release,
            "parameters": self.parameters,
            "error_bound": self.error_bound,
            "error_std": self.error_std,
            "error_std_over_sqrt_n": self.error_std_over_sqrt_n,
            "recovered_fraction": self.recovered_fraction,
            "chance_fraction": self.chance_fraction,
            "l1_residual": self.l1_residual,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the run as a one-row frame."""
        row = self.to_dict()
        row.pop("schema_version")
        row["parameters"] = str(row["parameters"])
        return pd.DataFrame([row])

    def _repr_html_(self) -> str:
        return frame_html("Dinur–Nissim reconstruction", self.to_frame())


@dataclass(frozen=True)
class SweepPoint(ResultPart):
    """One noise setting of a :class:`RecoverySweep`, summarised over its trials."""

    release: str
    parameters: Mapping[str, Any]
    error_bound_over_sqrt_n: float
    error_std_over_sqrt_n: float
    recovery_mean: float
    recovery_min: float
    recovery_max: float
    chance_mean: float

    @classmethod
    def from_results(cls, results: Sequence[SubsetSumResult]) -> SweepPoint:
        """Summarise runs of one setting (all with the same release and sizes)."""
        first = results[0]
        root_n = math.sqrt(first.n_people)
        recovered = [r.recovered_fraction for r in results]
        return cls(
            release=first.release,
            parameters=first.parameters,
            error_bound_over_sqrt_n=first.error_bound / root_n,
            error_std_over_sqrt_n=first.error_std_over_sqrt_n,
            recovery_mean=sum(recovered) / len(recovered),
            recovery_min=min(recovered),
            recovery_max=max(recovered),
            chance_mean=sum(r.chance_fraction for r in results) / len(results),
        )


@dataclass(frozen=True)
class RecoverySweep(Result):
    """Recovery of the Dinur–Nissim attack against noise (:func:`recovery_sweep`)."""

    n_people: int
    n_queries: int
    trials: int
    points: tuple[SweepPoint, ...]

    def _document(self) -> Mapping[str, Any]:
        return {"attack": "dinur_nissim_sweep", **super()._document()}

    def to_frame(self) -> pd.DataFrame:
        """Return one row per setting: release, its parameter, noise / sqrt(n), recovery."""
        rows = []
        for p in self.points:
            row = p.to_dict()
            params = row.pop("parameters")
            rows.append({"parameter": next(iter(params.values()), None), **row})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return frame_html(
            f"Recovery vs noise (n={self.n_people}, m={self.n_queries})", self.to_frame()
        )
