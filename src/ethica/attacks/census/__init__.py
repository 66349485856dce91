"""ethica.attacks.census: rebuild census microdata from published block tables.

The room of the census reconstruction attack (Abowd 2018; Garfinkel, Abowd and Martindale
2019), one module per step:

- :mod:`._data`: the record schema (:class:`CensusSchema`: attributes and coarsenings), the
  Adult-based block population and exact tabulation;
- :mod:`._tables`: published tables read, checked and turned into per-block linear systems;
- :mod:`._ip`: the integer program of one block and its uniqueness proof;
- :mod:`._medians`: published block medians as constraints;
- :mod:`._attack`: the attack and its scoring against the truth;
- :mod:`._results`: the frozen result objects;
- :mod:`._schema_spec`: a schema declared by the user for tables of any shape.
"""

from __future__ import annotations

from ethica.attacks.census._attack import (
    census_attack,
    marginal_guess_baseline,
    reconstruct_blocks,
)
from ethica.attacks.census._data import (
    ADULT_TABLES,
    CensusSchema,
    adult_census_schema,
    census_tables,
    synthetic_blocks,
)
from ethica.attacks.census._medians import census_medians
from ethica.attacks.census._results import BlockOutcome, BlockReconstruction, CensusAttackResult
from ethica.attacks.census._schema_spec import census_schema_from_spec

__all__ = [
    "ADULT_TABLES",
    "BlockOutcome",
    "BlockReconstruction",
    "CensusAttackResult",
    "CensusSchema",
    "adult_census_schema",
    "census_attack",
    "census_medians",
    "census_schema_from_spec",
    "census_tables",
    "marginal_guess_baseline",
    "reconstruct_blocks",
    "synthetic_blocks",
]
