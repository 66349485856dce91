"""The record schema of the census reconstruction attack, a synthetic block population, tables.

A *record* is one person: a category for each attribute of a :class:`CensusSchema`
(e.g. sex, five-year age band, race), living in one block. A statistical office publishes
*tables*: person counts by block and by some attributes or coarsenings of them (e.g. the
four broad age groups), as plain pandas frames with a ``count`` column.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.attacks._common import check_positive_int

__all__ = [
    "ADULT_TABLES",
    "CensusSchema",
    "adult_census_schema",
    "census_tables",
    "synthetic_blocks",
]

Category = Hashable


@dataclass(frozen=True)
class CensusSchema:
    """The attributes of a person record and the coarsenings tables may use.

    Parameters
    ----------
    attributes
        Record attribute -> its categories, in order (e.g. ``{"sex": ("Female", "Male")}``).
    coarsenings
        Derived column -> ``(attribute, mapping)``: a table column that groups the
        categories of ``attribute`` (e.g. ``"age_group": ("age_band", {"17-19": "17-29",
        ...})``). Every category of ``attribute`` must be mapped.
    block, count
        Names of the block column and of the count column in every table.
    """

    attributes: Mapping[str, tuple[Category, ...]]
    coarsenings: Mapping[str, tuple[str, Mapping[Category, Category]]] = field(default_factory=dict)
    block: str = "block"
    count: str = "count"

    def __post_init__(self) -> None:
        for name, (source, mapping) in self.coarsenings.items():
            if source not in self.attributes:
                raise InvalidParameterError(
                    f"coarsening {name!r} groups {source!r}, which is not an attribute "
                    f"({sorted(self.attributes)}); name one of the attributes."
                )
            missing = [c for c in self.attributes[source] if c not in mapping]
            if missing:
                raise InvalidParameterError(
                    f"coarsening {name!r} does not map the {source!r} categories {missing}; "
                    "map every category of the attribute."
                )

    @property
    def cells(self) -> list[tuple[Category, ...]]:
        """Every possible record: the product of the attributes' categories."""
        return list(itertools.product(*self.attributes.values()))

    def column_values(self, column: str) -> list[Category]:
        """The value of ``column`` (an attribute or a coarsening) for each of :attr:`cells`."""
        names = list(self.attributes)
        if column in self.attributes:
            position = names.index(column)
            return [cell[position] for cell in self.cells]
        if column in self.coarsenings:
            source, mapping = self.coarsenings[column]
            position = names.index(source)
            return [mapping[cell[position]] for cell in self.cells]
        raise SchemaError(
            f"column {column!r} is neither a record attribute ({list(self.attributes)}) nor "
            f"a coarsening ({list(self.coarsenings)}); rename it or add it to the schema."
        )


#: Five-year age bands of Adult's ages (17 to 90), the records' age attribute.
_AGE_EDGES = (17, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 91)
AGE_BANDS: tuple[str, ...] = tuple(f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(_AGE_EDGES))
#: Broad age groups, the coarsening used in the most detailed table.
_AGE_GROUPS = {17: "17-29", 30: "30-44", 45: "45-64", 65: "65-90"}


def _age_group(band: str) -> str:
    low = int(band.split("-")[0])
    return _AGE_GROUPS[max(edge for edge in _AGE_GROUPS if edge <= low)]


def adult_census_schema() -> CensusSchema:
    """The schema of the Adult-based population: sex x five-year age band x race.

    The coarsening ``age_group`` (17-29, 30-44, 45-64, 65-90) is what the most detailed
    table uses, as census tables of race by sex by age use broad bands.
    """
    return CensusSchema(
        attributes={
            "sex": ("Female", "Male"),
            "age_band": AGE_BANDS,
            "race": ("Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"),
        },
        coarsenings={"age_group": ("age_band", {b: _age_group(b) for b in AGE_BANDS})},
    )


#: The tables of the default release, as in a census block summary: name -> columns.
ADULT_TABLES: Mapping[str, tuple[str, ...]] = {
    "block x sex x age_group x race": ("sex", "age_group", "race"),
    "block x sex x age_band": ("sex", "age_band"),
    "block x race": ("race",),
    "block total": (),
}


def synthetic_blocks(
    people: pd.DataFrame,
    *,
    n_blocks: int = 30,
    mean_block_size: int = 10,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Assign real people (Adult rows) to synthetic census blocks.

    With a ``numpy.random.Generator`` seeded by ``seed``: each block's size is
    ``2 + Poisson(mean_block_size - 2)``; the people are drawn without replacement from
    ``people`` and cut into consecutive blocks. Ages become five-year bands
    (:data:`AGE_BANDS`).

    Parameters
    ----------
    people
        A frame with columns ``sex``, ``age`` (17-90) and ``race`` (e.g. ``load_adult()``).
    n_blocks, mean_block_size
        Number of blocks and their mean size (``>= 2``).
    seed
        Seed of the assignment.

    Returns
    -------
    pandas.DataFrame
        One row per person: ``block`` (0..n_blocks-1), ``sex``, ``age_band``, ``race``.
    """
    blocks = check_positive_int("n_blocks", n_blocks)
    mean = check_positive_int("mean_block_size", mean_block_size, minimum=2)
    missing = {"sex", "age", "race"} - set(people.columns)
    if missing:
        raise SchemaError(
            f"people lacks the columns {sorted(missing)}; pass a frame with sex, age and "
            "race, e.g. ethica.data.load_adult()."
        )
    rng = np.random.default_rng(seed)
    sizes = 2 + rng.poisson(mean - 2, size=blocks)
    if sizes.sum() > len(people):
        raise InvalidParameterError(
            f"{blocks} blocks of mean size {mean} need about {sizes.sum()} people but only "
            f"{len(people)} were given; use fewer or smaller blocks."
        )
    chosen = people.iloc[rng.permutation(len(people))[: sizes.sum()]]
    bands = pd.cut(chosen["age"], bins=list(_AGE_EDGES), right=False, labels=list(AGE_BANDS))
    if bands.isna().any():
        raise SchemaError(
            f"age must lie in 17..90, got {sorted(set(chosen['age'][bands.isna()]))[:5]}; "
            "drop or clip those rows."
        )
    return pd.DataFrame(
        {
            "block": np.repeat(np.arange(blocks), sizes),
            "sex": chosen["sex"].to_numpy(),
            "age_band": bands.astype(str).to_numpy(),
            "race": chosen["race"].to_numpy(),
        }
    )


def census_tables(
    population: pd.DataFrame,
    schema: CensusSchema,
    tables: Mapping[str, Sequence[str]] = ADULT_TABLES,
) -> dict[str, pd.DataFrame]:
    """Tabulate ``population`` exactly: for each table, person counts by block and columns.

    Every combination of the block and the columns' categories is listed, zeros included,
    as a statistical office's full table would be.
    """
    frame = population.copy()
    for name, (source, mapping) in schema.coarsenings.items():
        frame[name] = frame[source].map(mapping)
    block_values = sorted(frame[schema.block].unique())
    result = {}
    for name, columns in tables.items():
        keys = [schema.block, *columns]
        levels = [block_values] + [_categories(schema, c) for c in columns]
        index = (
            pd.MultiIndex.from_product(levels, names=keys)
            if columns
            else pd.Index(block_values, name=schema.block)
        )
        grouped = frame.groupby(keys if columns else schema.block, observed=True).size()
        counts = grouped.reindex(index, fill_value=0)
        result[name] = counts.rename(schema.count).reset_index()
    return result


def _categories(schema: CensusSchema, column: str) -> list[Category]:
    return list(dict.fromkeys(schema.column_values(column)))
