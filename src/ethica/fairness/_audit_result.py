"""The result of a fairness audit: frozen, JSON-serialisable dataclasses.

An :class:`AuditResult` holds per-group rates with Wilson intervals, disparities
against a reference group, max-min spreads, and one verdict per named fairness
definition and attribute set. Reports and the CLI render from it, never from rows.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ethica._results import SCHEMA_VERSION, Result, ResultPart

if TYPE_CHECKING:
    import pandas as pd

    from ethica.fairness._rich_subgroups import RichSubgroup

from ethica.fairness._registry import HARM_DEFINITIONS

__all__ = [
    "SCHEMA_VERSION",
    "AuditResult",
    "CalibrationBin",
    "DefinitionResult",
    "Disparity",
    "Estimate",
    "GroupMetrics",
    "Interval",
    "Spread",
    "group_label",
]


#: Verdicts from most to least severe; :meth:`AuditResult.headline` picks the first.
VERDICT_SEVERITY: tuple[str, ...] = ("fail", "inconclusive", "pass", "not_applicable")


@dataclass(frozen=True)
class Estimate(ResultPart):
    """A proportion ``numerator / denominator`` with its Wilson score interval.

    ``value``, ``ci_low`` and ``ci_high`` are ``None`` when the denominator is zero;
    ``undefined_reason`` then says why (e.g. "no actual positives in this group").
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    numerator: int
    denominator: int
    undefined_reason: str | None = None


