"""Options and data loading shared by the fair-learning commands (``frontier``, ``proxies``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ethica.cli._options import parse_list, parse_scalar
from ethica.cli._progress import working
from ethica.fairness._registry import CONSTRAINT_NAMES

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
    str,
    typer.Option(
        help="Fairness constraint: "
        + ", ".join(CONSTRAINT_NAMES)
        + " (fairlearn's true_positive_rate_parity is equal_opportunity)."
    ),
]


def load(params: Mapping[str, Any], *, include_protected: bool) -> LearningData:
    """Read, check, split and encode the rows (a spinner while it runs).

    ``params`` are the command's own parameters (``ctx.params``): every learning command
    declares the shared options above under the same names, and this is the one place that
    turns them into the loader's :class:`~ethica.workflows._learning.LearningOptions`.
    """
    from ethica.workflows._learning import LearningOptions, load_learning_data

    positive = params["positive_label"]
    options = LearningOptions(
        label=params["label"],
        protected=parse_list(params["protected"]),
        positive_label=None if positive is None else parse_scalar(positive),
        test=params["test"],
        test_fraction=params["test_fraction"],
        seed=params["seed"],
        exclude=parse_list(params["exclude"]),
        include_protected=include_protected,
    )
    with working("Reading and encoding the rows"):
        return load_learning_data(params["source"], options)
