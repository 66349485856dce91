"""Shared pieces of the stream audits: a linear release sampled from one engine aggregate,
the worst neighbour under the window unit, and the pair's likelihood-ratio statistic.

Every mechanism of :mod:`ethica.privacy.stream` releases post-processing of one measurement
``m = R x + z``: ``x`` the bounded integer grid (engine), ``R`` a public integer matrix, ``z``
i.i.d. exact discrete noise. :class:`LinearRelease` audits ``m`` itself (whatever is
released is a function of ``m``, so an epsilon lower bound on ``m``'s privacy is the
strongest test): the engine bounds each data set once (:func:`series_grid`, the release's own
query) and the noise is drawn ``runs`` times by the release's own :class:`Noise`.

The auditor's events are thresholds on one output coordinate; a neighbour changes many
coordinates of ``m`` a little each, so the features also hold the pair's log-likelihood ratio
(``llr``, a fixed function of the output, computed the same way on both data sets: a
post-processing, so a valid event). Its top level set ``{llr = Δ1 / scale}`` has probability
ratio exactly ``exp(Δ1 / scale)`` under discrete Laplace noise, so the audit reaches the true
epsilon when the pair attains the sensitivity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ethica.privacy.release._noise import LaplaceNoise, Noise
from ethica.privacy.testing import NeighbouringPair, Samples
from ethica.privacy.testing._audit import data_digest

START = datetime(2026, 1, 1)
RUNS = 100_000
#: 99.9%: with the likelihood-ratio feature the audits of the naive and tree releases are
#: nearly tight (lower bounds 0.94-0.96 at a claim of 1), so each correct release could fail
#: by chance with probability up to 1 - CONFIDENCE; a dozen such tests at 99% would turn the
#: suite red about one run in ten. The controls (true epsilon twice the claim) keep their margin.
CONFIDENCE = 0.999

Exact = Callable[[pd.DataFrame], NDArray[np.int64]]


def visits(periods: int, *, users: int = 30, seed: int = 0) -> pd.DataFrame:
    """Base table: each user has one row in each of a few distinct buckets (within every cap,
    so bounding leaves it exact)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        for day in rng.choice(periods, size=int(rng.integers(1, 4)), replace=False):
            rows.append({"user": f"u{user}", "t": START + timedelta(days=int(day), hours=13)})
    return pd.DataFrame(rows)


def rows_of(user: str, buckets: range | list[int], per_bucket: int = 3) -> pd.DataFrame:
    """``per_bucket`` rows of ``user`` in each bucket (more than ``max_rows = 1``: the engine's
    bounding cuts them)."""
    return pd.DataFrame(
        [
            {"user": user, "t": START + timedelta(days=b, hours=9 + i)}
            for b in buckets
            for i in range(per_bucket)
        ]
    )


def add_rows(name: str, base: pd.DataFrame, added: pd.DataFrame) -> NeighbouringPair:
    """``(base, base + added)``: one user's rows in one window added."""
    second = pd.concat([base, added], ignore_index=True)
    return NeighbouringPair(name, base, second, added)


@dataclass(frozen=True)
class LinearRelease:
    """``m = exact(data) + z``, sampled ``runs`` times from one engine run per data set.

    Parameters
    ----------
    exact
        ``data -> R x`` (flattened): the release's noiseless measurement, from the engine.
    noise
        The noise the release calibrates (or, for a negative control, a miscalibrated one).
    reference
        ``(R x(D), R x(D'))`` of the pair under audit, for the ``llr`` feature.
    label
        For reports.
    """

    exact: Exact
    noise: Noise
    reference: tuple[NDArray[np.int64], NDArray[np.int64]]
    label: str
    _seen: dict[str, NDArray[np.int64]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_pair(cls, exact: Exact, noise: Noise, pair: NeighbouringPair, label: str) -> Any:
        """The release audited on ``pair`` (both data sets' exact values computed once)."""
        seen = {data_digest(d): exact(d) for d in (pair.first, pair.second)}
        a, b = seen[data_digest(pair.first)], seen[data_digest(pair.second)]
        return cls(exact, noise, (a, b), label, seen)

    @property
    def name(self) -> str:
        """The label."""
        return self.label

    @property
    def change_l1(self) -> int:
        """``||R x(D) - R x(D')||_1``: what the pair changes in the measurement."""
        a, b = self.reference
        return int(np.abs(a - b).sum())

    def _measure(self, data: pd.DataFrame) -> NDArray[np.int64]:
        key = data_digest(data)
        if key not in self._seen:
            self._seen[key] = self.exact(data)
        return self._seen[key]

    def sample(self, data: pd.DataFrame, runs: int) -> Samples:
        """``runs`` measurements of ``data``, with the pair's log-likelihood ratio."""
        truth = self._measure(data)
        m = truth[None, :] + self.noise.draw(runs * truth.size).reshape(runs, truth.size)
        a, b = (r.astype(np.float64) for r in self.reference)
        if isinstance(self.noise, LaplaceNoise):
            llr = (np.abs(m - b) - np.abs(m - a)).sum(axis=1)
        else:  # Gaussian: the projection on the difference
            llr = ((m - (a + b) / 2) * (a - b)).sum(axis=1)
        changed = np.flatnonzero(a != b)
        features = {f"m[{i}]": m[:, i].astype(np.float64) for i in changed.tolist()}
        features["llr"] = np.asarray(llr, dtype=np.float64)
        return Samples(features, runs)
