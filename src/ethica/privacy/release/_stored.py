"""A release read back from its JSON form (the ledger's stored output of a replayed request)."""

from __future__ import annotations

from typing import Any, get_args

from ethica._exceptions import SchemaError
from ethica.privacy.budget._budgets import budget_from_dict
from ethica.privacy.release._release import Release, ReleasedTable, Statistic
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = ["release_from_dict", "unit_from_dict"]

_NAN = float("nan")
_STATISTICS: tuple[Statistic, ...] = get_args(Statistic)
_USER_FIELDS = ("column", "max_groups_per_user", "max_rows_per_group", "nulls")


def _floats(values: list[float | None]) -> tuple[float, ...]:
    return tuple(_NAN if v is None else float(v) for v in values)


def _statistic(value: object) -> Statistic:
    for statistic in _STATISTICS:
        if value == statistic:
            return statistic
    raise SchemaError(
        f"a stored release table has statistic {value!r}; expected one of {list(_STATISTICS)}."
    )


def unit_from_dict(data: dict[str, Any]) -> PrivacyUnit:
    """The privacy unit whose ``to_dict()`` is ``data`` (``{"kind": "rows"}`` or
    ``{"kind": "user", "column": ..., ...}``)."""
    kind = data.get("kind")
    if kind == "rows":
        return Rows()
    if kind == "user":
        return UserLevel(**{name: data[name] for name in _USER_FIELDS if name in data})
    raise SchemaError(
        f"a stored privacy unit has kind {kind!r}; expected 'rows' or 'user' (got {data!r})."
    )


def _table(data: dict[str, Any]) -> ReleasedTable:
    values = _floats(data["values"])
    return ReleasedTable(
        name=data["name"],
        statistic=_statistic(data["statistic"]),
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
        privacy_unit=unit_from_dict(data["privacy_unit"]),
        source=data["source"],
        post_processing=tuple(data.get("post_processing", ())),
    )
