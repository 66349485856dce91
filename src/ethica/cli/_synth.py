"""``ethica synth SOURCE``: a differentially private synthetic copy, and its report card."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import app, console
from ethica.cli._budget import LedgerOption, parse_number, show_budget
from ethica.cli._options import parse_list
from ethica.cli._output import (
    JsonOption,
    check_output_paths,
    emit,
    say_written,
    write_atomically,
)
from ethica.cli._progress import working


@app.command()
def synth(
    source: Annotated[str, typer.Argument(help="The private table (CSV, Parquet, .duckdb...).")],
    dataset: Annotated[str, typer.Option(help="Registered dataset whose budget pays.")],
    domain: Annotated[
        Path,
        typer.Option(
            help="Public domain of the columns (JSON/YAML: categories, bins, or quantile_bins "
            "with a public range per column); never read from the data."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Synthetic rows: .parquet or .csv.")],
    epsilon: Annotated[str, typer.Option(help="Privacy budget epsilon.")] = "1",
    delta: Annotated[str, typer.Option(help="Privacy budget delta.")] = "1e-9",
    method: Annotated[str, typer.Option(help="aim or mst.")] = "aim",
    workload: Annotated[
        str, typer.Option(help="all-2way, all-3way, or a JSON file of column lists.")
    ] = "all-2way",
    rows: Annotated[
        int | None, typer.Option(help="Synthetic rows to write (default: the noisy row count).")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write the report card (custodian only) as HTML.")
    ] = None,
    json_path: JsonOption = None,
    target: Annotated[
        str | None, typer.Option(help="Column to predict in the report card's utility check.")
    ] = None,
    protected: Annotated[
        list[str] | None, typer.Option(help="Protected columns for fairness fidelity.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for sampling the rows.")] = None,
    request_id: Annotated[
        str | None, typer.Option(help="Makes a retry safe: a replay returns the stored model.")
    ] = None,
    ledger: LedgerOption = None,
    binning_share: Annotated[
        str | None,
        typer.Option(
            help="Share of the budget spent on DP quantile edges of quantile_bins columns "
            "(default 0.1; only with such columns)."
        ),
    ] = None,
) -> None:
    """Fit MST or AIM on noisy marginals (GROUP BYs in the engine) and write synthetic rows.

    The budget (ApproxDP(epsilon, delta), accounted in zCDP) is charged to DATASET in the
    ledger before any row is read. The report card (--html/--json) compares the synthetic
    rows with the real data: it is NOT private, it is for the custodian only.
    """
    from ethica.privacy import ApproxDP, Ledger
    from ethica.privacy.synth import Domain, report_card, synthesize

    eps, dlt = parse_number(epsilon, "--epsilon"), parse_number(delta, "--delta")
    assert eps is not None and dlt is not None
    budget = ApproxDP(eps, dlt)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidParameterError(
            f"--out {str(out)!r} must end in .parquet or .csv; e.g. --out synth.parquet."
        )
    if rows is not None and rows < 1:
        raise InvalidParameterError(f"--rows must be a positive integer, got {rows}.")
    check_output_paths(out=out, html=html, json_path=json_path)
    dom = Domain.from_file(domain)
    groups = parse_list(protected)
    for column in [*groups, *([target] if target else [])]:
        dom[column]  # refused now, for free, if undeclared
    with Ledger(ledger) as book, working(f"Synthesizing {dataset} ({method})"):
        result = synthesize(
            source,
            domain=dom,
            budget=budget,
            method=method,
            workload=workload,
            ledger=book,
            dataset=dataset,
            request_id=request_id,
            binning_share=binning_share,
        )
    written = 0

    def write(path: Path) -> None:
        """Chunk by chunk, so any --rows fits in bounded memory."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        nonlocal written
        writer: pq.ParquetWriter | None = None
        try:
            for index, frame in enumerate(result.sample_chunks(rows, seed=seed)):
                written += len(frame)
                if out.suffix.lower() == ".csv":
                    frame.to_csv(
                        path, index=False, header=index == 0, mode="w" if index == 0 else "a"
                    )
                    continue
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()

    write_atomically(out, write)
    console.print(
        f"synthesized {written:,} rows of {dataset!r} with {method.upper()} under "
        f"{show_budget(budget)} (zCDP rho = {float(Fraction(result.rho)):.4g})",
        highlight=False,
    )
    for name, fact in result.binning.get("columns", {}).items():
        edges = ", ".join(f"{e:g}" for e in fact["edges"])
        console.print(f"{name}: DP quantile edges [{edges}]", highlight=False)
    say_written("synthetic rows", out)
    if html is None and json_path is None:
        return
    from ethica.report._synth_section import synth_section

    with working("Scoring the report card against the real data"):
        card = report_card(
            source, result, target=target, protected=groups, seed=0 if seed is None else seed
        )
    emit(
        {"model": result.to_dict(), "report_card": card.to_dict()},
        json_path=json_path,
        show=lambda: console.print(
            f"mean 2-way total variation: {card.workload_error['2way_mean']:.3f}", highlight=False
        ),
        html_path=html,
        title=f"Synthetic copy of {dataset}: report card (custodian only)",
        sections=lambda: [synth_section(card)],
    )
