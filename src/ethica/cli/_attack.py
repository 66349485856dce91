"""``ethica attack``: run the privacy attacks that show why exact statistics leak.

Three commands, each with a progress bar, a table on the terminal, ``--json`` and an
``--html`` report page: ``reconstruct`` (Dinur–Nissim from subset counts), ``census``
(microdata from block tables, exact vs DP) and ``membership`` (was a row in the training set).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ethica._exceptions import InfeasibleError, InvalidParameterError
from ethica.cli._app import command_group, console
from ethica.cli._output import EncodingOption, HtmlOption, JsonOption, emit
from ethica.cli._progress import bar

if TYPE_CHECKING:
    import pandas as pd

    from ethica.report import Section

attack_app = command_group(
    "attack", "Privacy attacks on real data: exact statistics leak; DP does not."
)

SeedOption = Annotated[int, typer.Option(help="Seed of the attack's own randomness.")]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def frame_table(frame: pd.DataFrame, title: str) -> Table:
    """A Rich table showing ``frame`` (floats to 3 decimals, missing as a dash)."""
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column).replace("_", " "))
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def finish(
    document: dict[str, Any],
    table: Table,
    *,
    json_path: str | None,
    html_path: Path | None,
    title: str,
    section: Callable[[], Section] | None,
    headline: str = "",
) -> None:
    """Write the HTML page and JSON asked for, then print the headline and the table."""

    def show() -> None:
        if headline:
            console.print(headline, highlight=False)
        console.print(table)

    emit(
        document,
        json_path=json_path,
        html_path=html_path if section is not None else None,
        title=title,
        sections=lambda: () if section is None else (section(),),
        show=show,
    )


@attack_app.command()
def reconstruct(
    n: Annotated[int, typer.Option("--n", help="People, each with one secret bit.")] = 200,
    queries: Annotated[
        int | None, typer.Option(help="Random subset-count queries (default 4 n).")
    ] = None,
    release: Annotated[
        str, typer.Option(help="How answers are published: exact, rounded, bounded or dp.")
    ] = "exact",
    value: Annotated[
        float | None,
        typer.Option(
            help="The release's parameter: rounded -> multiple R, bounded -> magnitude E, "
            "dp -> total epsilon."
        ),
    ] = None,
    sweep: Annotated[
        bool, typer.Option(help="Recovery against noise (k sqrt(n), k = 0..4) plus DP rows.")
    ] = False,
    epsilon: Annotated[
        list[float] | None, typer.Option(help="With --sweep: epsilon of a DP row (repeatable).")
    ] = None,
    trials: Annotated[int, typer.Option(help="With --sweep: runs per setting.")] = 3,
    seed: SeedOption = 0,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Rebuild n secret bits from answers to random subset counts (Dinur–Nissim 2003)."""
    from ethica.attacks import answer_release, recovery_sweep, subset_sum_attack
    from ethica.report import reconstruction_section

    result: Any
    if sweep:
        with bar("Attacking at each noise level") as update:
            result = recovery_sweep(
                n,
                queries,
                epsilons=tuple(epsilon or (1.0,)),
                trials=trials,
                seed=seed,
                progress=update,
            )
        frame = result.to_frame()
    else:
        chosen = answer_release(release, value)
        with bar(f"Reconstructing from {release} answers") as update:
            result = subset_sum_attack(n, queries, chosen, seed=seed, progress=update)
        frame = result.to_frame()[
            ["release", "error_std_over_sqrt_n", "recovered_fraction", "chance_fraction"]
        ].assign(parameter=next(iter(result.parameters.values()), None))
    finish(
        result.to_dict(),
        frame_table(frame, f"Dinur–Nissim reconstruction (n={n}, m={result.n_queries})"),
        json_path=json_path,
        html_path=html_path,
        title="Reconstruction from subset counts",
        section=lambda: reconstruction_section(result),
    )


@attack_app.command()
def census(
    blocks: Annotated[int, typer.Option(help="Blocks of real Adult people.")] = 100,
    block_size: Annotated[int, typer.Option(help="Mean people per block (>= 2).")] = 8,
    epsilon: Annotated[
        list[float] | None,
        typer.Option(help="Total epsilon of a DP release of the tables (repeatable)."),
    ] = None,
    tables: Annotated[
        list[Path] | None,
        typer.Option(
            help="Attack your own tables instead: CSV files with block, count and attribute "
            "columns, one file per table (repeatable)."
        ),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            help="With --tables: a YAML file declaring the record attributes and how coarser "
            "columns group finer ones (see docs/attacks.md); default: inferred from the tables."
        ),
    ] = None,
    consistent: Annotated[
        bool,
        typer.Option(help="Make each DP release consistent (integer, additive) before the attack."),
    ] = True,
    noisy: Annotated[
        bool, typer.Option(help="With --tables: they are noisy, find the closest records.")
    ] = False,
    seed: SeedOption = 0,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Rebuild people's records from census-style block tables, exact and under DP."""
    if tables:
        _attack_own_tables(tables, schema, noisy=noisy, json_path=json_path, html_path=html_path)
        return
    if schema is not None:
        raise InvalidParameterError(
            "--schema describes your own tables; pass them with --tables, or drop --schema "
            "to attack the Adult blocks."
        )
    from ethica.datasets import load_adult
    from ethica.report import census_section
    from ethica.workflows._attack_census import run_census_comparison
    from ethica.workflows._census_release import check_epsilons

    epsilons = check_epsilons(epsilon if epsilon is not None else (0.25, 1.0, 4.0))
    with bar("Rebuilding blocks from exact and DP tables") as update:
        result = run_census_comparison(
            load_adult("train"),
            n_blocks=blocks,
            mean_block_size=block_size,
            seed=seed,
            epsilons=epsilons,
            consistent=consistent,
            progress=update,
        )
    exact = result.exact
    finish(
        result.to_dict(),
        frame_table(result.to_frame(), "Records rebuilt, exact vs DP tables"),
        json_path=json_path,
        html_path=html_path,
        title="Census reconstruction",
        section=lambda: census_section(exact, result.private, mechanism=result.mechanism),
        headline=(
            f"{exact.n_people} people in {exact.n_blocks} blocks; DP release: {result.mechanism}."
        ),
    )


