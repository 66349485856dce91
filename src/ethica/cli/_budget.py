"""``ethica budget``: privacy budgets that persist across releases (the ledger)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import command_group, console
from ethica.cli._output import json_text
from ethica.privacy.budget import ZCDP, ApproxDP, Budget, PureDP

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


def exact_text(value: Fraction) -> str:
    """``value`` as text that is never rounded up: the exact fraction when it is short
    (``1/10``, ``3/8``, ``1/1000000000``), else its first 10 significant digits cut toward
    zero, then ``…`` (``0.09999999999…`` for a remainder a hair below 0.1, never ``0.1``)."""
    exact = str(value)
    if len(exact) <= 15:
        return exact
    context = Context(prec=10, rounding=ROUND_DOWN)
    cut = context.divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{cut}…"


def show_budget(budget: Budget) -> str:
    """``ε=1/2 δ=1/1000000000`` style text with exact values (see :func:`exact_text`)."""
    names = {"epsilon": "ε", "rho": "ρ", "delta": "δ"}
    return " ".join(f"{names[n]}={exact_text(getattr(budget, n))}" for n in budget._fields)


def budget_options(budget: Budget) -> str:
    """The ``ethica budget create`` options that spell ``budget`` exactly."""
    return " ".join(f"--{n} {getattr(budget, n)}" for n in budget._fields)


def show_unit(unit: dict[str, Any] | None) -> str:
    """A registered privacy unit as its ``--privacy-unit`` spelling (``rows``, ``user:pid``)."""
    if unit is None:
        return "(none recorded)"
    return "rows" if unit.get("kind") == "rows" else f"user:{unit.get('column')}"


@budget_app.command("create")
def create(
    dataset: Annotated[str, typer.Argument(help="Name of the dataset the budget protects.")],
    epsilon: Annotated[str | None, typer.Option(help="Total epsilon (pure DP).")] = None,
    rho: Annotated[str | None, typer.Option(help="Total rho (zero-concentrated DP).")] = None,
    delta: Annotated[
        str | None, typer.Option(help="Total delta, with --epsilon (approximate DP).")
    ] = None,
    privacy_unit: Annotated[
        str,
        typer.Option(
            "--privacy-unit",
            help="Who the budget protects: 'rows' (one row) or 'user:COLUMN' (all rows of one "
            "value of COLUMN). Required; every release of DATASET must use this unit.",
        ),
    ] = ...,  # type: ignore[assignment]
    ledger: LedgerOption = None,
) -> None:
    """Register DATASET with a total privacy budget and the privacy unit it protects.

    Releases (``ethica release``, ``Session``) are charged only to registered datasets, and
    only under the registered unit: nothing creates a budget implicitly.
    """
    total = budget_from_options(epsilon, rho, delta)
    from ethica.privacy.release._spec import parse_unit

    unit = parse_unit(privacy_unit)
    from ethica.privacy.budget import Ledger

    with Ledger(ledger) as book:
        status = book.create_dataset(dataset, total, privacy_unit=unit)
        console.print(
            f"Created [bold]{status.name}[/] with budget {show_budget(total)}, privacy unit "
            f"{show_unit(status.privacy_unit)}, in {book.path}",
            highlight=False,
        )


@budget_app.command("set-unit")
def set_unit(
    dataset: Annotated[str, typer.Argument(help="A dataset registered without a privacy unit.")],
    privacy_unit: Annotated[
        str,
        typer.Option(
            "--privacy-unit", help="'rows' or 'user:COLUMN' (recorded once, never changed)."
        ),
    ] = ...,  # type: ignore[assignment]
    ledger: LedgerOption = None,
) -> None:
    """Record the privacy unit of a dataset from a ledger written before units were stored.

    A unit, once recorded, is permanent: releases under different units do not add up.
    """
    from ethica.privacy.release._spec import parse_unit

    unit = parse_unit(privacy_unit)
    from ethica.privacy.budget import Ledger

    with Ledger(ledger) as book:
        status = book.set_privacy_unit(dataset, unit)
        console.print(
            f"[bold]{status.name}[/] protects the privacy unit {show_unit(status.privacy_unit)}",
            highlight=False,
        )


@budget_app.command("show")
def show(
    dataset: Annotated[str | None, typer.Argument(help="One dataset (default: all).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (exact 'p/q' values) instead of a table.")
    ] = False,
    ledger: LedgerOption = None,
) -> None:
    """Show total, spent and remaining budget per dataset (exact; never rounded up)."""
    from ethica.privacy.budget import Ledger

    with Ledger(ledger) as book:
        statuses = [book.status(dataset)] if dataset else book.datasets()
        if as_json:
            typer.echo(json_text([s.to_dict() for s in statuses]))
            return
        table = Table(title=f"Privacy budgets in {book.path}")
        for column in ("dataset", "unit", "kind", "total", "spent", "remaining", "charges"):
            # fold, never truncate: a cut-off number could read as another number
            table.add_column(
                column, justify="right" if column == "charges" else "left", overflow="fold"
            )
        for s in statuses:
            table.add_row(
                s.name,
                show_unit(s.privacy_unit),
                type(s.total).__name__,
                show_budget(s.total),
                show_budget(s.spent),
                show_budget(s.remaining),
                str(s.charges),
            )
        if not statuses:
            console.print(
                f"No datasets in {book.path} yet; add one with "
                "`ethica budget create DATASET --epsilon E --privacy-unit rows|user:COLUMN`."
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
    from ethica.privacy.budget import Ledger

    with Ledger(ledger) as book:
        records = book.history(dataset)
        if as_json:
            typer.echo(json_text([r.to_dict() for r in records]))
            return
        table = Table(title=f"Charges against {dataset}")
        for column in ("id", "when (UTC)", "principal", "description", "cost", "status", "output"):
            table.add_column(column, overflow="fold")
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
