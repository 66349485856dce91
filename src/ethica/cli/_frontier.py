"""``ethica frontier``: the price of fairness, as an error/disparity Pareto frontier."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli import _learning_common as shared
from ethica.cli._app import app, console
from ethica.cli._audit import print_subgroups
from ethica.cli._options import parse_list
from ethica.cli._output import (
    HtmlOption,
    JsonOption,
    check_output_paths,
    emit,
    json_text,
    shown_warnings,
    write_atomically,
    write_text_atomically,
)
from ethica.cli._progress import bar, working
from ethica.fairness._registry import constraint_name

if TYPE_CHECKING:
    from ethica.fairness import AuditResult, FrontierResult
    from ethica.workflows._learning import LearningData

#: Format tag of the saved model bundle.
MODEL_FORMAT = "ethica-frontier-model/1.0"


def parse_bounds(values: list[str] | None) -> list[float] | None:
    """``["0,0.01", "0.05"]`` -> ``[0.0, 0.01, 0.05]`` (None when not given)."""
    items = parse_list(values)
    if not items:
        return None
    try:
        return [float(item) for item in items]
    except ValueError:
        raise InvalidParameterError(
            f"--bounds expects numbers in [0, 1] such as 0,0.01,0.05, got {items}."
        ) from None


@app.command()
def frontier(
    ctx: typer.Context,
    source: shared.SourceArgument,
    label: shared.LabelOption,
    protected: shared.ProtectedOption,
    constraint: shared.ConstraintOption = "demographic_parity",
    points: Annotated[
        int, typer.Option(help="Bounds swept, from 0 to the unconstrained model's disparity.")
    ] = 10,
    bounds: Annotated[
        list[str] | None, typer.Option(help="Explicit bounds in [0, 1] instead of --points.")
    ] = None,
    target_disparity: Annotated[
        float | None,
        typer.Option(help="Largest held-out disparity for the chosen model (default 0.01)."),
    ] = None,
    estimator: Annotated[
        str | None,
        typer.Option(
            help="Base learner: logistic-regression, decision-tree, gradient-boosting, or a "
            "class path; its fit must accept sample_weight."
        ),
    ] = None,
    test: shared.TestOption = None,
    test_fraction: shared.TestFractionOption = 0.3,
    positive_label: shared.PositiveOption = None,
    exclude: shared.ExcludeOption = None,
    seed: shared.SeedOption = 0,
    model_out: Annotated[
        Path | None,
        typer.Option(
            help="Save the chosen model (joblib: model, encoding, point) here, and its audit "
            "as JSON beside it (NAME.audit.json)."
        ),
    ] = None,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Train models under a fairness constraint at several bounds and show what each costs."""
    from ethica.workflows._learning import audit_model, resolve_estimator, run_frontier

    check_output_paths(json_path=json_path, html_path=html_path, model_out=model_out)
    constraint = constraint_name(constraint)  # a misspelt name fails before reading anything
    base = resolve_estimator(estimator)
    swept = parse_bounds(bounds)
    with shown_warnings():
        data = shared.load(ctx.params, include_protected=False)
    with bar("Training models along the frontier") as progress:
        result = run_frontier(
            data,
            constraint,
            points=points,
            bounds=swept,
            estimator=base,
            target_disparity=target_disparity,
            seed=seed,
            progress=progress,
        )
    with working("Auditing the chosen model on the held-out rows"):
        chosen_audit = audit_model(result.chosen_model, data, constraint)
    saved: list[tuple[str, Path]] = []
    if model_out is not None:
        save_model(model_out, result, data, chosen_audit)
        saved = [("model", model_out), ("model audit", audit_path(model_out))]

    def sections() -> tuple[Any, ...]:
        from ethica.report import audit_section, frontier_section

        return (
            frontier_section(result, chosen_audit=chosen_audit),
            audit_section(
                chosen_audit, section_id="chosen-audit", title="Audit of the chosen model"
            ),
        )

    def show() -> None:
        from ethica.report._audit_section import headline_sentence

        print_frontier(result, data)
        console.print(
            f"Chosen model on the held-out rows: {headline_sentence(chosen_audit)}", highlight=False
        )
        print_subgroups(chosen_audit)

    emit(
        result.to_dict(),
        title="Fairness frontier",
        sections=sections,
        json_path=json_path,
        html_path=html_path,
        show=show,
        written=saved,
    )


def audit_path(model_path: Path) -> Path:
    """Where the chosen model's audit goes: ``model.joblib`` -> ``model.audit.json``."""
    return model_path.with_suffix(".audit.json")


def save_model(
    path: Path, result: FrontierResult, data: LearningData, chosen_audit: AuditResult
) -> None:
    """Save the chosen model with its encoding (joblib) and its audit (JSON) beside it.

    Reuse: ``bundle = joblib.load(path)``, then
    ``bundle["model"].predict(bundle["encoding"].transform(rows).X)``.
    """
    import joblib

    bundle = {
        "format": MODEL_FORMAT,
        "model": result.chosen_model,
        "encoding": data.encoding,
        "constraint": result.constraint,
        "point": dataclasses.asdict(result.points[result.chosen]),
        "label": data.label,
        "protected": data.protected,
    }
    write_atomically(path, lambda temporary: joblib.dump(bundle, temporary))
    write_text_atomically(audit_path(path), json_text(chosen_audit.to_dict()))


def print_frontier(result: FrontierResult, data: LearningData) -> None:
    """The swept points as a table, then the hypervolume and the chosen point."""
    from ethica.report._learning_sections import frontier_sentence, hypervolume_sentence

    table = Table(
        title=f"{result.constraint} frontier; held out: {data.held_out}, {len(data.test.y):,} rows",
        title_justify="left",
    )
    for column in ("bound", "error", "disparity", "train error", "train disparity", ""):
        table.add_column(column, justify="left" if not column else "right")
    for i, p in enumerate(result.points):
        status = (
            "[bold green]chosen[/]"
            if i == result.chosen
            else "[dim]dominated[/]"
            if p.dominated
            else "frontier"
        )
        table.add_row(
            f"{p.bound:.4f}",
            f"{p.error:.4f}",
            f"{p.disparity:.4f}",
            f"{p.train_error:.4f}",
            f"{p.train_disparity:.4f}",
            status,
        )
    console.print(table)
    console.print(frontier_sentence(result), highlight=False)
    console.print(hypervolume_sentence(result), highlight=False)
