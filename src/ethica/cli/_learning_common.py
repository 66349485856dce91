"""Options and data loading shared by the fair-learning commands (``frontier``, ``proxies``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ethica.cli._options import parse_list, parse_scalar
from ethica.cli._progress import working
from ethica.fairness._constraints import CONSTRAINTS

if TYPE_CHECKING:
    from ethica.workflows._learning import LearningData

__all__ = [
    "ConstraintOption",
    "ExcludeOption",
    "LabelOption",
    "PositiveOption",
    "ProtectedOption",
    "SeedOption",
    "SourceArgument",
    "TestFractionOption",
    "TestOption",
    "load",
]

SourceArgument = Annotated[
    str, typer.Argument(help="Training rows: CSV/Parquet path, .duckdb file, or Ibis URL.")
]
LabelOption = Annotated[str, typer.Option(help="Column with the true (binary) outcome.")]
ProtectedOption = Annotated[
    list[str], typer.Option(help="Protected attribute columns, comma-separated.")
]
PositiveOption = Annotated[
    str | None, typer.Option(help="Value of the label that is the favourable outcome.")
]
TestOption = Annotated[
    str | None, typer.Option("--test", help="Held-out rows (default: split SOURCE).")
]
TestFractionOption = Annotated[
    float, typer.Option(help="Share of SOURCE held out when --test is not given.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the split and the learners.")]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(help="Columns that are not features (e.g. a sampling weight), comma-separated."),
]
ConstraintOption = Annotated[
    str, typer.Option(help="Fairness constraint: " + ", ".join(CONSTRAINTS) + ".")
]


def load(
    source: str,
    *,
    label: str,
    protected: list[str],
    positive_label: str | None,
    test: str | None,
    test_fraction: float,
    seed: int,
    exclude: list[str] | None,
    include_protected: bool,
) -> LearningData:
    """Read, check, split and encode the rows (a spinner while it runs)."""
    from ethica.workflows._learning import load_learning_data

    with working("Reading and encoding the rows"):
        return load_learning_data(
            source,
            label=label,
            protected=parse_list(protected),
            positive=None if positive_label is None else parse_scalar(positive_label),
            test=test,
            test_fraction=test_fraction,
            seed=seed,
            exclude=parse_list(exclude),
            include_protected=include_protected,
        )
