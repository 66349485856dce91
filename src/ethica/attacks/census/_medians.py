"""Published block medians of an ordered attribute (e.g. median age band) as IP constraints.

Definition: the (lower) median of a block's ``n >= 1`` people on an ordered attribute is the
category of the person at position ``floor((n - 1) / 2)`` (from 0) in sorted order. With
``L`` people strictly below category ``M`` and ``E`` people in ``M``, ``M`` is that median
iff ``L <= floor((n - 1) / 2) < L + E``, i.e., for integers, the two linear rows

    2 L - n <= -1      and      2 (L + E) - n >= 0,      with n = sum of all cells.

Census block summaries publish median ages beside the counts; Garfinkel, Abowd and
Martindale (2019) use them in their reconstruction.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import LinearConstraint

from ethica._exceptions import SchemaError
from ethica.attacks.census._data import CensusSchema

__all__ = ["census_medians", "median_constraints"]


def _median_attribute(medians: pd.DataFrame, schema: CensusSchema) -> str:
    columns = [c for c in medians.columns if c != schema.block]
    if (
        schema.block not in medians.columns
        or len(columns) != 1
        or columns[0] not in (schema.attributes)
    ):
        raise SchemaError(
            f"medians must have the columns {schema.block!r} and one record attribute "
            f"({list(schema.attributes)}), got {list(medians.columns)}."
        )
    return str(columns[0])


def census_medians(population: pd.DataFrame, schema: CensusSchema, attribute: str) -> pd.DataFrame:
    """Each block's lower median category of ``attribute`` (ordered as in the schema)."""
    if attribute not in schema.attributes:
        raise SchemaError(
            f"attribute {attribute!r} is not a record attribute; pick one of "
            f"{list(schema.attributes)}."
        )
    order = {c: i for i, c in enumerate(schema.attributes[attribute])}
    categories = schema.attributes[attribute]
    rank = population[attribute].map(order)
    median = rank.groupby(population[schema.block]).agg(
        lambda r: categories[int(np.sort(r.to_numpy())[(len(r) - 1) // 2])]
    )
    return median.rename(attribute).reset_index()


def median_constraints(
    medians: pd.DataFrame, blocks: Sequence[Hashable], schema: CensusSchema
) -> dict[Hashable, LinearConstraint]:
    """The two median rows of each block in ``medians``, over the schema's cells."""
    attribute = _median_attribute(medians, schema)
    categories = schema.attributes[attribute]
    unknown = set(medians[attribute]) - set(categories)
    extra = set(medians[schema.block]) - set(blocks)
    if unknown or extra or medians[schema.block].duplicated().any():
        raise SchemaError(
            f"medians must give one known {attribute!r} category per block of the tables; "
            f"unknown categories {sorted(map(str, unknown))}, blocks not in the tables "
            f"{sorted(map(str, extra))}, or a block listed twice."
        )
    position = {c: i for i, c in enumerate(categories)}
    cell_rank = np.array([position[v] for v in schema.column_values(attribute)])
    constraints = {}
    for block, category in zip(medians[schema.block], medians[attribute], strict=True):
        rank = position[category]
        below = 2.0 * (cell_rank < rank) - 1.0
        up_to = 2.0 * (cell_rank <= rank) - 1.0
        constraints[block] = LinearConstraint(
            np.vstack([below, up_to]), [-np.inf, 0.0], [-1.0, np.inf]
        )
    return constraints
