"""``ethica query --url URL --key KEY "SELECT ..." --epsilon E``: ask a running DP service.

The key may also come from ``$ETHICA_API_KEY`` (so it stays out of the shell history).
``--plan`` shows the interval the query would get, for free; without it the query is
released and charged. ``--json`` prints the service's JSON answer.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import app, console
from ethica.cli._budget import budget_from_options
from ethica.cli._output import json_text


@app.command("query")
def query(
    sql: Annotated[str, typer.Argument(help='DP SQL, e.g. "SELECT COUNT(*) FROM visits".')],
    url: Annotated[
        str, typer.Option(help="The service's URL.", envvar="ETHICA_URL")
    ] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None, typer.Option(help="Your API key (or $ETHICA_API_KEY).", envvar="ETHICA_API_KEY")
    ] = None,
    epsilon: Annotated[str | None, typer.Option(help="Epsilon to spend (pure DP).")] = None,
    rho: Annotated[str | None, typer.Option(help="Rho to spend (zCDP).")] = None,
    delta: Annotated[str | None, typer.Option(help="Delta, with --epsilon (approx. DP).")] = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Show the planned intervals only (free).")
    ] = False,
    request_id: Annotated[
        str | None, typer.Option(help="Makes a retry safe: charged once per id.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the JSON answer.")] = False,
) -> None:
    """Send a DP SQL query to an ``ethica serve`` service and print the noisy answer."""
    from ethica.service import Client

    if not key:
        raise InvalidParameterError(
            "give your API key: --key KEY or the ETHICA_API_KEY environment variable."
        )
    budget = budget_from_options(epsilon, rho, delta)
    spend = {n: str(getattr(budget, n)) for n in budget._fields}
    with Client(url, key) as client:
        if plan:
            answer = client.plan(sql, spend)
        else:
            answer = client.query(sql, spend, request_id=request_id)
    if json_output:
        typer.echo(json_text(answer))
        return
    if plan:
        _show_plan(answer)
    else:
        _show_release(answer)


def _remaining(answer: dict[str, Any]) -> str:
    left = answer.get("remaining") or {}
    return ", ".join(f"{k}={v}" for k, v in left.items() if k in ("epsilon", "rho", "delta"))


def _show_plan(answer: dict[str, Any]) -> None:
    table = Table("aggregate", "statistic", "± half-width", "note")
    for row in answer["aggregates"]:
        half = row.get("half_width")
        table.add_row(
            row["name"], row["statistic"], "" if half is None else f"{half:g}", row["note"]
        )
    console.print(f"plan for {answer['sql']} (free; {100 * answer['confidence']:g}% intervals)")
    console.print(table)
    console.print(f"remaining: {_remaining(answer)}")


def _show_release(answer: dict[str, Any]) -> None:
    console.print(f"{answer['sql']}  ({100 * answer['confidence']:g}% intervals)")
    for released in answer["tables"]:
        by = list(released.get("by") or [])
        table = Table(*by, released["name"], "interval")
        keys = released.get("keys") or [[]] * len(released["values"])
        for key, value, low, high in zip(
            keys, released["values"], released["ci_low"], released["ci_high"], strict=True
        ):
            interval = "" if low is None else f"[{low:g}, {high:g}]"
            shown = "" if value is None else f"{value:g}"
            table.add_row(*(str(k) for k in key), shown, interval)
        console.print(table)
    console.print(f"remaining: {_remaining(answer)}")
