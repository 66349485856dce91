"""The report card stays bounded on large sources: engine-side samples, capped synthetic draws."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.data._level_marginals import encode, sample_codes
from ethica.data._private_sources import private_table
from ethica.privacy import ApproxDP
from ethica.privacy.synth import Domain, report_card, synthesize
from ethica.privacy.synth._report import code_counts

DOMAIN = Domain.from_dict(
    {
        "columns": {
            "block": {"bins": [0, 10, 20, 30, 40, 50], "integer": True},
            "kind": {"categories": ["a", "b", "c"]},
        }
    }
)
ROWS = 200_000


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200k rows written by DuckDB itself (never a pandas frame): ``block`` = row // 4000."""
    path = tmp_path_factory.mktemp("scale") / "rows.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT (i // 4000)::INTEGER AS block, "
        f"CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END AS kind "
        f"FROM range({ROWS}) t(i)) TO '{path}' (FORMAT parquet)"
    )
    con.close()
    return path


def test_real_sample_is_bounded_and_spread_over_the_table(parquet: Path) -> None:
    table, text = private_table(parquet)
    encoded = encode(table, DOMAIN, text=text)
    rows = sample_codes(encoded, list(DOMAIN.names), 2_000, ROWS, seed=3)
    assert rows.shape == (2_000, 2)
    # Rows are ordered by block on disk; a head-of-table read would give block bin 0 only.
    # A random sample covers all five bins in roughly equal shares (each 1/5 of the rows).
    shares = np.bincount(rows[:, 0], minlength=DOMAIN["block"].size) / len(rows)
    assert np.all(np.abs(shares[:5] - 0.2) < 0.05)
    assert shares[5] == 0.0


def test_code_counts_match_scatter_add() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, [4, 3, 5], size=(10_000, 3))
    expected = np.zeros((5, 4))
    np.add.at(expected, (codes[:, 2], codes[:, 0]), 1.0)
    assert np.array_equal(code_counts(codes, [2, 0], (5, 4)), expected)
    assert code_counts(codes[:0], [0], (4,)).sum() == 0


def test_card_caps_synthetic_rows_and_samples_real_rows(parquet: Path) -> None:
    result = synthesize(parquet, domain=DOMAIN, budget=ApproxDP(1.0, 1e-9), method="mst")
    card = report_card(parquet, result, synthetic_rows=5_000, max_rows=1_000, attack_rows=100)
    assert card.n_synthetic == 5_000
    assert card.n_real == ROWS  # workload error still uses exact marginals of every row
    assert card.privacy is not None and card.privacy["n_members"] == 100
    with pytest.raises(InvalidParameterError, match="synthetic_rows"):
        report_card(parquet, result, synthetic_rows=2.5, attack_rows=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 10.0])
def test_rho_of_is_valid_and_near_the_largest(epsilon: float) -> None:
    from fractions import Fraction

    from ethica.privacy import ZCDP, zcdp_to_approx
    from ethica.privacy.synth._synthesize import rho_of

    delta = Fraction(1, 10**9)
    rho = rho_of(ApproxDP(epsilon, 1e-9))
    assert zcdp_to_approx(ZCDP(rho), delta).epsilon <= Fraction(epsilon)
    assert zcdp_to_approx(ZCDP(rho * Fraction(4097, 4096) * 2), delta).epsilon > epsilon
    assert zcdp_to_approx(ZCDP(rho * Fraction(2049, 2048)), delta).epsilon > epsilon


def test_section_plots_workload_error_against_epsilon(parquet: Path) -> None:
    from ethica.report._synth_section import synth_section
    from ethica.workflows._synth import epsilon_curve

    result = synthesize(parquet, domain=DOMAIN, budget=ApproxDP(1.0, 1e-9), method="mst")
    card = report_card(parquet, result, attack_rows=0)
    curve = epsilon_curve(parquet, DOMAIN, [0.01, 5.0], method="mst")
    assert [c["epsilon"] for c in curve] == [0.01, 5.0]
    assert curve[0]["tv2"] > curve[1]["tv2"]  # error falls as ε grows (2 cells, 200k rows)
    with_plot = synth_section(card, curve=curve).html
    assert with_plot.count("<svg") == 1 and "log scale" in with_plot
    assert "<svg" not in synth_section(card).html


def test_synthetic_rows_come_in_bounded_reproducible_chunks(parquet: Path) -> None:
    result = synthesize(parquet, domain=DOMAIN, budget=ApproxDP(1.0, 1e-9), method="mst")
    chunks = list(result.sample_chunks(2_500, seed=7, chunk=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    again = list(result.sample_chunks(2_500, seed=7, chunk=1_000))
    assert all(a.equals(b) for a, b in zip(chunks, again, strict=True))
    other = next(result.sample_chunks(1_000, seed=8, chunk=1_000))
    assert not other.equals(chunks[0])
    assert list(chunks[0].columns) == ["block", "kind"]
    with pytest.raises(InvalidParameterError, match="chunk"):
        next(result.sample_chunks(10, chunk=0))
