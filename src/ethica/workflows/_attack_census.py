"""The census reconstruction attack run end to end: exact tables against DP releases of them.

Shared by ``ethica attack census`` and the demo. The science lives in
:mod:`ethica.attacks` (the attack) and :mod:`ethica.privacy` (the noise); this module
builds the Adult population, releases its tables under differential privacy at several
epsilons, attacks every release and collects the results.

The DP releases come from :func:`ethica.workflows._census_release.dp_census_tables` (discrete
Laplace per cell, made consistent); consistent tables are integer and add up, so the
attacker solves them exactly, as it would a statistical office's tables.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica._results import Result
from ethica.attacks import (
    CensusAttackResult,
    CensusSchema,
    LaplaceSampler,
    Progress,
    adult_census_schema,
    census_attack,
    census_schema_from_spec,
    census_tables,
    synthetic_blocks,
)
from ethica.attacks._common import frame_html
from ethica.workflows._census_release import check_epsilons, dp_census_tables

__all__ = [
    "CensusComparison",
    "infer_census_schema",
    "offset_progress",
    "own_tables_schema",
    "read_census_schema",
    "read_census_tables",
    "run_census_comparison",
]


def infer_census_schema(tables: Mapping[str, pd.DataFrame]) -> CensusSchema:
    """The schema of user tables that declare none: Adult's when they fit it, else the data's.

    Tables need a ``block`` and a ``count`` column. When every other column is one of the
    Adult schema's (``sex``, ``age_band``, ``age_group``, ``race``) and every value is one of
    its categories, the records have the Adult attributes those columns determine
    (``age_group`` stays a coarsening of ``age_band``). Otherwise every column is a record
    attribute whose categories are the values seen: a coarser column is then unrelated to
    its finer one, so declare the hierarchy (:func:`own_tables_schema` with a schema file)
    or the attack understates the risk.
    """
    adult = adult_census_schema()
    columns: dict[str, set[Hashable]] = {}
    for frame in tables.values():
        for column in frame.columns:
            if column not in (adult.block, adult.count):
                columns.setdefault(column, set()).update(frame[column].dropna().unique())
    if set(columns) <= set(adult.attributes) | set(adult.coarsenings) and all(
        values <= set(adult.column_values(column)) for column, values in columns.items()
    ):
        coarsenings = {c: adult.coarsenings[c] for c in columns if c in adult.coarsenings}
        used = set(columns) | {source for source, _ in coarsenings.values()}
        return CensusSchema(
            attributes={a: v for a, v in adult.attributes.items() if a in used},
            coarsenings=coarsenings,
        )
    return CensusSchema(
        attributes={c: tuple(sorted(values, key=str)) for c, values in columns.items()}
    )


def read_census_tables(paths: Sequence[Path]) -> dict[str, pd.DataFrame]:
    """Read published tables, one file per table, named by file name.

    A CSV file is read as the text it holds (no type guessing: a count written ``yes`` stays
    ``"yes"`` and is refused by the attack, categories keep their spelling); other files
    (Parquet, DuckDB) through :func:`ethica.data.read_rows`.
    """
    from ethica.data import read_rows

    tables: dict[str, pd.DataFrame] = {}
    for path in paths:
        if path.name in tables:
            raise InvalidParameterError(
                f"two tables are named {path.name!r}; give each table file its own name."
            )
        if path.suffix.lower() != ".csv":
            tables[path.name] = read_rows(path)
            continue
        if not path.is_file():
            raise InvalidParameterError(f"table file {str(path)!r} does not exist; check the path.")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        except pd.errors.EmptyDataError:
            raise SchemaError(
                f"table file {str(path)!r} is empty; it needs a header line (block, count and "
                "attribute columns) and one line per cell."
            ) from None
        except UnicodeDecodeError as error:
            raise SchemaError(
                f"table file {str(path)!r} is not UTF-8 text (byte {error.start}); save it as "
                "UTF-8."
            ) from None
        tables[path.name] = frame
    return tables


def read_census_schema(path: Path) -> dict[str, Any]:
    """Read a schema declaration (YAML or JSON) with every value kept as written (text)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidParameterError(f"schema file {str(path)!r} does not exist.") from None
    except UnicodeDecodeError:
        raise InvalidParameterError(f"schema file {str(path)!r} is not UTF-8 text.") from None
    try:
        document = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = "" if mark is None else f", line {mark.line + 1}"
        raise InvalidParameterError(
            f"schema file {str(path)!r}{line} is not valid YAML: "
            f"{getattr(error, 'problem', error)}."
        ) from None
    if not isinstance(document, dict):
        raise InvalidParameterError(
            f"schema file {str(path)!r} must hold a mapping with 'attributes:' (and optionally "
            "'coarsenings:', 'block:', 'count:'); see docs/attacks.md."
        )
    return document


def own_tables_schema(tables: Mapping[str, pd.DataFrame], schema_path: Path | None) -> CensusSchema:
    """The schema of the user's tables: declared in ``schema_path``, else inferred."""
    if schema_path is None:
        return infer_census_schema(tables)
    return census_schema_from_spec(
        read_census_schema(schema_path), tables, source=f"schema {schema_path.name!r}"
    )


