"""``ethica audit``: does a model's output discriminate, for whom, and how sure are we."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import app, console, err_console
from ethica.cli._audit_privacy import (
    DatasetOption,
    EpsilonOption,
    GroupsOption,
    LedgerOption,
    PrivacyUnitOption,
    RhoOption,
    UserCellsOption,
    UserRowsOption,
    print_privacy,
    privacy_arguments,
)
from ethica.cli._flags import as_flags
from ethica.cli._options import parse_key_values, parse_list, parse_scalar
from ethica.cli._output import (
    EncodingOption,
    HtmlOption,
    JsonOption,
    check_output_paths,
    emit,
    shown_warnings,
)
from ethica.cli._progress import working
from ethica.fairness._registry import HARM_DEFINITIONS

if TYPE_CHECKING:
    from ethica.data import Bins
    from ethica.fairness import AuditResult
    from ethica.report import Section

HARMS = tuple(HARM_DEFINITIONS)
BACKENDS = ("duckdb", "spark")


def parse_bins(values: list[str] | None) -> list[Bins]:
    """``age=25/45/65`` (edges) or ``age=q4`` (quartiles) -> :class:`ethica.data.Bins`."""
    from ethica.data import Bins

    specs = []
    for column, spec in parse_key_values(values, option="--bins").items():
        if spec.lower().startswith("q") and spec[1:].isdigit():
            specs.append(Bins(column, quantiles=int(spec[1:])))
            continue
        try:
            edges = [float(edge) for edge in spec.split("/")]
        except ValueError:
            raise InvalidParameterError(
                f"--bins {column}={spec}: expected edges like {column}=25/45/65 "
                f"or quantiles like {column}=q4"
            ) from None
        specs.append(Bins(column, edges=edges))
    return specs


@app.command()
def audit(
    source: Annotated[str, typer.Argument(help="CSV/Parquet path, .duckdb file, or Ibis URL.")],
    label: Annotated[str, typer.Option(help="Column with the true outcome.")],
    protected: Annotated[
        list[str], typer.Option(help="Protected attribute columns, comma-separated.")
    ],
    prediction: Annotated[
        str | None, typer.Option(help="Column with the model's decision.")
    ] = None,
    score: Annotated[
        str | None, typer.Option(help="Column with the model's score in [0, 1].")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Decision threshold on the score.")] = 0.5,
    bins: Annotated[
        list[str] | None,
        typer.Option(help="Bin a numeric attribute: age=25/45/65 (edges) or age=q4 (quantiles)."),
    ] = None,
    positive_label: Annotated[
        str | None,
        typer.Option(help="Value of the label that is the positive outcome (default 1)."),
    ] = None,
    positive_prediction: Annotated[
        str | None,
        typer.Option(
            help="Value of the prediction that is the positive decision (default: the "
            "positive label)."
        ),
    ] = None,
    reference: Annotated[
        list[str] | None, typer.Option(help="Reference group, ATTR=VALUE (default: largest).")
    ] = None,
    harm: Annotated[
        str, typer.Option(help="Harm to protect from: " + ", ".join(HARMS) + ".")
    ] = "selection",
    tolerance: Annotated[
        float, typer.Option(help="Largest acceptable difference in rates (0-1).")
    ] = 0.05,
    max_order: Annotated[
        int | None, typer.Option(help="Largest intersection order (default: all).")
    ] = None,
    min_group_size: Annotated[int, typer.Option(help="Smallest group judged.")] = 30,
    max_groups: Annotated[
        int,
        typer.Option(help="Most distinct values a protected attribute may have (bin above)."),
    ] = 250,
    drop_missing: Annotated[
        bool, typer.Option(help="Drop rows whose label or prediction is missing.")
    ] = False,
    table: Annotated[str | None, typer.Option(help="Table name in a database source.")] = None,
    backend: Annotated[str, typer.Option(help="Engine: duckdb or spark.")] = "duckdb",
    subgroups: Annotated[
        bool,
        typer.Option(
            "--subgroups",
            help="Also find the most unfair rich subgroup (linear threshold) and conjunction "
            "of protected values for the harm's rate, from the counts.",
        ),
    ] = False,
    encoding: EncodingOption = None,
    epsilon: EpsilonOption = None,
    rho: RhoOption = None,
    groups: GroupsOption = None,
    privacy_unit: PrivacyUnitOption = "rows",
    max_cells_per_user: UserCellsOption = 1,
    max_rows_per_cell: UserRowsOption = 1,
    ledger: LedgerOption = None,
    dataset: DatasetOption = None,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Audit a table of decisions and outcomes for discrimination in the outputs.

    With --epsilon (or --rho) the audit is private: the confusion counts per declared group
    are released under differential privacy (charged to --dataset first) and every interval
    covers the sampling and the noise.
    """
    from ethica.fairness import audit as run_audit

    check_output_paths(json_path=json_path, html_path=html_path)
    if harm not in HARMS:
        raise InvalidParameterError(f"--harm {harm!r} is not one of {', '.join(HARMS)}")
    if backend not in BACKENDS:
        raise InvalidParameterError(f"--backend {backend!r} is not one of {', '.join(BACKENDS)}")
    binned = parse_bins(bins)
    attributes: list[Any] = parse_list(protected)
    for spec in binned:
        if spec.column in attributes:
            attributes[attributes.index(spec.column)] = spec
        else:
            attributes.append(spec)
    stack = ExitStack()
    private = privacy_arguments(
        stack,
        epsilon=epsilon,
        rho=rho,
        groups=groups,
        privacy_unit=privacy_unit,
        max_cells_per_user=max_cells_per_user,
        max_rows_per_cell=max_rows_per_cell,
        ledger=ledger,
        dataset=dataset,
    )
    with stack, shown_warnings(), working("Counting outcomes per group in the engine"):
        result = run_audit(
            source,
            label=label,
            prediction=prediction,
            score=score,
            threshold=threshold,
            protected=attributes,
            positive_label=None if positive_label is None else parse_scalar(positive_label),
            positive_prediction=(
                None if positive_prediction is None else parse_scalar(positive_prediction)
            ),
            reference=parse_key_values(reference, option="--reference") or None,
            max_order=max_order,
            min_group_size=min_group_size,
            harm=harm,
            tolerance=tolerance,
            drop_missing=drop_missing,
            table=table,
            backend=None if backend == "duckdb" else backend,
            subgroups=subgroups,
            max_groups=max_groups,
            encoding=encoding,
            **private,
        )
    emit(
        result.to_dict(),
        json_path=json_path,
        html_path=html_path,
        title="Fairness audit",
        sections=lambda: (_audit_section(result),),
        show=lambda: _show(result),
    )


