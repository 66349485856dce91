"""The auditor's result: claimed budget, empirical lower bound on epsilon, the worst pair."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ethica._results import SCHEMA_VERSION, Result, ResultPart
from ethica.privacy.budget._budgets import Budget

__all__ = ["SCHEMA_VERSION", "AuditResult", "PairAudit", "SensitivityCheck"]


@dataclass(frozen=True)
class SensitivityCheck(ResultPart):
    """The exact aggregates of a pair compared with the stated sensitivity.

    ``observed`` is ``Σ_cells |a(D) - a(D')|`` (L1, in the component's integer units) for one
    component, ``stated`` the L1 sensitivity its noise is calibrated to; ``observed > stated``
    proves the noise too small for this pair, whatever the noise draws.
    """

    component: str
    observed: int
    stated: float

    @property
    def holds(self) -> bool:
        """Whether the change stays within the stated sensitivity."""
        return self.observed <= self.stated

    def _document(self) -> Mapping[str, Any]:
        return {
            "component": self.component,
            "observed_l1": self.observed,
            "stated_l1": self.stated,
            "holds": self.holds,
        }


@dataclass(frozen=True)
class PairAudit(ResultPart):
    """One neighbouring pair: the event chosen on the selection runs and its held-out bound.

    Attributes
    ----------
    pair
        What the neighbour changes.
    event
        The event, e.g. ``"count >= 12"``.
    favoured
        The data set whose probability is in the numerator: ``"first"`` (the base) or
        ``"second"`` (the neighbour).
    p, q
        Held-out frequencies of the event under the favoured and the other data set.
    epsilon_estimate
        ``log((p - delta) / q)`` (a point estimate, not a bound; ``nan`` when undefined).
    epsilon_lower_bound
        The held-out Clopper–Pearson lower bound (0 when the data give none).
    level
        The confidence of this pair's bound (Bonferroni share of the audit's level).
    errors
        Runs that raised on the first and the second data set.
    sensitivity
        Exact checks of the aggregates (ethica queries only).
    """

    pair: str
    event: str
    favoured: str
    p: float
    q: float
    epsilon_estimate: float
    epsilon_lower_bound: float
    level: float
    errors: tuple[int, int] = (0, 0)
    sensitivity: tuple[SensitivityCheck, ...] = ()

    @property
    def sensitivity_holds(self) -> bool:
        """Whether every exact check holds."""
        return all(c.holds for c in self.sensitivity)


@dataclass(frozen=True)
class AuditResult(Result):
    """An empirical privacy audit: a lower bound on epsilon against the claimed budget.

    Attributes
    ----------
    mechanism
        What was audited.
    claimed
        The claimed budget.
    claimed_epsilon, delta
        The claim as ``(epsilon, delta)``: ``PureDP(e)`` is ``(e, 0)``, ``ApproxDP(e, d)`` is
        ``(e, d)``, ``ZCDP(rho)`` is ``(epsilon(rho, delta), delta)`` at the audit's ``delta``
        (Canonne, Kamath & Steinke 2020, Cor. 13).
    epsilon_lower_bound
        The largest held-out lower bound over the pairs: with probability at least
        ``confidence`` the mechanism's true epsilon (at ``delta``) is at least this.
    confidence
        Joint confidence of all the pairs' bounds.
    runs
        Runs per data set of each pair (half choose the event, half bound it).
    worst
        The pair with the largest lower bound.
    pairs
        Every pair's audit.
    seconds
        Wall time of the audit.
    """

    mechanism: str
    claimed: Budget
    claimed_epsilon: float
    delta: float
    epsilon_lower_bound: float
    confidence: float
    runs: int
    worst: PairAudit
    pairs: tuple[PairAudit, ...]
    seconds: float

    @property
    def violated(self) -> bool:
        """Whether the audit disproves the claim: the lower bound exceeds the claimed epsilon,
        or an exact aggregate change exceeds the stated sensitivity."""
        sensitivity = any(not p.sensitivity_holds for p in self.pairs)
        return self.epsilon_lower_bound > self.claimed_epsilon or sensitivity

    @property
    def runs_per_second(self) -> float:
        """Mechanism runs per second (both data sets of every pair)."""
        return 2 * self.runs * len(self.pairs) / self.seconds if self.seconds > 0 else math.inf

    def to_frame(self) -> pd.DataFrame:
        """One row per pair: event, frequencies, estimate, lower bound, sensitivity."""
        return pd.DataFrame(
            [
                {
                    "pair": p.pair,
                    "event": p.event,
                    "favoured": p.favoured,
                    "p": p.p,
                    "q": p.q,
                    "epsilon_estimate": p.epsilon_estimate,
                    "epsilon_lower_bound": p.epsilon_lower_bound,
                    "sensitivity_holds": p.sensitivity_holds,
                    "errors": sum(p.errors),
                }
                for p in self.pairs
            ]
        )

    def _document(self) -> Mapping[str, Any]:
        return {
            "mechanism": self.mechanism,
            "claimed": self.claimed,
            "claimed_epsilon": self.claimed_epsilon,
            "delta": self.delta,
            "epsilon_lower_bound": self.epsilon_lower_bound,
            "confidence": self.confidence,
            "violated": self.violated,
            "runs": self.runs,
            "seconds": self.seconds,
            "worst": self.worst,
            "pairs": self.pairs,
        }

    def _repr_html_(self) -> str:
        verdict = (
            "<b style='color:#b2182b'>claim disproved</b>"
            if self.violated
            else "<b>no violation found</b>"
        )
        head = (
            f"<p><b>Privacy audit</b> of {html.escape(self.mechanism)}: claimed "
            f"{html.escape(str(self.claimed))} (epsilon {self.claimed_epsilon:.4g} at delta "
            f"{self.delta:.3g}); empirical lower bound <b>{self.epsilon_lower_bound:.4g}</b> at "
            f"{100 * self.confidence:g}% confidence, {self.runs:,} runs per data set; "
            f"{verdict}. Worst pair: {html.escape(self.worst.pair)}, event "
            f"<code>{html.escape(self.worst.event)}</code>.</p>"
        )
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return head + str(table)
