"""Reconstruction of census microdata from published tables (the Census lesson).

From person counts by block crossed with attributes and their marginals, an attacker
rebuilds every block's person records with an integer program (:mod:`._ip`), proves
where the solution is unique, and re-identifies people unique in their block. The US Census
Bureau ran this attack on its own 2010 tables and rebuilt 46% of the population's records
exactly (block, sex, age, race, ethnicity), which led it to adopt differential privacy.

Abowd, J. M. (2018). Staring down the database reconstruction theorem. AAAS annual meeting;
Garfinkel, S., Abowd, J. M. and Martindale, C. (2019). Understanding database reconstruction
attacks on public data. *Communications of the ACM* 62(3).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import binom

from ethica._exceptions import InfeasibleError, InvalidParameterError, SchemaError
from ethica.attacks._common import Progress, report_progress
from ethica.attacks.census._data import CensusSchema, census_tables
from ethica.attacks.census._ip import solve_block
from ethica.attacks.census._medians import median_constraints
from ethica.attacks.census._results import BlockOutcome, BlockReconstruction, CensusAttackResult
from ethica.attacks.census._tables import PublishedTable, block_problems, read_tables

__all__ = ["census_attack", "marginal_guess_baseline", "reconstruct_blocks"]


def reconstruct_blocks(
    tables: Mapping[str, pd.DataFrame],
    schema: CensusSchema,
    *,
    exact: bool = True,
    medians: pd.DataFrame | None = None,
    check_uniqueness: bool = True,
    progress: Progress | None = None,
) -> BlockReconstruction:
    """Rebuild each block's person records from published tables.

    Parameters
    ----------
    tables
        Table name -> frame with ``schema.block``, some schema columns and ``schema.count``.
        Combinations not listed count zero.
    schema
        The record attributes and the coarsenings the tables may use.
    exact
        ``True``: the tables are exact; solve ``A x = t`` over non-negative integers.
        ``False``: the tables are noisy (e.g. DP); minimise ``sum |A x - t|``.
    medians
        Optional published block medians of one ordered attribute: a frame with the block
        column and that attribute's median category (see :func:`census_medians`); they are
        hard constraints in both modes.
    check_uniqueness
        Re-solve each block with a no-good cut to prove the solution unique (doubles the work).
    progress
        ``progress(done, total)`` after each block.

    Raises
    ------
    SchemaError
        A table lacks the block or count column, has an unknown column or category, or
        lists a cell twice.
    InfeasibleError
        Exact tables with negative or fractional counts, block totals or shared margins that
        differ between tables (the message names both tables, the block and the cell), or a
        block whose tables no set of records satisfies.
    """
    read, blocks = read_tables(tables, schema, exact=exact)
    side = None if medians is None else median_constraints(medians, blocks, schema)
    problems = block_problems(read, blocks, schema, exact=exact, side=side)
    counts, unique, deviation = [], [], []
    for done, block in enumerate(blocks, start=1):
        solution = solve_block(problems[block], check_uniqueness=check_uniqueness)
        if solution is None:
            raise InfeasibleError(
                f"block {block}: the tables {[t.name for t in read]} agree on every shared "
                "margin, yet no set of non-negative whole-person records satisfies them all"
                f"{' and the median' if side and block in side else ''}; check the block's "
                "counts, or call with exact=False to find the closest records."
            )
        counts.append(tuple(int(k) for k in solution.counts))
        unique.append(solution.unique)
        deviation.append(solution.deviation)
        report_progress(progress, done, len(blocks))
    return BlockReconstruction(
        schema=schema,
        exact=exact,
        blocks=tuple(blocks),
        counts=tuple(counts),
        unique=tuple(unique),
        deviation=tuple(deviation),
    )


def _true_counts(
    population: pd.DataFrame, schema: CensusSchema
) -> dict[Hashable, NDArray[np.int64]]:
    columns = [schema.block, *schema.attributes]
    missing = [c for c in columns if c not in population.columns]
    if missing:
        raise SchemaError(
            f"population lacks the columns {missing}; it needs {columns}, one row per person."
        )
    index = {cell: i for i, cell in enumerate(schema.cells)}
    cells = list(zip(*(population[a] for a in schema.attributes), strict=True))
    unknown = [cell for cell in cells if cell not in index]
    if unknown:
        raise SchemaError(
            f"population has records outside the schema, e.g. {unknown[0]}; map every value "
            f"to a schema category ({dict(schema.attributes)})."
        )
    positions = np.array([index[cell] for cell in cells], dtype=np.int64)
    truth = {}
    for block, rows in population.groupby(schema.block).indices.items():
        truth[block] = np.bincount(positions[rows], minlength=len(index)).astype(np.int64)
    return truth


def _one_way_margin(
    tables: list[PublishedTable], block: Hashable, attribute: str, schema: CensusSchema
) -> NDArray[np.float64]:
    """The block's distribution over ``attribute``'s categories, from the first table that
    has it (or a coarsening of it, spread evenly); uniform when no table does."""
    categories = schema.attributes[attribute]
    coarse = [c for c, (source, _) in schema.coarsenings.items() if source == attribute]
    for column in (attribute, *coarse):
        table = next((t for t in tables if column in t.columns), None)
        if table is None:
            continue
        position = table.columns.index(column)
        by_value: dict[Hashable, float] = {}
        for key in table.published_keys():
            value = key[position]
            by_value[value] = by_value.get(value, 0.0) + max(0.0, table.count(block, key))
        if column == attribute:
            weights = np.array([by_value.get(c, 0.0) for c in categories])
        else:
            mapping = schema.coarsenings[column][1]
            group_size = pd.Series([mapping[c] for c in categories]).value_counts()
            weights = np.array(
                [by_value.get(mapping[c], 0.0) / group_size[mapping[c]] for c in categories]
            )
        if weights.sum() > 0:
            return np.asarray(weights / weights.sum(), dtype=np.float64)
    return np.full(len(categories), 1.0 / len(categories))


def _expected_guess_scores(
    tables: list[PublishedTable],
    schema: CensusSchema,
    truth: Mapping[Hashable, NDArray[np.int64]],
) -> tuple[float, float]:
    """Expected records matched and uniques re-identified by a random guess from margins.

    The guess: block ``b``'s ``n_b`` people (its published size, averaged over the tables)
    each drawn independently from ``p_c = prod_a p_{b,a}(c_a)``, the product of the block's
    one-way margins. Cell counts are then ``X_c ~ Binomial(n_b, p_c)``, so exactly

        E[matched] = sum_c E[min(X_c, y_c)] = sum_c sum_{k=1}^{y_c} P(X_c >= k),
        E[re-identified] = sum_{c: y_c = 1} P(X_c = 1).

    Returns
    -------
    (expected records matched, expected uniques re-identified)
    """
    matched = reidentified = 0.0
    for block, true in truth.items():
        sizes = [sum(max(0.0, t.count(block, k)) for k in t.published_keys()) for t in tables]
        n = round(sum(sizes) / len(sizes))
        p = np.ones(1)
        for attribute in schema.attributes:
            p = np.outer(p, _one_way_margin(tables, block, attribute, schema)).ravel()
        for y_c, p_c in zip(true, p, strict=True):
            if y_c:
                matched += float(binom.sf(np.arange(y_c), n, p_c).sum())
        reidentified += float(binom.pmf(1, n, p[true == 1]).sum())
    return matched, reidentified


def marginal_guess_baseline(
    population: pd.DataFrame,
    schema: CensusSchema,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[float, float]:
    """The reference a reconstruction must beat: a random guess from the block margins.

    Each block's people are guessed independently from the product of the block's one-way
    margins in ``tables`` (default: the exact :func:`census_tables` of ``population``);
    an attribute only published coarsened is spread evenly within its groups, one never
    published is uniform. Scored exactly in expectation (binomial cell counts).

    Returns
    -------
    (share of records matched, people unique in their block re-identified), in expectation.
    """
    truth = _true_counts(population, schema)
    published = census_tables(population, schema) if tables is None else tables
    read, _ = read_tables(published, schema, exact=False)
    matched, reidentified = _expected_guess_scores(read, schema, truth)
    return matched / sum(int(t.sum()) for t in truth.values()), reidentified


def census_attack(
    population: pd.DataFrame,
    schema: CensusSchema,
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    exact: bool = True,
    medians: pd.DataFrame | None = None,
    check_uniqueness: bool = True,
    progress: Progress | None = None,
) -> CensusAttackResult:
    """Reconstruct a population's records from its tables and score the attack.

    Parameters
    ----------
    population
        The truth: one row per person with ``schema.block`` and every schema attribute.
    schema
        Record attributes and coarsenings (e.g. :func:`adult_census_schema`).
    tables
        The published tables; default :func:`census_tables` of ``population`` (exact).
        Pass noisy tables (e.g. a DP release of the same tables) with ``exact=False``.
    exact, medians, check_uniqueness, progress
        As in :func:`reconstruct_blocks`.

    Returns
    -------
    CensusAttackResult
        Share of records exactly reconstructed, share of provably unique blocks,
        re-identified unique people, and the random-guess baseline beside them.
    """
    if len(population) == 0:
        raise InvalidParameterError(
            "population has no rows; pass one row per person (e.g. from synthetic_blocks)."
        )
    truth = _true_counts(population, schema)
    published = census_tables(population, schema) if tables is None else tables
    rebuilt = reconstruct_blocks(
        published,
        schema,
        exact=exact,
        medians=medians,
        check_uniqueness=check_uniqueness,
        progress=progress,
    )
    read, _ = read_tables(published, schema, exact=False)
    by_block = dict(zip(rebuilt.blocks, rebuilt.counts, strict=True))
    unique = dict(zip(rebuilt.blocks, rebuilt.unique, strict=True))
    outcomes = []
    for block, true in truth.items():
        guess = np.array(by_block.get(block, np.zeros_like(true)), dtype=np.int64)
        outcomes.append(
            BlockOutcome(
                block=block,
                people=int(true.sum()),
                matched=int(np.minimum(guess, true).sum()),
                unique=unique.get(block),
                population_uniques=int((true == 1).sum()),
                reidentified=int(((guess == 1) & (true == 1)).sum()),
            )
        )
    n_people = sum(o.people for o in outcomes)
    baseline_matched, baseline_reidentified = _expected_guess_scores(read, schema, truth)
    n_unique = None if not check_uniqueness else sum(bool(o.unique) for o in outcomes)
    return CensusAttackResult(
        tables=tuple(published),
        exact=exact,
        n_blocks=len(outcomes),
        n_people=n_people,
        records_matched=sum(o.matched for o in outcomes),
        records_matched_share=sum(o.matched for o in outcomes) / n_people,
        unique_blocks=n_unique,
        unique_blocks_share=None if n_unique is None else n_unique / len(outcomes),
        population_uniques=sum(o.population_uniques for o in outcomes),
        reidentified=sum(o.reidentified for o in outcomes),
        baseline_matched_share=baseline_matched / n_people,
        baseline_reidentified=baseline_reidentified,
        blocks=tuple(outcomes),
    )