def _show(result: AuditResult) -> None:
    print_audit(result)
    print_privacy(result)


def _audit_section(result: AuditResult) -> Section:
    from ethica.report import audit_section

    return audit_section(result)


def print_audit(result: AuditResult) -> None:
    """Rich tables: the headline, then verdicts, then the worst disparities."""
    from ethica.report._audit_section import group_label, headline_sentence, set_label

    styles = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}
    console.print(headline_sentence(result), highlight=False)
    verdicts = Table(title="Definitions", title_justify="left")
    for column in ("verdict", "definition", "groups", "worst group", "difference [95% CI]"):
        verdicts.add_column(column)
    for d in result.definitions:
        style = styles.get(d.verdict, "dim")
        verdicts.add_row(
            f"[{style}]{d.verdict}[/]",
            d.name.replace("_", " "),
            set_label(d.attributes),
            group_label(d.worst_group) if d.worst_group else "–",
            _interval(d.worst_difference),
        )
    console.print(verdicts)
    worst = Table(title="Largest disparities vs the reference group", title_justify="left")
    for column in ("groups", "metric", "group", "reference", "difference [95% CI]", "p (Holm)"):
        worst.add_column(column)
    for gap in result.worst_disparities(10):
        worst.add_row(
            set_label(gap.attributes),
            gap.metric,
            group_label(gap.group),
            group_label(gap.reference),
            _interval(gap.difference),
            "–" if gap.p_holm is None else f"{gap.p_holm:.2g}" + (" *" if gap.significant else ""),
        )
    console.print(worst)
    if result.subgroups:
        print_subgroups(result)
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {escape(as_flags(note))}", highlight=False)


def print_subgroups(result: AuditResult) -> None:
    """The most gamma-unfair subgroups: size x |rate - overall rate| (Kearns et al. 2018)."""
    found = Table(
        title="Most unfair subgroups (gamma = share of rows x |rate - overall rate|)",
        title_justify="left",
    )
    for column in ("shape", "subgroup", "metric", "share", "rate", "overall", "gamma"):
        found.add_column(column, overflow="fold")
    for s in result.subgroups:
        found.add_row(
            s.shape,
            escape(s.description),
            s.metric,
            f"{s.size:.3f}",
            f"{s.group_rate:.3f}",
            f"{s.overall_rate:.3f}",
            f"{s.gamma_unfairness:.4f}",
        )
    console.print(found)


def _interval(iv: Any) -> str:
    if iv.value is None:
        return "undefined"
    if iv.ci_low is None:
        return f"{iv.value:+.3f}"
    return f"{iv.value:+.3f} [{iv.ci_low:+.3f}, {iv.ci_high:+.3f}]"