def _attack_own_tables(
    paths: list[Path],
    schema_path: Path | None,
    *,
    noisy: bool,
    json_path: str | None,
    html_path: Path | None,
) -> None:
    from ethica.attacks import reconstruct_blocks
    from ethica.workflows._attack_census import own_tables_schema, read_census_tables

    if html_path is not None:
        raise InvalidParameterError(
            "--html needs the true records to score the attack, which --tables does not "
            "have; use --json PATH for the rebuilt records, or drop --tables."
        )
    frames = read_census_tables(paths)
    schema = own_tables_schema(frames, schema_path)
    try:
        with bar("Rebuilding blocks from your tables") as update:
            rebuilt = reconstruct_blocks(frames, schema, exact=not noisy, progress=update)
    except InfeasibleError as error:
        if noisy:
            raise
        raise InfeasibleError(f"{error} On the command line: add --noisy.") from error
    frame = rebuilt.to_frame()
    unique = sum(bool(u) for u in rebuilt.unique)
    share = f" ({100 * unique / len(frame):.0f}%)" if len(frame) else ""
    hint = (
        " No --schema was given and the columns are not Adult's, so each column was taken "
        "as its own attribute; if some columns group others (e.g. age groups of age bands), "
        "declare it with --schema or the attack understates the risk."
        if schema_path is None and not schema.coarsenings and len(schema.attributes) > 1
        else ""
    )
    finish(
        rebuilt.to_dict(),
        frame_table(frame, "Rebuilt blocks"),
        json_path=json_path,
        html_path=None,
        title="Census reconstruction",
        section=None,
        headline=(
            f"Rebuilt {int(frame['people'].sum())} people in {len(frame)} blocks; {unique} "
            f"blocks{share} have exactly one solution, so an attacker knows those records "
            f"are right.{hint}"
        ),
    )


@attack_app.command()
def membership(
    source: Annotated[
        str | None, typer.Argument(help="CSV/Parquet of labelled rows (default: UCI Adult).")
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Label column (default for Adult: income).")
    ] = None,
    positive_label: Annotated[
        str | None, typer.Option(help="The label's positive value (default 1; Adult: >50K).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Target model: tree, forest or logistic (repeatable; default tree and logistic)."
        ),
    ] = None,
    members: Annotated[
        int, typer.Option(help="Training rows of each model (the table needs 4x as many).")
    ] = 1500,
    shadows: Annotated[int, typer.Option(help="Shadow models of the shadow attack.")] = 4,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="Columns that are not features (identifiers, weights, columns computed from "
            "the label), comma-separated."
        ),
    ] = None,
    drop_missing: Annotated[
        bool, typer.Option(help="Drop rows whose label is missing (default: refuse them).")
    ] = False,
    seed: SeedOption = 0,
    encoding: EncodingOption = None,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Tell a model's training rows from held-out rows (loss threshold and shadow models)."""
    from ethica.cli._options import parse_list, parse_scalar
    from ethica.cli._output import check_output_paths, shown_warnings
    from ethica.data import read_rows
    from ethica.report import membership_section
    from ethica.workflows._attack_membership import run_membership

    check_output_paths(json_path=json_path, html_path=html_path)

    if source is None:
        from ethica.datasets import load_adult

        rows = load_adult("train")
        label = label or "income"
        positive: Any = positive_label or ">50K"
    else:
        if label is None:
            raise InvalidParameterError(
                f"--label is required with a table ({source}); name its outcome column, "
                "e.g. --label outcome."
            )
        rows = read_rows(source, text_columns=[label], encoding=encoding)
        positive = None if positive_label is None else parse_scalar(positive_label)
    with shown_warnings(), bar("Training target and shadow models, scoring rows") as update:
        result = run_membership(
            rows,
            label=label,
            positive=positive,
            models=tuple(model or ("tree", "logistic")),
            n_members=members,
            n_shadows=shadows,
            seed=seed,
            exclude=parse_list(exclude),
            drop_missing=drop_missing,
            progress=update,
        )
    finish(
        result.to_dict(),
        frame_table(result.to_frame(), f"Membership inference ({members} members)"),
        json_path=json_path,
        html_path=html_path,
        title="Membership inference",
        section=lambda: membership_section(
            [(m.name, a) for m in result.models for a in m.attacks()]
        ),
    )
