"""A fairness audit under differential privacy: the release machinery feeds the audit's science.

``ethica.audit(..., privacy=PureDP(1))`` lands here. The run keeps the privacy contract
(``DESIGN.md``):

1. **Free checks.** The settings, the declared groups of every protected attribute, the
   budget's kind, the privacy unit, the ledger's dataset and the source's schema (never its
   rows) are checked first; a refusal costs nothing.
2. **Reserve, then read.** One :class:`~ethica.privacy.Count` of the rows per (protected
   groups..., label, decision) cell, with *public* keys (the declared groups × {0, 1} × {0,
   1}), goes through :meth:`ethica.privacy.Session.evaluate`: the budget is charged in the
   session and the ledger before the engine reads a row, and a failure after that is generic.
3. **Post-process.** :func:`ethica.fairness._private_audit.private_audit_counts` turns the
   noisy cells into rates, differences, spreads and verdicts whose intervals cover both the
   sampling and the exact noise law.

Why declared groups. The group values found in the data are themselves private: a group
with one member reveals that member. Public keys (declared by the user, or the bins of fixed
edges) make every cell released whether or not it has rows, so the key set leaks nothing and
pure DP suffices; rows outside the declared groups are simply not counted. Private keys
would need DP partition selection (an ``ApproxDP`` budget) and would drop small groups, which
are exactly the ones an audit is about, so a private audit does not offer them.

Layering: this module imports both ``ethica.fairness`` and ``ethica.privacy`` (siblings), so
it lives in ``workflows``; :func:`ethica.fairness.audit` reaches it through a lazy import when
``privacy=`` is given, which keeps ``fairness`` free of any import of ``privacy``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ethica._exceptions import InvalidParameterError
from ethica.data import Bins
from ethica.data._private_outcomes import LABEL, PREDICTION, private_outcome_table
from ethica.fairness._audit import _check_max_order
from ethica.fairness._private_audit import (
    NoiseLaw,
    PrivacyCost,
    PrivateAuditResult,
    check_private_settings,
    private_audit_counts,
)
from ethica.privacy.budget import Budget, Ledger
from ethica.privacy.release import Count, Rows, Session, UserLevel

__all__ = ["MAX_PRIVATE_CELLS", "parse_groups", "private_audit"]

#: Most released cells a private audit accepts (groups of the finest intersection × 4).
MAX_PRIVATE_CELLS = 100_000


def parse_groups(groups: object) -> dict[str, tuple[str, ...]]:
    """``{"sex": ["Male", "Female"]}`` or ``["sex=Male,Female", ...]`` as a checked dict."""
    if groups is None:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(groups, Mapping):
        items = [(str(k), v) for k, v in groups.items()]
    elif isinstance(groups, str | Sequence):
        items = []
        for item in [groups] if isinstance(groups, str) else list(groups):
            if not isinstance(item, str) or "=" not in item:
                raise InvalidParameterError(
                    f"groups entry {item!r} is not of the form ATTRIBUTE=VALUE,VALUE; write e.g. "
                    "'sex=Male,Female' or pass a dict such as {'sex': ['Male', 'Female']}."
                )
            key, values = item.split("=", 1)
            items.append((key.strip(), [v.strip() for v in values.split(",")]))
    else:
        raise InvalidParameterError(
            f"groups={groups!r} must be a dict attribute -> values or strings 'sex=Male,Female'."
        )
    for attr, values in items:
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise InvalidParameterError(
                f"groups[{attr!r}]={values!r} must be a list of group values, e.g. "
                "['Male', 'Female']."
            )
        text = tuple(str(v).strip() for v in values)
        if not text or any(not v for v in text):
            raise InvalidParameterError(
                f"groups[{attr!r}] lists an empty group ({list(values)!r}); list each value once."
            )
        if len(set(text)) != len(text):
            raise InvalidParameterError(
                f"groups[{attr!r}] lists a value more than once ({list(text)}); list each once."
            )
        out[attr] = text
    return out


def _protected_specs(protected: object) -> list[str | Bins]:
    if isinstance(protected, str):
        return [p.strip() for p in protected.split(",") if p.strip()]
    if isinstance(protected, Bins):
        return [protected]
    if isinstance(protected, Sequence) and all(isinstance(p, str | Bins) for p in protected):
        return list(protected)
    raise InvalidParameterError(
        f"protected={protected!r}: a private audit takes column names or Bins with fixed "
        "edges (arrays of values per row cannot be declared public)."
    )


def _declared(
    specs: list[str | Bins], groups: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Every protected attribute's public groups, checked for free."""
    names = [s.column if isinstance(s, Bins) else s for s in specs]
    extra = sorted(set(groups) - set(names))
    if extra:
        raise InvalidParameterError(
            f"groups names {extra}, which are not protected in this audit ({names}); declare "
            "groups of the protected attributes only."
        )
    out: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        if isinstance(spec, Bins):
            if spec.edges is None:
                raise InvalidParameterError(
                    f"Bins({spec.column!r}) uses quantiles, whose edges depend on the private "
                    f"data; give fixed edges, e.g. Bins({spec.column!r}, edges=[25, 45, 65])."
                )
            if spec.column in groups:
                raise InvalidParameterError(
                    f"{spec.column!r} is binned, so its groups are its bins; drop groups "
                    f"[{spec.column!r}]."
                )
            out[spec.column] = spec.labels()
        elif spec in groups:
            out[spec] = groups[spec]
        else:
            raise InvalidParameterError(
                f"a private audit needs the groups of {spec!r} declared (the values found in "
                f"the data are private): pass groups={{{spec!r}: ['A', 'B']}} "
                f"(CLI: --groups {spec}=A,B), or bin a numeric column with fixed edges."
            )
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"protected lists an attribute twice: {names}.")
    cells = 4 * math.prod(len(v) for v in out.values())
    if cells > MAX_PRIVATE_CELLS:
        raise InvalidParameterError(
            f"the declared groups make {cells} released cells, more than {MAX_PRIVATE_CELLS}; "
            "declare fewer groups or fewer attributes."
        )
    return out