@dataclass(frozen=True)
class CensusComparison(Result):
    """The census attack on exact tables beside the same attack on DP releases of them.

    Attributes
    ----------
    n_blocks, mean_block_size, seed
        How the Adult population was cut into blocks.
    exact
        The attack on the exact tables (with its random-guess-from-margins baseline).
    private
        ``(epsilon, result)`` for each DP release of the same tables.
    mechanism
        How the DP tables were released (one sentence).
    """

    n_blocks: int
    mean_block_size: int
    seed: int
    exact: CensusAttackResult
    private: tuple[tuple[float, CensusAttackResult], ...]
    mechanism: str

    def _document(self) -> Mapping[str, Any]:
        return {
            "attack": "census_reconstruction_comparison",
            "n_blocks": self.n_blocks,
            "mean_block_size": self.mean_block_size,
            "seed": self.seed,
            "mechanism": self.mechanism,
            "exact": self.exact,
            "private": [{"epsilon": e, "result": r} for e, r in self.private],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per release: records rebuilt and people re-identified, beside the guess.

        The guess is the random guess from the *exact* tables' margins, the best an
        attacker could do from the margins alone.
        """
        rows = [("exact", None, self.exact), *(("dp", e, r) for e, r in self.private)]
        return pd.DataFrame(
            [
                {
                    "release": release,
                    "epsilon": epsilon,
                    "records_rebuilt_share": result.records_matched_share,
                    "marginal_guess_share": self.exact.baseline_matched_share,
                    "reidentified": result.reidentified,
                    "marginal_guess_reidentified": self.exact.baseline_reidentified,
                    "unique_blocks_share": result.unique_blocks_share,
                }
                for release, epsilon, result in rows
            ]
        )

    def _repr_html_(self) -> str:
        return frame_html(
            f"Census reconstruction, exact vs DP tables ({self.exact.n_people} people, "
            f"{self.n_blocks} blocks)",
            self.to_frame(),
        )


def offset_progress(progress: Progress | None, start: int, total: int) -> Progress | None:
    """A callback reporting a sub-run's ``done`` as ``start + done`` out of ``total``."""
    if progress is None:
        return None
    report: Callable[[int, int], None] = progress
    return lambda done, _: report(start + done, total)


def run_census_comparison(
    people: pd.DataFrame,
    *,
    n_blocks: int = 100,
    mean_block_size: int = 8,
    seed: int = 0,
    epsilons: Sequence[float] = (0.25, 1.0, 4.0),
    consistent: bool = True,
    sampler: LaplaceSampler | None = None,
    progress: Progress | None = None,
) -> CensusComparison:
    """Cut ``people`` into blocks, publish their tables exactly and under DP, attack each.

    Parameters
    ----------
    people
        Frame with ``sex``, ``age`` and ``race`` (e.g. ``ethica.datasets.load_adult()``).
    n_blocks, mean_block_size, seed
        As in :func:`ethica.attacks.synthetic_blocks`.
    epsilons
        Total privacy loss of each DP release of the tables (each ``> 0``); empty for none.
    consistent
        Make each DP release consistent (integer, additive) and attack it as exact tables,
        uniqueness proofs included (default); else clamp the noisy counts at 0 and attack
        them by least deviation.
    sampler
        Discrete Laplace sampler for the DP releases (default: exact, OS CSPRNG).
    progress
        ``progress(done, total)`` after each block of each release and attack.
    """
    private_epsilons = check_epsilons(epsilons)
    schema = adult_census_schema()
    population = synthetic_blocks(
        people, n_blocks=n_blocks, mean_block_size=mean_block_size, seed=seed
    )
    tables = census_tables(population, schema)
    steps = 2 if consistent else 1
    total = n_blocks * (1 + steps * len(private_epsilons))
    exact = census_attack(population, schema, tables, progress=offset_progress(progress, 0, total))
    private = []
    for i, epsilon in enumerate(private_epsilons):
        start = n_blocks * (1 + steps * i)
        released, _ = dp_census_tables(
            tables,
            schema,
            epsilon,
            consistent=consistent,
            sampler=sampler,
            progress=offset_progress(progress, start, total),
        )
        result = census_attack(
            population,
            schema,
            released,
            exact=consistent,
            check_uniqueness=consistent,
            progress=offset_progress(progress, start + (steps - 1) * n_blocks, total),
        )
        private.append((epsilon, result))
    return CensusComparison(
        n_blocks=n_blocks,
        mean_block_size=mean_block_size,
        seed=seed,
        exact=exact,
        private=tuple(private),
        mechanism=(
            f"each of the {len(tables)} tables' cells plus discrete Laplace noise of scale "
            f"{len(tables)}/epsilon (sensitivity 1 per table, one person added or removed; "
            "the tables compose to epsilon-DP), then "
            + (
                "made consistent per block (least squares and controlled rounding: integer, "
                "non-negative, additive) and attacked as exact tables"
                if consistent
                else "clamped at 0 and attacked by least deviation"
            )
        ),
    )
