"""``ethica verify SPEC.yaml``: audit a release spec empirically before publishing it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ethica.cli._app import app, console
from ethica.cli._output import HtmlOption, JsonOption, emit
from ethica.cli._progress import stages

VIOLATED_EXIT_CODE = 3
"""Exit code when an audit disproves a claim (2 is a usage error, 1 an internal error)."""


@app.command()
def verify(
    spec: Annotated[Path, typer.Argument(help="YAML release spec (as for `ethica release`).")],
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="The dataset's name for the report (default: the spec's)."),
    ] = None,
    runs: Annotated[
        int, typer.Option(help="Runs per data set of each neighbouring pair.")
    ] = 20_000,
    confidence: Annotated[
        float, typer.Option(help="Confidence of each query's lower bound on epsilon.")
    ] = 0.99,
    sample: Annotated[
        int,
        typer.Option(help="Rows (or users, under user-level privacy) of the data to audit on."),
    ] = 1_000,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Audit every query of a release spec on neighbouring copies of your data.

    Each query runs many times, as released, on pairs of data sets made from yours that
    differ by one row or one user (adversarial ones included: values on and beyond the
    bounds, half a rounding step inside them, NULLs, a user with many rows). The event that
    best tells each pair apart gives a lower bound on epsilon at the stated confidence.
    Nothing is released and no budget is spent (no ledger is opened); the report stays with
    you. Exits with code 3 when a lower bound exceeds the claimed epsilon.
    """
    from ethica.report import Section
    from ethica.workflows._verify import verify_spec

    with stages("Auditing the spec's queries") as advance:
        result = verify_spec(
            spec,
            dataset=dataset,
            runs=runs,
            confidence=confidence,
            sample=sample,
            progress=lambda name: advance(f"auditing {name!r}"),
        )

    def show() -> None:
        table = Table(title=f"Privacy audit of {spec} ({result.dataset})", title_justify="left")
        for column in ("query", "claimed ε", "ε lower bound", "worst pair", "verdict"):
            table.add_column(column)
        for _, row in result.to_frame().iterrows():
            bound = row["epsilon_lower_bound"]
            table.add_row(
                str(row["query"]),
                f"{row['claimed_epsilon']:.4g}" if bound == bound else "–",
                f"{bound:.4g}" if bound == bound else "–",
                str(row["worst_pair"]),
                str(row["verdict"]),
            )
        console.print(table)
        console.print(
            f"{runs:,} runs per data set, {100 * confidence:g}% confidence, on "
            f"{result.base_rows:,} rows; nothing released, no budget spent.",
            highlight=False,
        )

    emit(
        result.to_dict(),
        json_path=json_path,
        show=show,
        html_path=html_path,
        title=f"Privacy audit: {result.title}",
        sections=lambda: [
            Section(
                id="verify",
                title="Empirical privacy audit",
                html=result._repr_html_(),
                lead="Lower bounds on epsilon from many runs on neighbouring copies of the data.",
            )
        ],
    )
    if result.violated:
        raise typer.Exit(VIOLATED_EXIT_CODE)