def _reference(reference: object, declared: dict[str, tuple[str, ...]]) -> dict[str, str]:
    if reference is None:
        return {}
    if isinstance(reference, Mapping):
        pairs = {str(k): str(v) for k, v in reference.items()}
    else:
        items = [reference] if isinstance(reference, str) else list(reference)  # type: ignore[call-overload]
        pairs = {}
        for item in items:
            if not isinstance(item, str) or "=" not in item:
                raise InvalidParameterError(
                    f"reference={item!r} is not of the form ATTRIBUTE=VALUE; e.g. 'sex=Male'."
                )
            key, value = item.split("=", 1)
            pairs[key.strip()] = value.strip()
    for attr, value in pairs.items():
        if attr not in declared:
            raise InvalidParameterError(
                f"reference names attribute {attr!r}, which is not protected in this audit; "
                f"valid attributes: {', '.join(declared)}."
            )
        if value not in declared[attr]:
            raise InvalidParameterError(
                f"reference {attr}={value!r} is not a declared group of {attr!r}; declared: "
                f"{', '.join(declared[attr])}."
            )
    return pairs


def _unit(privacy_unit: object) -> Rows | UserLevel:
    if privacy_unit is None or privacy_unit == "rows":
        return Rows()
    if isinstance(privacy_unit, Rows | UserLevel):
        return privacy_unit
    raise InvalidParameterError(
        f"privacy_unit={privacy_unit!r} must be Rows() or UserLevel('person_id', ...)."
    )


