"""``ethica verify``: audit a release spec on the custodian's data before anything is published.

The spec is the one ``ethica release`` reads. Each of its queries is audited as released (its
share of the budget the queries get, which is ``1 - bounding_share`` of the total when the spec
asks for a bounding report; the spec's privacy unit) by :func:`ethica.privacy.testing.audit`, on
neighbouring copies of the custodian's own data (a sample of it: at most ``sample`` rows,
or the rows of at most ``sample`` users), adversarial neighbours included. Nothing is
released and no budget is spent: no ledger is opened. The result, which holds only
lower bounds on epsilon and the events that gave them, stays with the custodian.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import DataSourceError, InvalidParameterError
from ethica._results import Result, ResultPart
from ethica.data._private_sources import parse_numbers, private_table
from ethica.data._sampling import sample_rows
from ethica.privacy.release._cells import share
from ethica.privacy.release._evaluate import numeric_columns
from ethica.privacy.release._queries import Batch, BoundsEstimate
from ethica.privacy.release._sensitivity import UserLevel
from ethica.privacy.release._session import _parts
from ethica.privacy.release._spec import ReleaseSpec, parse_spec, type_keys_from_schema
from ethica.privacy.testing import AuditResult, QueryMechanism, ReportedQueryMechanism, audit

__all__ = ["VerifyResult", "verify_spec"]


@dataclass(frozen=True)
class VerifiedQuery(ResultPart):
    """One query of the spec: its audit, or why it was not audited."""

    name: str
    audit: AuditResult | None
    note: str = ""


@dataclass(frozen=True)
class VerifyResult(Result):
    """The audit of every query of a release spec.

    Attributes
    ----------
    spec, dataset
        The spec file and the dataset it names (a label only: no ledger is opened).
    base_rows
        Rows of the custodian's data the neighbouring copies were made from.
    queries
        One :class:`VerifiedQuery` per query of the spec.
    """

    spec: str
    dataset: str
    title: str
    base_rows: int
    queries: tuple[VerifiedQuery, ...]

    @property
    def violated(self) -> bool:
        """Whether any query's claim was disproved."""
        return any(q.audit is not None and q.audit.violated for q in self.queries)

    def to_frame(self) -> pd.DataFrame:
        """One row per query: claim, lower bound, worst pair and event, verdict."""
        rows = []
        for q in self.queries:
            a = q.audit
            rows.append(
                {
                    "query": q.name,
                    "claimed": None if a is None else str(a.claimed),
                    "claimed_epsilon": np.nan if a is None else a.claimed_epsilon,
                    "epsilon_lower_bound": np.nan if a is None else a.epsilon_lower_bound,
                    "worst_pair": "" if a is None else a.worst.pair,
                    "event": "" if a is None else a.worst.event,
                    "verdict": q.note if a is None else ("VIOLATED" if a.violated else "ok"),
                }
            )
        return pd.DataFrame(rows)

    def _document(self) -> Mapping[str, Any]:
        return {**super()._document(), "violated": self.violated, "queries": self.queries}

    def _repr_html_(self) -> str:
        verdict = "a claim was disproved" if self.violated else "no claim was disproved"
        parts = [
            f"<p>Audit of {html.escape(self.spec)} on {self.base_rows:,} rows of dataset "
            f"{html.escape(self.dataset)}: <b>{verdict}</b>. Nothing was released and no "
            "budget was spent; keep this report with the data.</p>",
            str(self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")),
        ]
        for q in self.queries:
            if q.audit is not None:
                parts.append(f"<h3>{html.escape(q.name)}</h3>{q.audit._repr_html_()}")
        return "\n".join(parts)


def _whole_release(
    batch: Batch,
    spec: ReleaseSpec,
    bounding_share: Fraction,
    data: pd.DataFrame,
    runs: int,
    confidence: float,
    progress: Callable[[str], None] | None,
) -> VerifiedQuery:
    """The whole release with its bounding report, audited against the whole budget."""
    name = "the whole release with its bounding report"
    if progress is not None:
        progress(name)
    if any(isinstance(q, BoundsEstimate) for q in batch.queries):
        return VerifiedQuery(
            name, None, "not audited by the fast path (a bounds estimate reads every noisy bin)"
        )
    mechanism = ReportedQueryMechanism(
        batch, spec.privacy_unit, spec.budget, spec.confidence, bounding_share=bounding_share
    )
    return VerifiedQuery(name, audit(mechanism, data, runs=runs, confidence=confidence))


def verify_spec(
    spec_path: Path,
    *,
    dataset: str | None = None,
    runs: int = 20_000,
    confidence: float = 0.99,
    sample: int = 1_000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Audit every query of the spec at ``spec_path`` (see the module docstring).

    Parameters
    ----------
    spec_path
        The release spec (YAML).
    dataset
        The dataset's name for the report (must agree with the spec's ``dataset:``).
    runs, confidence
        Runs per data set of each neighbouring pair, and the confidence of each query's lower
        bound (:func:`ethica.privacy.testing.audit`).
    sample, seed
        Size of the base drawn from the custodian's data (rows, or users under user-level
        privacy), and the seed of that draw (reproducible; not privacy randomness).
    progress
        Called with each query's name before it is audited.
    """
    if not spec_path.is_file():
        raise DataSourceError(f"spec file not found: {str(spec_path)!r}; check the path.")
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 2:
        raise InvalidParameterError(f"sample must be an integer >= 2, got {sample!r}.")
    spec = parse_spec(spec_path.read_text(encoding="utf-8"), name=str(spec_path))
    if dataset is not None and spec.dataset is not None and dataset != spec.dataset:
        raise InvalidParameterError(
            f"{spec_path} names dataset {spec.dataset!r} but dataset={dataset!r} was given; "
            "drop one of them."
        )
    source = spec.source_in(spec_path.parent)
    table, text_csv = private_table(source, table=spec.table)
    if text_csv:
        table = parse_numbers(table, numeric_columns(spec.batch.queries))
    batch = type_keys_from_schema(spec.batch, table)
    unit = spec.privacy_unit
    user_column = unit.column if isinstance(unit, UserLevel) else None
    if user_column not in table.columns:
        user_column = None  # the queries' own checks name the missing column
    data = sample_rows(table, size=sample, seed=seed, user_column=user_column)
    if len(data) == 0:
        raise InvalidParameterError(f"{source} has no rows; there is nothing to audit on.")
    budget = spec.budget
    if spec.bounding_share is not None:  # the bounding report takes its share off the top
        budget = share(budget, 1 - spec.bounding_share)
    verified = []
    for part in _parts(batch, budget):
        if progress is not None:
            progress(part.name)
        if isinstance(part.query, BoundsEstimate):
            verified.append(
                VerifiedQuery(
                    part.name,
                    None,
                    "not audited by the fast path (its bounds read the whole noisy histogram)",
                )
            )
            continue
        mechanism = QueryMechanism(part.query, spec.privacy_unit, part.budget, spec.confidence)
        result = audit(mechanism, data, runs=runs, confidence=confidence)
        verified.append(VerifiedQuery(part.name, result))
    if spec.bounding_share is not None:
        verified.append(
            _whole_release(batch, spec, spec.bounding_share, data, runs, confidence, progress)
        )
    name = dataset or spec.dataset or str(source)
    return VerifyResult(str(spec_path), name, spec.title, len(data), tuple(verified))
