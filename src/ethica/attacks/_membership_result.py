"""The result of a membership-inference attack: a frozen, JSON-ready dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ethica._results import Result
from ethica.attacks._common import frame_html

__all__ = ["MembershipResult"]

#: False-positive rates at which the ROC curve is kept (dense near zero, where it matters).
ROC_GRID: tuple[float, ...] = tuple(
    sorted({0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, *np.linspace(0, 1, 21).round(2)})
)


@dataclass(frozen=True)
class MembershipResult(Result):
    """How well an attack tells training rows (members) from held-out rows.

    Attributes
    ----------
    attack
        ``"loss_threshold"`` or ``"shadow_models"``.
    n_members, n_nonmembers
        Rows scored on each side.
    auc
        Area under the attack's ROC curve: ``P(score(member) > score(non-member))``, ties
        counting 1/2; 0.5 is chance.
    low_fpr, tpr_at_low_fpr
        The largest true-positive rate over thresholds whose false-positive rate is at most
        ``low_fpr`` (1%).
    advantage
        ``max over thresholds of TPR - FPR`` (Yeom et al.'s membership advantage at the best
        threshold); 0 is chance.
    roc
        ``(f, TPR at FPR f)`` for ``f`` on :data:`ROC_GRID`, for plotting: the ROC curve
        interpolated linearly between its points (what randomising between two thresholds
        achieves), so its area is the AUC even when scores tie.
    """

    attack: str
    n_members: int
    n_nonmembers: int
    auc: float
    low_fpr: float
    tpr_at_low_fpr: float
    advantage: float
    roc: tuple[tuple[float, float], ...]

    @classmethod
    def from_curve(
        cls,
        *,
        attack: str,
        n_members: int,
        n_nonmembers: int,
        auc: float,
        fpr: NDArray[np.float64],
        tpr: NDArray[np.float64],
        low_fpr: float,
    ) -> MembershipResult:
        """Summarise a full ROC curve (as from ``sklearn.metrics.roc_curve``)."""
        grid = np.array(ROC_GRID)
        last = np.r_[fpr[1:] != fpr[:-1], True]  # roc_curve is sorted: keep each FPR's top
        curve = np.interp(grid, fpr[last], tpr[last])
        return cls(
            attack=attack,
            n_members=int(n_members),
            n_nonmembers=int(n_nonmembers),
            auc=auc,
            low_fpr=low_fpr,
            tpr_at_low_fpr=float(tpr[fpr <= low_fpr].max()),
            advantage=float((tpr - fpr).max()),
            roc=tuple((float(g), float(t)) for g, t in zip(grid, curve, strict=True)),
        )

    def _document(self) -> Mapping[str, Any]:
        return {**super()._document(), "roc": [{"fpr": f, "tpr": t} for f, t in self.roc]}

    def to_frame(self) -> pd.DataFrame:
        """One row: attack, sizes, AUC, TPR at the low FPR, advantage."""
        return pd.DataFrame(self._rows())

    def roc_frame(self) -> pd.DataFrame:
        """The ROC curve on :data:`ROC_GRID`: columns ``fpr``, ``tpr``."""
        return pd.DataFrame(list(self.roc), columns=["fpr", "tpr"])

    def _repr_html_(self) -> str:
        return frame_html(f"Membership inference ({self.attack})", self.to_frame())
