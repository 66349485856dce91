"""A release read back from its JSON form (the ledger's stored output of a replayed request)."""

from __future__ import annotations

from typing import Any

from ethica.privacy.budget._budgets import budget_from_dict
from ethica.privacy.release._release import Release, ReleasedTable

__all__ = ["release_from_dict"]

_NAN = float("nan")


def _floats(values: list[float | None]) -> tuple[float, ...]:
    return tuple(_NAN if v is None else float(v) for v in values)


def _table(data: dict[str, Any]) -> ReleasedTable:
    values = _floats(data["values"])
    return ReleasedTable(
        name=data["name"],
        statistic=data["statistic"],
        by=tuple(data["by"]),
        keys=tuple(tuple(k) for k in data["keys"]),
        values=values,
        ci_low=_floats(data["ci_low"]),
        ci_high=_floats(data["ci_high"]),
        variances=_floats(data.get("variances", [None] * len(values))),
        mechanism=data["mechanism"],
        noise=dict(data["noise"]),
        sensitivity=dict(data["sensitivity"]),
        budget=budget_from_dict(data["budget"]),
        notes=dict(data.get("notes", {})),
    )


def release_from_dict(data: dict[str, Any]) -> Release:
    """The :class:`Release` whose :meth:`Release.to_dict` is ``data`` (inverse of ``to_dict``)."""
    return Release(
        tables=tuple(_table(t) for t in data["tables"]),
        budget=budget_from_dict(data["budget"]),
        confidence=float(data["confidence"]),
        privacy_unit=dict(data["privacy_unit"]),
        source=data["source"],
        post_processing=tuple(data.get("post_processing", ())),
    )
