"""``ethica proxies``: dropping the protected attribute is no guarantee of fairness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ethica.cli import _learning_common as shared
from ethica.cli._app import app, console
from ethica.cli._output import HtmlOption, JsonOption, check_output_paths, emit, shown_warnings
from ethica.cli._progress import working
from ethica.fairness._registry import constraint_name

if TYPE_CHECKING:
    from ethica.fairness import ProxyResult


@app.command()
def proxies(
    ctx: typer.Context,
    source: shared.SourceArgument,
    label: shared.LabelOption,
    protected: shared.ProtectedOption,
    constraint: shared.ConstraintOption = "demographic_parity",
    top: Annotated[int, typer.Option(help="Proxy features listed.")] = 10,
    test: shared.TestOption = None,
    test_fraction: shared.TestFractionOption = 0.3,
    positive_label: shared.PositiveOption = None,
    exclude: shared.ExcludeOption = None,
    seed: shared.SeedOption = 0,
    json_path: JsonOption = None,
    html_path: HtmlOption = None,
) -> None:
    """Train with and without the protected attribute; rank the features that stand in for it."""
    from ethica._exceptions import InvalidParameterError
    from ethica.workflows._learning import run_proxies

    check_output_paths(json_path=json_path, html_path=html_path)
    constraint = constraint_name(constraint)  # a misspelt name fails before reading anything
    if top < 1:
        raise InvalidParameterError(f"--top {top} must be at least 1; e.g. --top 10.")
    with shown_warnings():
        data = shared.load(ctx.params, include_protected=True)
    with working("Training with and without the protected attribute, ranking proxies"):
        result = run_proxies(data, constraint, top=top)

    def sections() -> tuple[Any, ...]:
        from ethica.report import proxies_section

        return (proxies_section(result),)

    emit(
        result.to_dict(),
        title="Proxies of the protected attribute",
        sections=sections,
        json_path=json_path,
        html_path=html_path,
        show=lambda: print_proxies(result),
    )


def print_proxies(result: ProxyResult) -> None:
    """The with/without comparison, then the ranked proxies."""
    from ethica.report._learning_sections import proxies_sentence

    comparison = Table(title=f"{result.constraint} on the held-out rows", title_justify="left")
    for column in ("model", "error", "disparity"):
        comparison.add_column(column, justify="right" if column != "model" else "left")
    protected = ", ".join(result.protected)
    comparison.add_row(
        f"with {protected}", f"{result.error_with:.4f}", f"{result.disparity_with:.4f}"
    )
    comparison.add_row(
        f"without {protected}", f"{result.error_without:.4f}", f"{result.disparity_without:.4f}"
    )
    console.print(comparison)
    ranked = Table(
        title=f"Features that predict {protected} (held-out AUC, 0.5 = chance)",
        title_justify="left",
    )
    for column in ("rank", "feature", "AUC"):
        ranked.add_column(column, justify="left" if column == "feature" else "right")
    for i, p in enumerate(result.proxies, start=1):
        ranked.add_row(str(i), p.feature, f"{p.auc:.3f}")
    console.print(ranked)
    console.print(proxies_sentence(result), highlight=False)
