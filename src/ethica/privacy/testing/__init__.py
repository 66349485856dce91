"""Empirical privacy auditing: neighbouring data sets, many runs, a lower bound on epsilon.

:func:`audit` takes a mechanism (an ethica query under a privacy unit and a budget, or any
Python callable ``f(data) -> output``, so other libraries can be audited too), builds
neighbouring pairs from a base data set (:func:`neighbouring_pairs`, adversarial ones
included), runs the mechanism many times on each side, chooses the event that best separates
the two output distributions on half of the runs and bounds epsilon from below on the other
half with Clopper–Pearson confidence. An :class:`AuditResult` whose ``epsilon_lower_bound``
exceeds the claimed epsilon disproves the claim. Ethica queries are sampled fast: one engine
aggregate per data set, only the noise re-drawn (:class:`QueryMechanism`).

Example::

    from ethica.privacy import Count, PureDP, Rows
    from ethica.privacy.testing import audit

    result = audit(Count(), frame, unit=Rows(), budget=PureDP(1), runs=100_000)
    assert result.epsilon_lower_bound <= 1
"""

from __future__ import annotations

from ethica.privacy.testing._audit import audit, claimed_epsilon
from ethica.privacy.testing._mechanisms import (
    CallableMechanism,
    Mechanism,
    QueryMechanism,
    ReportedQueryMechanism,
    Samples,
    VectorisedMechanism,
    flatten_output,
)
from ethica.privacy.testing._pairs import NeighbouringPair, Target, neighbouring_pairs, target_of
from ethica.privacy.testing._result import AuditResult, PairAudit, SensitivityCheck
from ethica.privacy.testing._stats import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    epsilon_lower_bound,
)

__all__ = [
    "AuditResult",
    "CallableMechanism",
    "Mechanism",
    "NeighbouringPair",
    "PairAudit",
    "QueryMechanism",
    "ReportedQueryMechanism",
    "Samples",
    "SensitivityCheck",
    "Target",
    "VectorisedMechanism",
    "audit",
    "claimed_epsilon",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "epsilon_lower_bound",
    "flatten_output",
    "neighbouring_pairs",
    "target_of",
]