def private_audit(
    source: object,
    *,
    label: str | None,
    protected: object,
    privacy: Budget,
    groups: object = None,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    positive_label: object = None,
    positive_prediction: object = None,
    privacy_unit: object = None,
    ledger: Ledger | None = None,
    dataset: str | None = None,
    reference: Mapping[str, object] | str | Sequence[str] | None = None,
    max_order: int | None = None,
    min_group_size: int = 30,
    harm: str = "selection",
    tolerance: float = 0.05,
    confidence: float = 0.95,
    table: str | None = None,
    encoding: str | None = None,
    request_id: str | None = None,
    unsupported: Mapping[str, object] | None = None,
) -> PrivateAuditResult:
    """Audit a model's outputs from confusion counts released under differential privacy.

    Parameters
    ----------
    source, label, prediction, score, threshold, table, encoding
        As in :func:`ethica.fairness.audit`.
    protected
        Column names or :class:`~ethica.data.Bins` with fixed edges.
    groups
        The public groups of each protected column: ``{"sex": ["Male", "Female"]}`` or
        ``["sex=Male,Female"]``. Rows with other values are not counted.
    positive_label, positive_prediction
        The values meaning "positive" (default ``1``; the prediction's default is the
        label's). Compared as numbers with a numeric (or numeric-text) column.
    privacy
        The audit's cost: ``PureDP(epsilon)`` (discrete Laplace noise), ``ZCDP(rho)``
        (discrete Gaussian) or ``ApproxDP`` (discrete Laplace; its delta is unused).
    privacy_unit
        ``Rows()`` (default) or ``UserLevel(column, max_groups_per_user,
        max_rows_per_group)``; with user-level privacy the audit covers the bounded rows.
    ledger, dataset
        Charge a registered dataset's budget (both needed together).
    reference, max_order, min_group_size, harm, tolerance, confidence
        As in :func:`ethica.fairness.audit_counts` (not ``harm="calibration"``).
    request_id
        Makes a retry safe with a ledger (the stored release is returned, no new noise).
    unsupported
        Options of :func:`ethica.fairness.audit` a private audit does not offer, by name;
        any that is set is refused.

    Returns
    -------
    PrivateAuditResult

    Raises
    ------
    InvalidParameterError, SchemaError
        Refused for free, before any charge.
    BudgetExceededError
        The budget left is too small; nothing was read or charged.
    ReleaseFailedError
        The release failed after the charge (generic message; the charge stands).
    """
    if not isinstance(privacy, Budget):
        raise InvalidParameterError(
            f"privacy={privacy!r} is not a budget; pass PureDP(1), ZCDP(0.5) or ApproxDP(1, 1e-9)."
        )
    check_private_settings(harm, tolerance, confidence, min_group_size)
    refused = [name for name, value in (unsupported or {}).items() if value is not None]
    if refused:
        raise InvalidParameterError(
            f"a private audit does not take {', '.join(refused)}: it reads a table by column "
            "names (source, label=, prediction=, protected=, groups=) on the default engine, "
            "and rich subgroups would need their own DP search; drop those options."
        )
    if source is None or label is None or protected is None:
        raise InvalidParameterError(
            "a private audit needs source, label= and protected=: audit(table, label='y', "
            "prediction='yhat', protected=['sex'], groups={'sex': ['F', 'M']}, privacy=PureDP(1))."
        )
    if (prediction is None) == (score is None):
        raise InvalidParameterError(
            "a private audit needs exactly one of prediction= (a decision column) or score= "
            "(turned into decisions by score >= threshold)."
        )
    specs = _protected_specs(protected)
    if not specs:
        raise InvalidParameterError("protected is empty; name at least one protected column.")
    declared = _declared(specs, parse_groups(groups))
    attributes = tuple(declared)
    order = _check_max_order(max_order, attributes)
    wanted = _reference(reference, declared)
    if (ledger is None) != (dataset is None):
        raise InvalidParameterError(
            "a private audit charged to a ledger needs both ledger= and dataset= (the "
            "registered dataset's name); pass both, or neither for a budget of this call only."
        )
    unit = _unit(privacy_unit)
    if isinstance(unit, UserLevel) and unit.column in attributes:
        raise InvalidParameterError(
            f"the privacy unit's user column {unit.column!r} is also a protected attribute: "
            "the audit would release one cell per user. Name the column that identifies a "
            "person in privacy_unit=UserLevel(...), or audit without it."
        )
    positive = 1 if positive_label is None else positive_label
    rows = private_outcome_table(
        source,
        label=label,
        prediction=prediction,
        score=score,
        threshold=threshold,
        protected=specs,
        positive_label=positive,
        positive_prediction=positive if positive_prediction is None else positive_prediction,
        table=table,
        encoding=encoding,
    )
    by = (*attributes, LABEL, PREDICTION)
    keys: dict[str, Sequence[object]] = {a: list(declared[a]) for a in attributes}
    keys[LABEL], keys[PREDICTION] = [0, 1], [0, 1]
    session = Session(
        rows,
        privacy_unit=unit,
        budget=privacy,
        ledger=ledger,
        dataset=dataset,
        confidence=confidence,
    )
    query = Count(by=by, keys=keys)
    release = session.evaluate(query, privacy, request_id=request_id)
    released = release.tables[0]
    cells = np.zeros((*(len(declared[a]) for a in attributes), 2, 2), dtype=np.int64)
    index = {a: {v: i for i, v in enumerate(declared[a])} for a in attributes}
    for key, value in zip(released.keys, released.values, strict=True):
        position = tuple(index[a][str(k)] for a, k in zip(attributes, key, strict=False))
        cells[(*position, _bit(key[-2]), _bit(key[-1]))] = round(value)
    name, parameter = next(iter(released.noise.items()))
    name = name.rsplit(".", 1)[-1]
    law = NoiseLaw(released.mechanism, float(Fraction(parameter)))
    description = str(source) if isinstance(source, str) else type(source).__name__
    notes = _notes(privacy, unit, law, cells.size, name)
    cost = PrivacyCost(
        budget=privacy.to_dict(),
        privacy_unit=unit.to_dict(),
        mechanism=law.mechanism,
        noise=dict(released.noise),
        cells=int(cells.size),
        dataset=dataset,
        power=(),
        release=release.to_dict(),
    )
    provenance: dict[str, Any] = {
        "source": description,
        "label": label,
        "prediction": prediction,
        "score": score,
        "threshold": threshold if score is not None else None,
        "positive_label": positive,
        "groups": {a: list(v) for a, v in declared.items()},
        "privacy": budget_text(privacy),
    }
    return private_audit_counts(
        cells,
        attributes=attributes,
        groups=declared,
        noise=law,
        reference=wanted,
        max_order=order,
        min_group_size=min_group_size,
        harm=harm,
        tolerance=tolerance,
        confidence=confidence,
        notes=notes,
        provenance=provenance,
        privacy=cost,
    )


