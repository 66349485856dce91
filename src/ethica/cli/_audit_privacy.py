"""The privacy options of ``ethica audit``: ``--epsilon``/``--rho``, ``--groups``, the unit, the
ledger. Parsing only; the private audit itself is :mod:`ethica.workflows._private_audit`."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import console

if TYPE_CHECKING:
    from ethica.fairness import AuditResult

EpsilonOption = Annotated[
    str | None,
    typer.Option(
        "--epsilon",
        help="Run a private audit: release the confusion counts under epsilon-DP (exact: 0.1 "
        "is 1/10). Needs --groups for every protected column not binned.",
    ),
]
RhoOption = Annotated[
    str | None, typer.Option("--rho", help="Private audit under rho-zCDP (Gaussian noise).")
]
GroupsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--groups",
        help="Public groups of a protected column, ATTR=V1,V2 (repeat per column); rows with "
        "other values are not counted. Required by --epsilon/--rho.",
    ),
]
PrivacyUnitOption = Annotated[
    str,
    typer.Option(
        "--privacy-unit",
        help="Who a private audit protects: 'rows' or 'user:COLUMN' (all rows of one user).",
    ),
]
UserCellsOption = Annotated[
    int,
    typer.Option(
        "--max-cells-per-user", help="user:COLUMN only: cells one user may count in (L0)."
    ),
]
UserRowsOption = Annotated[
    int, typer.Option("--max-rows-per-cell", help="user:COLUMN only: rows per user and cell.")
]
LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger", help="Budget ledger file (default: $ETHICA_LEDGER, else the user data dir)."
    ),
]
DatasetOption = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Registered dataset whose budget pays for a private audit (charged "
        "before any row is read).",
    ),
]


def privacy_arguments(
    stack: ExitStack,
    *,
    epsilon: str | None,
    rho: str | None,
    groups: list[str] | None,
    privacy_unit: str,
    max_cells_per_user: int,
    max_rows_per_cell: int,
    ledger: Path | None,
    dataset: str | None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`ethica.audit` for the privacy options (empty: exact audit)."""
    if epsilon is None and rho is None:
        given = [
            name
            for name, value in (
                ("--groups", groups),
                ("--ledger", ledger),
                ("--dataset", dataset),
                ("--privacy-unit", None if privacy_unit == "rows" else privacy_unit),
            )
            if value
        ]
        if given:
            raise InvalidParameterError(
                f"{', '.join(given)} only apply to a private audit; add --epsilon E (or --rho R)."
            )
        return {}
    from ethica.cli._budget import budget_from_options
    from ethica.privacy import Ledger, UserLevel
    from ethica.privacy.release._spec import parse_unit

    budget = budget_from_options(epsilon, rho, None)
    unit_spec = parse_unit(privacy_unit)
    unit: Any = "rows"
    if unit_spec["kind"] == "user":
        unit = UserLevel(
            unit_spec["column"],
            max_groups_per_user=max_cells_per_user,
            max_rows_per_group=max_rows_per_cell,
        )
    if ledger is not None and dataset is None:
        raise InvalidParameterError(
            "--ledger needs --dataset NAME: the registered dataset whose budget pays."
        )
    book = stack.enter_context(Ledger(ledger)) if dataset is not None else None
    return {
        "privacy": budget,
        "groups": list(groups or []),
        "privacy_unit": unit,
        "ledger": book,
        "dataset": dataset,
    }


def print_privacy(result: AuditResult) -> None:
    """One line: what a private audit spent and what it cost in interval width."""
    privacy = getattr(result, "privacy", None)
    if privacy is None:
        return
    ratio = privacy.median_width_ratio()
    cost = (
        ""
        if ratio is None
        else f"; its intervals are {ratio:.2f}× as wide as an exact audit's (median)"
    )
    paid = f", charged to {privacy.dataset}" if privacy.dataset else ""
    console.print(
        f"Private audit: {privacy.cells} noisy counts ({privacy.mechanism}){paid}{cost}.",
        highlight=False,
    )
