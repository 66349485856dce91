"""The audit: neighbouring pairs -> many runs -> the best separating event -> a lower bound.

For each pair ``(D, D')`` the mechanism runs ``runs`` times on each data set. The runs are
split in two halves (alternate runs, so that every aggregation block is in both): the event
with the largest lower bound on the *selection* half is chosen (:func:`._stats.choose_event`)
and its Clopper–Pearson lower bound is computed on the *held-out* half only. With ``k`` pairs
each held-out bound is at confidence ``1 - (1 - confidence) / k`` (Bonferroni), so the largest
of them is a lower bound on the true epsilon at ``confidence``: a correct mechanism passes the
audit (``epsilon_lower_bound <= claimed``) with probability at least ``confidence``.

For ethica queries the exact aggregates of ``D`` and ``D'`` are also compared with the stated
sensitivity (the *sensitivity test*): a change larger than the sensitivity the noise is
calibrated to is a violation whatever the noise draws.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import EthicaError, InvalidParameterError
from ethica.privacy.budget._accounting import zcdp_to_approx
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.release._queries import REGISTRY, Batch
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel
from ethica.privacy.testing._mechanisms import (
    CallableMechanism,
    Mechanism,
    QueryMechanism,
    Samples,
)
from ethica.privacy.testing._pairs import NeighbouringPair, Target, neighbouring_pairs
from ethica.privacy.testing._result import AuditResult, PairAudit, SensitivityCheck
from ethica.privacy.testing._stats import choose_event, count_event, epsilon_lower_bound

__all__ = ["audit", "claimed_epsilon"]

DEFAULT_ZCDP_DELTA = 1e-6


def claimed_epsilon(claimed: Budget, delta: float | None = None) -> tuple[float, float]:
    """The claim as ``(epsilon, delta)`` (see :class:`AuditResult`)."""
    if isinstance(claimed, PureDP):
        return float(claimed.epsilon), 0.0
    if isinstance(claimed, ApproxDP):
        return float(claimed.epsilon), float(claimed.delta)
    if isinstance(claimed, ZCDP):
        d = DEFAULT_ZCDP_DELTA if delta is None else delta
        if not 0 < d < 1:
            raise InvalidParameterError(f"delta must lie in (0, 1), got {delta!r}.")
        return float(zcdp_to_approx(claimed, d).epsilon), float(d)
    raise InvalidParameterError(
        f"claimed must be PureDP, ZCDP or ApproxDP, got {claimed!r}; e.g. claimed=PureDP(1)."
    )


def _is_query(value: object) -> bool:
    return isinstance(value, (*REGISTRY.values(), Batch))


def _mechanism(
    mechanism: object, unit: PrivacyUnit | None, budget: Budget | None
) -> tuple[Mechanism, Budget | None]:
    if _is_query(mechanism):
        if budget is None:
            raise InvalidParameterError(
                "auditing an ethica query needs the budget it spends: audit(query, data, "
                "budget=PureDP(1), unit=Rows())."
            )
        return QueryMechanism(mechanism, unit or Rows(), budget), budget
    if isinstance(mechanism, Mechanism):
        return mechanism, None
    if callable(mechanism):
        return CallableMechanism(mechanism), None
    raise InvalidParameterError(
        f"cannot audit {mechanism!r}: pass an ethica query, a function f(data) -> output, or "
        "a Mechanism."
    )


def _matrix(
    first: Samples, second: Samples
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[str]]:
    names = list(dict.fromkeys([*first.features, *second.features]))

    def build(s: Samples) -> np.ndarray[Any, Any]:
        columns = []
        for name in names:
            default = 0.0 if name == "raised" else -math.inf
            column = s.features.get(name, np.full(s.runs, default))
            columns.append(np.where(np.isnan(column), -math.inf, column))
        if not columns:
            return np.zeros((s.runs, 0))
        return np.column_stack(columns).astype(float)

    return build(first), build(second), names


def _sensitivity(mechanism: Mechanism, pair: NeighbouringPair) -> tuple[SensitivityCheck, ...]:
    if not isinstance(mechanism, QueryMechanism) or pair.difference is None:
        return ()
    if len(pair.difference) == 0:
        return ()
    try:
        found = mechanism.contribution(pair.difference)
    except EthicaError:  # e.g. NULL user ids refused: no aggregate to check
        return ()
    return tuple(
        SensitivityCheck(name, change, float(stated)) for name, (change, stated) in found.items()
    )


def data_digest(data: pd.DataFrame) -> str:
    """A SHA-256 of a data set's values, column names and dtypes: equal data, equal digest."""
    return hashlib.sha256(
        pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes()
        + repr(list(zip(data.columns, data.dtypes.astype(str), strict=True))).encode()
    ).hexdigest()


class _Cache:
    """Samples of data sets already run (the base is shared by every pair)."""

    def __init__(self, mechanism: Mechanism, runs: int) -> None:
        self.mechanism, self.runs = mechanism, runs
        self._seen: dict[str, Samples] = {}

    def sample(self, data: pd.DataFrame) -> Samples:
        digest = data_digest(data)
        if digest not in self._seen:
            self._seen[digest] = self.mechanism.sample(data, self.runs)
        return self._seen[digest]