@dataclass(frozen=True)
class Interval(ResultPart):
    """A point estimate with its confidence interval; ``None`` where undefined.

    A ``ci_high`` of ``None`` with ``ci_low`` set means unbounded above (a ratio whose
    reference group has no events)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class CalibrationBin(ResultPart):
    """One score bin of one group: its rows, mean score and observed positive rate."""

    low: float
    high: float
    n: int
    mean_score: float | None
    observed: Estimate


@dataclass(frozen=True)
class GroupMetrics(ResultPart):
    """Rates of one group (one value per attribute in ``attributes``).

    The overall population is the group with empty ``attributes`` and ``group``.
    ``judged`` is ``False`` when the group has fewer rows than ``min_group_size``:
    it is reported but excluded from disparities and verdicts.
    """

    attributes: tuple[str, ...]
    group: tuple[str, ...]
    n: int
    share: float
    judged: bool
    metrics: Mapping[str, Estimate]
    calibration: tuple[CalibrationBin, ...] = ()


@dataclass(frozen=True)
class Disparity(ResultPart):
    """One judged group against the reference group of its attribute set, on one metric.

    ``difference`` is ``group - reference`` (Newcombe hybrid score interval);
    ``ratio`` is ``group / reference`` (Miettinen-Nurminen score interval; ``ci_high`` is
    ``None``, unbounded, when the reference has no events); ``p_value`` is two-sided,
    Fisher's exact test for small or rare cells and the pooled z-test otherwise
    (:mod:`ethica.fairness._exact_tests`), and ``p_holm`` its Holm adjustment across every
    test of the audit; ``significant`` is ``p_holm < 1 - confidence``.
    ``four_fifths_violation`` is set for selection rates only: ratio below 0.8.
    """

    attributes: tuple[str, ...]
    metric: str
    group: tuple[str, ...]
    reference: tuple[str, ...]
    difference: Interval
    ratio: Interval
    p_value: float | None
    p_holm: float | None
    significant: bool
    four_fifths_violation: bool | None


@dataclass(frozen=True)
class Spread(ResultPart):
    """Largest minus smallest rate among the judged groups of an attribute set.

    ``difference`` is ``max - min`` and ``ratio`` is ``min / max``; their intervals are
    simultaneous over every pair of groups (Bonferroni over pairwise Newcombe and score
    intervals), so they cover the spread between the truly highest and lowest groups, not
    only between the two that happened to come out extreme.
    """

    attributes: tuple[str, ...]
    metric: str
    max_group: tuple[str, ...]
    min_group: tuple[str, ...]
    difference: Interval
    ratio: Interval


@dataclass(frozen=True)
class DefinitionResult(ResultPart):
    """The verdict of one named fairness definition on one attribute set.

    ``verdict`` is one of ``"pass"``, ``"fail"``, ``"inconclusive"``,
    ``"not_applicable"``; ``worst_group`` and ``worst_difference`` name the judged
    group farthest from parity (against the reference group for rate definitions,
    against the mean score for calibration) and its simultaneous interval.
    """

    name: str
    metrics: tuple[str, ...]
    attributes: tuple[str, ...]
    tolerance: float
    worst_group: tuple[str, ...] | None
    worst_difference: Interval
    verdict: str
    reason: str


def group_label(values: tuple[str, ...]) -> str:
    """Render an attribute set or group tuple for people: ``sex × race``."""
    return " × ".join(values) if values else "(everyone)"


@dataclass(frozen=True)
class AuditResult(Result):
    """Everything a fairness audit found, computed from a count table alone.

    Attributes
    ----------
    schema_version
        Version of the :meth:`to_dict` document (:data:`ethica._results.SCHEMA_VERSION`).
    n_rows
        Rows audited.
    protected, harm, tolerance, confidence, min_group_size
        The audit's settings.
    overall
        Rates of the whole population.
    groups
        Every group of every attribute set (single attributes, then intersections).
    references
        The reference group of each attribute set.
    disparities, spreads, definitions
        Group-vs-reference comparisons, max-min spreads, and named verdicts.
    notes
        Plain-language remarks (small groups, undefined rates, dropped rows).
    provenance
        Where the counts came from (columns, threshold, source, seed).
    subgroups
        With ``subgroups=True``: the most gamma-unfair linear-threshold subgroup and the
        most gamma-unfair conjunction for the harm's rate (empty otherwise).
    """

    schema_version: int
    n_rows: int
    protected: tuple[str, ...]
    harm: str
    tolerance: float
    confidence: float
    min_group_size: int
    overall: GroupMetrics
    groups: tuple[GroupMetrics, ...]
    references: Mapping[tuple[str, ...], tuple[str, ...]]
    disparities: tuple[Disparity, ...]
    spreads: tuple[Spread, ...]
    definitions: tuple[DefinitionResult, ...]
    notes: tuple[str, ...]
    provenance: Mapping[str, object]
    subgroups: tuple[RichSubgroup, ...] = ()

    def headline(self) -> DefinitionResult:
        """Return the verdict the summary leads with.

        It is the definition chosen by ``harm`` on the attribute set where it fares
        worst (fail, then inconclusive, then pass), ties broken by the largest
        absolute worst difference.
        """
        name = HARM_DEFINITIONS[self.harm]
        candidates = [d for d in self.definitions if d.name == name]

        def severity(d: DefinitionResult) -> tuple[int, float]:
            size = d.worst_difference.value
            return (VERDICT_SEVERITY.index(d.verdict), -abs(size) if size is not None else 0.0)

        return min(candidates, key=severity)

    def worst_disparities(self, k: int = 10) -> tuple[Disparity, ...]:
        """Return the ``k`` worst disparities: significant ones first, then by size.

        Size is the absolute difference; undefined differences come last.
        """

        def badness(d: Disparity) -> tuple[bool, float]:
            size = d.difference.value
            return (not d.significant, -abs(size) if size is not None else math.inf)

        return tuple(sorted(self.disparities, key=badness)[:k])

    def _document(self) -> Mapping[str, Any]:
        return {
            "n_rows": self.n_rows,
            "protected": list(self.protected),
            "harm": self.harm,
            "tolerance": self.tolerance,
            "confidence": self.confidence,
            "min_group_size": self.min_group_size,
            "headline": self.headline(),
            "overall": self.overall,
            "groups": self.groups,
            "references": [
                {"attributes": list(attrs), "group": list(group)}
                for attrs, group in self.references.items()
            ],
            "disparities": self.disparities,
            "spreads": self.spreads,
            "definitions": self.definitions,
            "notes": self.notes,
            "provenance": self.provenance,
            "subgroups": self.subgroups,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the per-group rates as a long frame: one row per (group, metric)."""
        rows = [
            {
                "attributes": group_label(g.attributes),
                "group": group_label(g.group),
                "n": g.n,
                "share": g.share,
                "judged": g.judged,
                "metric": name,
                "value": est.value,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "numerator": est.numerator,
                "denominator": est.denominator,
                "undefined_reason": est.undefined_reason,
            }
            for g in (self.overall, *self.groups)
            for name, est in g.metrics.items()
        ]
        import pandas as pd  # on use: the CLI imports this module and must start fast

        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """Return a small self-contained HTML summary (verdicts, worst disparities)."""

        def fmt(x: float | None) -> str:
            return "—" if x is None else f"{x:.3f}"

        head = self.headline()
        verdicts = "".join(
            f"<tr><td>{html.escape(d.name)}</td><td>{html.escape(group_label(d.attributes))}</td>"
            f"<td>{html.escape(d.verdict)}</td><td>{fmt(d.worst_difference.value)}</td></tr>"
            for d in self.definitions
        )
        worst = "".join(
            f"<tr><td>{html.escape(d.metric)}</td><td>{html.escape(group_label(d.group))}</td>"
            f"<td>{html.escape(group_label(d.reference))}</td><td>{fmt(d.difference.value)} "
            f"[{fmt(d.difference.ci_low)}, {fmt(d.difference.ci_high)}]</td>"
            f"<td>{fmt(d.p_holm)}</td></tr>"
            for d in self.worst_disparities(5)
        )
        return (
            f"<div><p><b>Fairness audit</b> of {self.n_rows} rows by "
            f"{html.escape(', '.join(self.protected))}: {html.escape(head.name)} is "
            f"<b>{html.escape(head.verdict)}</b> ({html.escape(head.reason)})</p>"
            "<table><tr><th>definition</th><th>attributes</th><th>verdict</th>"
            f"<th>worst difference</th></tr>{verdicts}</table>"
            "<table><tr><th>metric</th><th>group</th><th>reference</th>"
            f"<th>difference [CI]</th><th>Holm p</th></tr>{worst}</table></div>"
        )
