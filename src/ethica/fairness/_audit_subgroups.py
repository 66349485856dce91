"""Rich-subgroup findings of the audit, computed on the count table's cells.

A subgroup defined over the protected attributes only (a linear threshold, or a
conjunction of attribute values) is a union of count-table cells, and the rates the
auditors compare are ratios of sums over cells. The cells, weighted by their row count
``n``, are therefore a sufficient statistic: :func:`subgroup_findings` runs
:func:`~ethica.fairness.audit_rich_subgroups` and
:func:`~ethica.fairness.audit_conjunctions` on them and gets the answer of the rows,
which never leave the engine (Kearns, Neel, Roth and Wu 2018 for the auditors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica.data import CountTable
from ethica.fairness._audit_result import group_label
from ethica.fairness._rich_subgroups import (
    Metric,
    RichSubgroup,
    audit_conjunctions,
    audit_rich_subgroups,
)

__all__ = ["HARM_SUBGROUP_METRICS", "check_subgroup_harm", "subgroup_findings"]

#: The subgroup auditors' metric for each harm the audit protects against. Kept apart from
#: the registry's harm -> definition map on purpose: the auditors speak their own ``Metric``
#: vocabulary and search for the harmed side, so false-negative harm is ``"fnr"`` here (the
#: private audit reports ``"tpr"``, its definition's rate; the report lists several rates).
HARM_SUBGROUP_METRICS: Mapping[str, Metric] = {
    "selection": "selection",
    "false-negative": "fnr",
    "false-positive": "fpr",
}
#: Member groups a linear subgroup's description names before summarising the rest.
_LISTED = 6


def check_subgroup_harm(harm: str) -> Metric:
    """The auditors' metric for ``harm``; raise for a harm they cannot audit."""
    if harm not in HARM_SUBGROUP_METRICS:
        raise InvalidParameterError(
            f"the subgroup audit measures selection, false-negative or false-positive rates, "
            f"not harm={harm!r}; choose one of {', '.join(HARM_SUBGROUP_METRICS)} to audit "
            "subgroups."
        )
    return HARM_SUBGROUP_METRICS[harm]


def subgroup_findings(table: CountTable, harm: str) -> tuple[RichSubgroup, RichSubgroup]:
    """The worst linear-threshold subgroup and the worst conjunction for ``harm``'s rate.

    Parameters
    ----------
    table
        The audit's count table: one row per (protected values, label, prediction, score
        bin) cell with its row count ``n``.
    harm
        ``"selection"``, ``"false-negative"`` or ``"false-positive"``.

    Returns
    -------
    linear, conjunction
        The most gamma-unfair subgroup of each shape, with exact statistics.
    """
    metric = check_subgroup_harm(harm)
    cells = table.cells
    protected = cells.loc[:, list(table.attributes)].astype(str)
    predictions = cells["prediction"].to_numpy(dtype=float)
    labels = cells["label"].to_numpy()
    weights = cells["n"].to_numpy(dtype=float)
    linear = audit_rich_subgroups(
        predictions, labels, protected, metric=metric, sample_weight=weights
    )
    conjunction = audit_conjunctions(
        predictions, labels, protected, metric=metric, sample_weight=weights
    )
    return _readable(linear, protected), conjunction


def _readable(subgroup: RichSubgroup, protected: pd.DataFrame) -> RichSubgroup:
    """The linear subgroup described by the groups it holds (it is a union of cells)."""
    combinations = protected.drop_duplicates().sort_values(list(protected.columns))
    inside = combinations[subgroup.contains(combinations)]
    names = [group_label(row) for row in inside.itertuples(index=False, name=None)]
    shown = "; ".join(names[:_LISTED]) + (
        f"; and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    )
    title = group_label(tuple(protected.columns))
    description = f"{len(names)} of {len(combinations)} {title} groups: {shown}"
    return dataclasses.replace(subgroup, description=description)
