"""ethica.attacks: the privacy attacks that make differential privacy necessary.

- Reconstruction from noisy subset counts (Dinur and Nissim 2003), by linear programming.
- Reconstruction of census microdata from published tables, by integer programming
  (the room :mod:`ethica.attacks.census`).
- Membership inference against trained classifiers (Yeom et al. 2018; Shokri et al. 2017).
"""

from __future__ import annotations

from ethica.attacks._answers import (
    AnswerRelease,
    BoundedNoiseAnswers,
    DiscreteLaplaceAnswers,
    ExactAnswers,
    LaplaceSampler,
    RoundedAnswers,
    answer_release,
)
from ethica.attacks._common import Progress
from ethica.attacks._membership import loss_threshold_attack, shadow_model_attack
from ethica.attacks._membership_result import MembershipResult
from ethica.attacks._results import RecoverySweep, SubsetSumResult, SweepPoint
from ethica.attacks._subset_sums import MAX_LP_CELLS, recovery_sweep, subset_sum_attack
from ethica.attacks.census import (
    ADULT_TABLES,
    BlockOutcome,
    BlockReconstruction,
    CensusAttackResult,
    CensusSchema,
    adult_census_schema,
    census_attack,
    census_medians,
    census_schema_from_spec,
    census_tables,
    marginal_guess_baseline,
    reconstruct_blocks,
    synthetic_blocks,
)

__all__ = [
    "ADULT_TABLES",
    "MAX_LP_CELLS",
    "AnswerRelease",
    "BlockOutcome",
    "BlockReconstruction",
    "BoundedNoiseAnswers",
    "CensusAttackResult",
    "CensusSchema",
    "DiscreteLaplaceAnswers",
    "ExactAnswers",
    "LaplaceSampler",
    "MembershipResult",
    "Progress",
    "RecoverySweep",
    "RoundedAnswers",
    "SubsetSumResult",
    "SweepPoint",
    "adult_census_schema",
    "answer_release",
    "census_attack",
    "census_medians",
    "census_schema_from_spec",
    "census_tables",
    "loss_threshold_attack",
    "marginal_guess_baseline",
    "reconstruct_blocks",
    "recovery_sweep",
    "shadow_model_attack",
    "subset_sum_attack",
    "synthetic_blocks",
]
