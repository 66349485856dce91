"""Results of the census microdata reconstruction: frozen, JSON-ready dataclasses."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ethica._results import Result, ResultPart
from ethica.attacks._common import frame_html
from ethica.attacks.census._data import CensusSchema

__all__ = ["BlockOutcome", "BlockReconstruction", "CensusAttackResult"]


@dataclass(frozen=True)
class BlockReconstruction(Result):
    """The records an attacker rebuilt from published tables (:func:`reconstruct_blocks`).

    Attributes
    ----------
    schema
        The record attributes.
    exact
        ``True`` when the tables were solved exactly, ``False`` for least deviation.
    blocks
        The blocks, in order.
    counts
        For each block, the number of people rebuilt in each cell of ``schema.cells``.
    unique
        For each block, whether the solution is provably the only one (``None``: not checked).
    deviation
        For each block, ``sum_k |published_k - rebuilt_k|`` (zero for exact tables).
    """

    schema: CensusSchema
    exact: bool
    blocks: tuple[Hashable, ...]
    counts: tuple[tuple[int, ...], ...]
    unique: tuple[bool | None, ...]
    deviation: tuple[float, ...]

    def records(self) -> pd.DataFrame:
        """The rebuilt person records: one row per person, block then attributes."""
        cells = self.schema.cells
        rows = [
            (block, *cells[c])
            for block, counts in zip(self.blocks, self.counts, strict=True)
            for c, k in enumerate(counts)
            for _ in range(k)
        ]
        return pd.DataFrame(rows, columns=[self.schema.block, *self.schema.attributes])

    def _document(self) -> Mapping[str, Any]:
        """The reconstruction, records as cell counts."""
        return {
            "attack": "census_reconstruction",
            "attributes": self.schema.attributes,
            "exact": self.exact,
            "blocks": [
                {
                    "block": block,
                    "people": sum(counts),
                    "unique": unique,
                    "deviation": deviation,
                    "cells": [
                        {"cell": self.schema.cells[c], "count": k}
                        for c, k in enumerate(counts)
                        if k
                    ],
                }
                for block, counts, unique, deviation in zip(
                    self.blocks, self.counts, self.unique, self.deviation, strict=True
                )
            ],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per block: people rebuilt, unique, deviation."""
        return pd.DataFrame(
            {
                "block": list(self.blocks),
                "people": [sum(c) for c in self.counts],
                "unique": list(self.unique),
                "deviation": list(self.deviation),
            }
        )

    def _repr_html_(self) -> str:
        return frame_html("Rebuilt blocks", self.to_frame())


@dataclass(frozen=True)
class BlockOutcome(ResultPart):
    """How the attack fared in one block."""

    block: Hashable
    people: int
    matched: int
    unique: bool | None
    population_uniques: int
    reidentified: int


@dataclass(frozen=True)
class CensusAttackResult(Result):
    """Census-style reconstruction scored against the truth (:func:`census_attack`).

    Attributes
    ----------
    tables, exact
        Names of the published tables, and whether they were exact (else noisy).
    n_blocks, n_people
        Size of the true population.
    records_matched, records_matched_share
        Rebuilt records equal to a true record of their block (a multiset match:
        ``sum_{block, cell} min(rebuilt, true)``), and that over ``n_people``.
    unique_blocks, unique_blocks_share
        Blocks whose rebuilt records are provably the only ones consistent with the
        tables (``None`` when uniqueness was not checked).
    population_uniques
        True people alone in their block on the record attributes.
    reidentified
        Rebuilt records unique in their block that match a person unique in the truth.
    baseline_matched_share, baseline_reidentified
        The same measures, in expectation, for a random guess from the marginals: each
        block's people drawn independently from the product of its one-way margins.
    blocks
        Per-block outcomes.
    """

    tables: tuple[str, ...]
    exact: bool
    n_blocks: int
    n_people: int
    records_matched: int
    records_matched_share: float
    unique_blocks: int | None
    unique_blocks_share: float | None
    population_uniques: int
    reidentified: int
    baseline_matched_share: float
    baseline_reidentified: float
    blocks: tuple[BlockOutcome, ...]

    def _document(self) -> Mapping[str, Any]:
        return {"attack": "census_reconstruction", **super()._document()}

    def to_frame(self) -> pd.DataFrame:
        """The attack beside the random-guess baseline: one row per measure."""
        return pd.DataFrame(
            {
                "measure": [
                    "records exactly reconstructed (share)",
                    "unique people re-identified",
                    "blocks provably unique (share)",
                ],
                "reconstruction": [
                    self.records_matched_share,
                    float(self.reidentified),
                    self.unique_blocks_share,
                ],
                "marginal_guess": [self.baseline_matched_share, self.baseline_reidentified, None],
            }
        )

    def blocks_frame(self) -> pd.DataFrame:
        """One row per block."""
        return pd.DataFrame([b.to_dict() for b in self.blocks])

    def _repr_html_(self) -> str:
        kind = "exact" if self.exact else "noisy"
        return frame_html(
            f"Census reconstruction from {kind} tables ({self.n_people} people, "
            f"{self.n_blocks} blocks)",
            self.to_frame(),
        )