def _audit_pair(
    mechanism: Mechanism,
    pair: NeighbouringPair,
    cache: _Cache,
    alpha: float,
    delta: float,
) -> PairAudit:
    first = cache.sample(pair.first)
    second = cache.sample(pair.second)
    a, b, names = _matrix(first, second)
    level = 1 - alpha
    checks = _sensitivity(mechanism, pair)
    if not names:
        return PairAudit(
            pair.name,
            "(no output)",
            "first",
            0,
            0,
            math.nan,
            0.0,
            level,
            (first.errors, second.errors),
            checks,
        )
    event, favoured, _ = choose_event(a[0::2], b[0::2], names, alpha=alpha, delta=delta)
    counts = count_event(event, favoured, a[1::2], b[1::2])
    k_num, n_num, k_den, n_den = counts.ratio_counts()
    bound = float(epsilon_lower_bound(k_num, n_num, k_den, n_den, alpha=alpha, delta=delta))
    p, q = k_num / n_num, k_den / n_den
    estimate = (
        math.log((p - delta) / q) if p > delta and q > 0 else (math.inf if p > delta else math.nan)
    )
    return PairAudit(
        pair=pair.name,
        event=event.describe(),
        favoured=favoured,
        p=p,
        q=q,
        epsilon_estimate=estimate,
        epsilon_lower_bound=max(0.0, bound),
        level=level,
        errors=(first.errors, second.errors),
        sensitivity=checks,
    )


def audit(
    mechanism: object,
    data: pd.DataFrame | None = None,
    *,
    unit: PrivacyUnit | None = None,
    budget: Budget | None = None,
    claimed: Budget | None = None,
    pairs: Sequence[NeighbouringPair] | None = None,
    target: Target | None = None,
    runs: int = 100_000,
    confidence: float = 0.99,
    delta: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Audit a mechanism's privacy claim empirically: a lower bound on its epsilon.

    Parameters
    ----------
    mechanism
        An ethica query (:class:`~ethica.privacy.Count`, ..., :class:`~ethica.privacy.Batch`;
        then ``budget`` and ``unit`` say how it is released), any callable ``f(data) ->
        output`` (e.g. an OpenDP measurement), or a :class:`Mechanism`.
    data
        The base data set (pandas); neighbouring pairs are built from it
        (:func:`neighbouring_pairs`), unless ``pairs`` are given.
    unit
        The privacy unit (default ``Rows()``): what "neighbouring" means.
    budget
        For an ethica query: the budget the release spends.
    claimed
        The privacy claim to test (default: ``budget``).
    pairs
        Explicit neighbouring pairs (instead of building them from ``data``).
    target
        For a callable: the columns, bounds and keys the adversarial rows attack.
    runs
        Runs per data set of each pair (half choose the event, half bound it).
    confidence
        Joint confidence of the lower bound (Clopper–Pearson, Bonferroni over pairs).
    delta
        For a ``ZCDP`` claim: the delta at which it is converted to ``(epsilon, delta)``
        (default ``1e-6``). Other claims carry their own.
    progress
        Called with ``(pairs done, pairs)`` after each pair.

    Returns
    -------
    AuditResult
        ``epsilon_lower_bound`` and the claim; ``violated`` when the bound exceeds the claimed
        epsilon or an aggregate changed more than its stated sensitivity.

    Notes
    -----
    Bichsel, Steffen, Bogunovic & Vechev (2021), "DP-Sniper: Black-Box Discovery of
    Differential Privacy Violations using Classifiers", IEEE S&P; Ding, Wang, Wang, Zhang &
    Kifer (2018), "Detecting Violations of Differential Privacy", CCS; Google's DP stochastic
    tester (Gilbert & McMillan 2018) and DP-Auditorium (Kong et al. 2024).
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 20:
        raise InvalidParameterError(f"runs must be an integer >= 20, got {runs!r}.")
    if not isinstance(confidence, float | int) or not 0.5 <= confidence < 1:
        raise InvalidParameterError(f"confidence must lie in [0.5, 1), got {confidence!r}.")
    if unit is not None and not isinstance(unit, Rows | UserLevel):
        raise InvalidParameterError(f"unit must be Rows() or UserLevel(...), got {unit!r}.")
    mech, spent = _mechanism(mechanism, unit, budget)
    if isinstance(mech, QueryMechanism):
        unit, spent = mech.unit, mech.budget
    claim = claimed if claimed is not None else spent
    if claim is None:
        raise InvalidParameterError(
            "pass the privacy claim to test, e.g. claimed=PureDP(1) (for an ethica query it "
            "defaults to the budget)."
        )
    eps, d = claimed_epsilon(claim, delta)
    if pairs is None:
        if data is None:
            raise InvalidParameterError("pass data= (a pandas frame) or pairs= to audit on.")
        query = mech.query if isinstance(mech, QueryMechanism) else None
        if isinstance(mech, QueryMechanism):
            mech.check(data)
        pairs = neighbouring_pairs(data, unit or Rows(), query=query, target=target)
    pairs = tuple(pairs)
    if not pairs:
        raise InvalidParameterError("no neighbouring pairs to audit on; pass at least one.")
    alpha = (1 - confidence) / len(pairs)
    started = time.perf_counter()
    done = []
    cache = _Cache(mech, runs)
    for i, pair in enumerate(pairs):
        done.append(_audit_pair(mech, pair, cache, alpha, d))
        if progress is not None:
            progress(i + 1, len(pairs))
    seconds = time.perf_counter() - started
    worst = max(done, key=lambda p: p.epsilon_lower_bound)
    return AuditResult(
        mechanism=mech.name,
        claimed=claim,
        claimed_epsilon=eps,
        delta=d,
        epsilon_lower_bound=worst.epsilon_lower_bound,
        confidence=float(confidence),
        runs=runs,
        worst=worst,
        pairs=tuple(done),
        seconds=seconds,
    )
