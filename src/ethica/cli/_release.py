"""``ethica release SPEC.yaml`` and ``ethica plan``: publish DP statistics, and plan a budget."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ethica._exceptions import DataSourceError, InvalidParameterError
from ethica.cli._app import app, console
from ethica.cli._options import parse_list
from ethica.cli._output import (
    JsonOption,
    emit,
    json_text,
    render_page,
    say_written,
    write_atomically,
    write_text_atomically,
)
from ethica.cli._progress import working

if TYPE_CHECKING:
    from ethica.privacy import Release, ReleasedTable

_TARGET = re.compile(
    r"^\s*(?:±|\+-|\+/-)?\s*([0-9]*\.?[0-9]+)\s*(?:at\s*([0-9]*\.?[0-9]+)\s*%)?\s*$"
)
_DEFAULT_EPSILONS = "0.01,0.02,0.05,0.1,0.2,0.5,1,2,5"


def parse_target(text: str, confidence: float) -> tuple[float, float]:
    """``"±25 at 95%"`` -> ``(25.0, 0.95)``; ``"25"`` keeps ``confidence``."""
    match = _TARGET.match(text)
    if match is None:
        raise InvalidParameterError(
            f"--target {text!r} is not an error target; write e.g. --target '±25 at 95%' "
            "or --target 25 --confidence 0.95."
        )
    level = float(match.group(2)) / 100 if match.group(2) else confidence
    return float(match.group(1)), level


@app.command()
def plan(
    target: Annotated[str, typer.Option(help="Error target, e.g. '±25 at 95%'.")] = "±25 at 95%",
    statistic: Annotated[str, typer.Option(help="count or sum.")] = "count",
    bound: Annotated[
        float | None, typer.Option(help="For a sum: max(|lower|, |upper|) of the clamp.")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    kind: Annotated[str, typer.Option(help="pure (Laplace) or zcdp (Gaussian).")] = "pure",
    max_groups: Annotated[int, typer.Option(help="User-level: groups per user (L0).")] = 1,
    max_rows: Annotated[int, typer.Option(help="User-level: rows per group (L∞).")] = 1,
    epsilons: Annotated[
        str, typer.Option(help="Budgets for the error table (epsilon or rho), comma-separated.")
    ] = _DEFAULT_EPSILONS,
    figure: Annotated[
        Path | None, typer.Option(help="Write the error-vs-budget curve as SVG.")
    ] = None,
    json_path: JsonOption = None,
) -> None:
    """The budget a query needs for an error target, and its error-vs-budget table."""
    from ethica.privacy import error_table, plan_budget

    half_width, level = parse_target(target, confidence)
    if statistic not in ("count", "sum"):
        raise InvalidParameterError(f"--statistic must be count or sum, got {statistic!r}.")
    unit_value = 1.0
    if statistic == "sum":
        if bound is None or bound <= 0:
            raise InvalidParameterError(
                "--statistic sum needs --bound B > 0, the clamp max(|lower|, |upper|)."
            )
        unit_value = bound / 1000  # the default grid of a Sum query
    per_row = Fraction(1000 if statistic == "sum" else 1)
    l1 = per_row * max_groups * max_rows
    l2_squared = per_row**2 * max_groups * max_rows**2
    budget = plan_budget(l1, l2_squared, half_width / unit_value, level, kind)
    values = [Fraction(v) for v in parse_list([epsilons])]
    rows = [
        {**row, "half_width": row["half_width"] * unit_value}
        for row in error_table(l1, l2_squared, values, level, kind)
    ]
    out = {"target": half_width, "confidence": level, "budget": budget.to_dict(), "curve": rows}
    axis = "epsilon" if kind == "pure" else "rho"
    if figure is not None:
        _plan_figure(rows, figure, axis)

    def show() -> None:
        console.print(
            f"±{half_width:g} at {100 * level:g}% needs [bold]{budget}[/] "
            f"({statistic}, L1 sensitivity {float(l1 * Fraction(unit_value)):g})",
            highlight=False,
        )
        table = Table(title="Error vs budget", title_justify="left")
        table.add_column(axis)
        table.add_column(f"± at {100 * level:g}%")
        for row in rows:
            table.add_row(f"{row[axis]:g}", f"{row['half_width']:,.6g}")
        console.print(table)

    emit(
        out,
        json_path=json_path,
        show=show,
        written=[] if figure is None else [("figure", figure)],
    )


def _plan_figure(rows: list[dict[str, float]], path: Path, axis: str) -> None:
    import pandas as pd

    from ethica.report._figures import chart_to_svg, line_chart

    chart = line_chart(
        pd.DataFrame(rows),
        x=axis,
        y="half_width",
        x_log=True,
        y_log=True,
        y_title="CI half-width",
    )
    write_text_atomically(path, chart_to_svg(chart))


@app.command()
def release(
    spec: Annotated[Path, typer.Argument(help="YAML spec: source, privacy unit, budget, queries.")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("release"),
    ledger: Annotated[
        Path | None,
        typer.Option(
            help="Budget ledger file (default: the spec's ledger, else $ETHICA_LEDGER, else "
            "the user data directory)."
        ),
    ] = None,
) -> None:
    """Release the spec's queries with DP: tables (CSV/Parquet), JSON metadata, HTML report.

    The budget is charged to the ledger (data set: the spec's ``dataset``, else the source
    path) before anything is written; a release over budget writes nothing.
    """
    from ethica.privacy import Ledger, Session, make_consistent
    from ethica.privacy.release._spec import parse_spec

    if not spec.is_file():
        raise DataSourceError(f"spec file not found: {str(spec)!r}; check the path.")
    parsed = parse_spec(spec.read_text(encoding="utf-8"), name=str(spec))
    source = Path(parsed.source)
    if "://" not in parsed.source and not source.is_absolute():
        source = spec.parent / source
    book = Ledger(ledger or (spec.parent / parsed.ledger if parsed.ledger else None))
    session = Session(
        source if "://" not in parsed.source else parsed.source,
        privacy_unit=parsed.privacy_unit,
        budget=parsed.budget,
        ledger=book,
        dataset=parsed.dataset,
        confidence=parsed.confidence,
        table=parsed.table,
    )
    with working("Aggregating in the engine and adding noise"):
        result = session.evaluate(parsed.batch, parsed.budget)
    if parsed.consistent:
        result = make_consistent(result)
    written = write_release(result, out, parsed.format, parsed.title)
    console.print(f"released {len(result.tables)} table(s) under {result.budget}", highlight=False)
    for kind, path in written:
        say_written(kind, path)


def _file_name(name: str, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return f"{index:02d}_{slug or 'table'}"


def _write_table(table: ReleasedTable, path: Path, fmt: str) -> None:
    frame = table.to_frame()
    if fmt == "parquet":
        by_as_text = frame.astype({c: str for c in table.by})
        write_atomically(path, lambda temporary: by_as_text.to_parquet(temporary, index=False))
    else:
        write_atomically(path, lambda temporary: frame.to_csv(temporary, index=False))


def write_release(result: Release, out: Path, fmt: str, title: str) -> list[tuple[str, Path]]:
    """Write every table, the JSON metadata and the HTML report into ``out``.

    Returns what was written, as (kind, path) pairs. The page is drawn before any file is
    written, and each file is written atomically.
    """
    from ethica.report._release_section import release_section

    page = render_page(title, [release_section(result)])
    written = []
    for i, table in enumerate(result.tables, start=1):
        path = out / f"{_file_name(table.name, i)}.{fmt}"
        _write_table(table, path, fmt)
        written.append(("table", path))
    metadata = out / "release.json"
    write_text_atomically(metadata, json_text(result.to_dict()))
    html = out / "report.html"
    write_text_atomically(html, page)
    return [*written, ("metadata", metadata), ("HTML report", html)]