def budget_text(budget: Budget) -> str:
    """``ε=1/2``, ``ρ=1/8`` or ``ε=1, δ=1/1000000000``: a budget in words, exact."""
    names = {"epsilon": "ε", "rho": "ρ", "delta": "δ"}
    doc = budget.to_dict()
    return ", ".join(f"{sym}={doc[key]}" for key, sym in names.items() if key in doc)


def _bit(value: object) -> int:
    return 1 if value in (1, True) else 0


def _notes(
    budget: Budget, unit: Rows | UserLevel, law: NoiseLaw, cells: int, name: str
) -> list[str]:
    who = (
        "one row"
        if isinstance(unit, Rows)
        else f"all rows of one {unit.column} (at most {unit.max_groups_per_user} cell(s) × "
        f"{unit.max_rows_per_group} row(s) each kept per user)"
    )
    return [
        f"Private audit: {cells} confusion counts (declared groups × label × decision) released "
        f"under {budget_text(budget)}, protecting {who}, with {law.mechanism} noise ({name} "
        f"{law.parameter:g}); every number here is computed from those noisy counts.",
        "Intervals cover sampling and noise: Wilson at level 1-α/2 over the box of true counts "
        "allowed by the exact noise law (each count's noise quantile at 1-α/4), differences "
        "[l_g - u_ref, u_g - l_ref]; verdicts: two one-sided tests per definition, "
        "Bonferroni across its comparisons; 'significant' is Bonferroni across every "
        "disparity. No p-values.",
        "Rows whose protected value is not a declared group, or whose label or decision is "
        "missing, are not counted (a row-local rule).",
    ]
