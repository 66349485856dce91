"""``ethica budget``: privacy budgets that persist across releases (the ledger)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import command_group, console
from ethica.cli._output import json_text
from ethica.privacy import ZCDP, ApproxDP, Budget, Ledger, PureDP

budget_app = command_group("budget", "Create and inspect privacy budgets in the persistent ledger.")

LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger",
        help="Ledger file (default: $ETHICA_LEDGER, else the user data directory).",
    ),
]


def parse_number(text: str | None, option: str) -> Fraction | None:
    """``"0.5"``, ``"1/2"`` or ``"1e-9"`` -> the exact Fraction (decimal strings stay exact)."""
    if text is None:
        return None
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InvalidParameterError(
            f"{option} {text!r} is not a finite number; write e.g. {option} 0.5 or {option} 1/2."
        ) from None


def budget_from_options(epsilon: str | None, rho: str | None, delta: str | None) -> Budget:
    """The budget named by exactly one of ``--epsilon`` (with optional ``--delta``) or ``--rho``."""
    eps, r, d = (
        parse_number(epsilon, "--epsilon"),
        parse_number(rho, "--rho"),
        parse_number(delta, "--delta"),
    )
    if (eps is None) == (r is None):
        raise InvalidParameterError(
            "give exactly one of --epsilon E (pure or, with --delta, approximate DP) or --rho R "
            "(zCDP)."
        )
    if r is not None:
        if d is not None:
            raise InvalidParameterError(
                "--delta goes with --epsilon only; a zCDP budget (--rho) has no delta."
            )
        return ZCDP(r)
    return PureDP(eps) if d is None else ApproxDP(eps, d)


def show_budget(budget: Budget) -> str:
    """``ε=1/2`` style text with exact values (and a decimal where it helps)."""
    names = {"epsilon": "ε", "rho": "ρ", "delta": "δ"}
    parts = []
    for name in budget._fields:
        value: Fraction = getattr(budget, name)
        exact = str(value)
        shown = exact if value.denominator == 1 or len(exact) <= 7 else f"{float(value):.6g}"
        parts.append(f"{names[name]}={shown}")
    return " ".join(parts)


@budget_app.command("create")
def create(
    dataset: Annotated[str, typer.Argument(help="Name of the dataset the budget protects.")],
    epsilon: Annotated[str | None, typer.Option(help="Total epsilon (pure DP).")] = None,
    rho: Annotated[str | None, typer.Option(help="Total rho (zero-concentrated DP).")] = None,
    delta: Annotated[
        str | None, typer.Option(help="Total delta, with --epsilon (approximate DP).")
    ] = None,
    ledger: LedgerOption = None,
) -> None:
    """Register DATASET with a total privacy budget."""
    total = budget_from_options(epsilon, rho, delta)
    with Ledger(ledger) as book:
        status = book.create_dataset(dataset, total)
        console.print(
            f"Created [bold]{status.name}[/] with budget {show_budget(total)} in {book.path}"
        )


@budget_app.command("show")
def show(
    dataset: Annotated[str | None, typer.Argument(help="One dataset (default: all).")] = None,
    ledger: LedgerOption = None,
) -> None:
    """Show total, spent and remaining budget per dataset."""
    with Ledger(ledger) as book:
        statuses = [book.status(dataset)] if dataset else book.datasets()
        table = Table(title=f"Privacy budgets in {book.path}")
        for column in ("dataset", "kind", "total", "spent", "remaining", "charges"):
            table.add_column(column, justify="right" if column == "charges" else "left")
        for s in statuses:
            table.add_row(
                s.name,
                type(s.total).__name__,
                show_budget(s.total),
                show_budget(s.spent),
                show_budget(s.remaining),
                str(s.charges),
            )
        if not statuses:
            console.print(
                f"No datasets in {book.path} yet; add one with "
                "`ethica budget create DATASET --epsilon E`."
            )
            return
        console.print(table)


@budget_app.command("history")
def history(
    dataset: Annotated[str, typer.Argument(help="The dataset whose charges to list.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ledger: LedgerOption = None,
) -> None:
    """List every charge against DATASET: what, when, who, cost, output hash, status."""
    with Ledger(ledger) as book:
        records = book.history(dataset)
        if as_json:
            typer.echo(json_text([r.to_dict() for r in records]))
            return
        table = Table(title=f"Charges against {dataset}")
        for column in ("id", "when (UTC)", "principal", "description", "cost", "status", "output"):
            table.add_column(column)
        for r in records:
            table.add_row(
                str(r.id),
                r.created_at[:19],
                r.principal,
                r.description,
                show_budget(r.cost),
                r.status if r.error is None else f"{r.status}: {r.error}",
                (r.output_hash or "")[:12],
            )
        console.print(table)
