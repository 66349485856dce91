"""The attacks' report sections, drawn from real attack results on small real data."""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from ethica.attacks import (
    CensusAttackResult,
    ExactAnswers,
    MembershipResult,
    RecoverySweep,
    adult_census_schema,
    census_attack,
    census_tables,
    loss_threshold_attack,
    recovery_sweep,
    subset_sum_attack,
    synthetic_blocks,
)
from ethica.report import (
    Report,
    census_section,
    membership_section,
    reconstruction_section,
)

Sampler = Callable[[Fraction, int], NDArray[np.int64]]


@pytest.fixture
def seeded_laplace() -> Sampler:
    """Discrete Laplace as a difference of two geometrics (seeded; tests only, no privacy)."""
    rng = np.random.default_rng(7)

    def sample(scale: Fraction, size: int) -> NDArray[np.int64]:
        p = 1.0 - np.exp(-1.0 / float(scale))
        return (rng.geometric(p, size) - rng.geometric(p, size)).astype(np.int64)

    return sample


@pytest.fixture
def sweep(seeded_laplace: Sampler) -> RecoverySweep:
    return recovery_sweep(
        40, noise_multiples=(0.0, 0.5, 4.0), epsilons=(1.0,), trials=2, dp_sampler=seeded_laplace
    )


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows if "<td" in row]


def test_reconstruction_section_plots_recovery_against_noise(sweep: RecoverySweep) -> None:
    section = reconstruction_section(sweep)
    exact = sweep.points[0]
    dp = sweep.points[-1]
    assert section.id == "reconstruction"
    assert f"{100 * exact.recovery_mean:.1f}%" in section.lead
    assert f"DP ε=1 it recovers {100 * dp.recovery_mean:.1f}%" in section.lead
    html = section.html
    assert "<svg" in html and "chance (1/2)" in html and "units of √n" in html
    rows = _cells(html)
    assert [r[0] for r in rows] == ["exact", "bounded noise", "bounded noise", "DP ε=1"]
    # the noise column is the standard deviation over sqrt(n): 4 sqrt(n) uniform -> 4/sqrt(3)
    assert rows[2][1] == f"{4 / np.sqrt(3):.2f}"
    assert "range over 2 trials" in html


def test_reconstruction_section_takes_a_single_run() -> None:
    run = subset_sum_attack(30, release=ExactAnswers(), seed=3)
    section = reconstruction_section(run, section_id="dn", title="One run")
    assert (section.id, section.title) == ("dn", "One run")
    assert f"recovers {100 * run.recovered_fraction:.1f}%" in section.lead
    assert len(_cells(section.html)) == 1 and "<svg" in section.html


@pytest.fixture(scope="module")
def census(adult: pd.DataFrame) -> tuple[CensusAttackResult, CensusAttackResult]:
    schema = adult_census_schema()
    population = synthetic_blocks(adult, n_blocks=12, mean_block_size=6, seed=1)
    exact = census_attack(population, schema)
    tables = census_tables(population, schema)
    noisy = {name: frame.assign(count=frame["count"] + 3) for name, frame in tables.items()}
    shifted = census_attack(population, schema, noisy, exact=False, check_uniqueness=False)
    return exact, shifted


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    from ethica.datasets import load_adult

    return load_adult("train")


def test_census_section_puts_attack_beside_the_guess(
    census: tuple[CensusAttackResult, CensusAttackResult],
) -> None:
    exact, shifted = census
    section = census_section(exact, [(2.0, shifted)], mechanism="noise <of> scale 2")
    rows = _cells(section.html)
    assert [r[0] for r in rows] == ["exact tables", "DP ε=2"]
    assert rows[0][1] == f"{100 * exact.records_matched_share:.1f}%"
    # the guess column is the exact tables' margins in both rows
    assert rows[0][2] == rows[1][2] == f"{100 * exact.baseline_matched_share:.1f}%"
    assert rows[1][5] == "–"  # uniqueness is not checked on noisy tables
    assert "DP release: noise &lt;of&gt; scale 2." in section.html
    assert f"{exact.n_people:,} real Adult people" in section.lead
    assert "<svg" in section.html and "random guess from the margins" in section.html
    assert "provably unique" not in section.html.split("<ul")[1]  # not checked: no warning
    checked = census_section(exact, [(1.0, exact)])
    assert "no longer tell right records from wrong ones" in checked.html


def test_census_section_without_dp_rows(
    census: tuple[CensusAttackResult, CensusAttackResult],
) -> None:
    exact, _ = census
    section = census_section(exact)
    assert len(_cells(section.html)) == 1 and "DP release" not in section.html


@pytest.fixture(scope="module")
def membership(adult: pd.DataFrame) -> list[tuple[str, MembershipResult]]:
    numbers = adult[["age", "education_num", "hours_per_week", "capital_gain"]].to_numpy(float)
    labels = (adult["income"] == ">50K").to_numpy(int)
    X_in, y_in, X_out, y_out = numbers[:800], labels[:800], numbers[800:1600], labels[800:1600]
    results = []
    for name, model in (
        ("tree", DecisionTreeClassifier(random_state=0)),
        ("logistic", LogisticRegression()),
    ):
        fitted = model.fit(X_in, y_in)
        results.append((name, loss_threshold_attack(fitted, X_in, y_in, X_out, y_out)))
    return results


def test_membership_section_draws_roc_and_names_the_strongest(
    membership: list[tuple[str, MembershipResult]],
) -> None:
    section = membership_section(membership)
    rows = _cells(section.html)
    assert [r[:2] for r in rows] == [["tree", "loss threshold"], ["logistic", "loss threshold"]]
    tree, logistic = (r for _, r in membership)
    assert rows[0][2] == f"{tree.auc:.3f}" and rows[1][3] == f"{100 * logistic.tpr_at_low_fpr:.1f}%"
    assert f"AUC {tree.auc:.2f} against the tree" in section.lead
    assert "<svg" in section.html and "chance" in section.html


def test_roc_curve_has_the_area_of_the_auc(
    membership: list[tuple[str, MembershipResult]],
) -> None:
    # an unpruned tree ties most scores at p = 1; the plotted curve must still match the AUC
    for _, result in membership:
        curve = result.roc_frame()
        fpr, tpr = curve["fpr"].to_numpy(), curve["tpr"].to_numpy()
        area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        assert area == pytest.approx(result.auc, abs=0.03)


def test_sections_make_one_self_contained_page(
    sweep: RecoverySweep, membership: list[tuple[str, MembershipResult]]
) -> None:
    page = (
        Report("Attacks")
        .with_section(reconstruction_section(sweep))
        .with_section(membership_section(membership))
        .render()
    )
    assert page.index('id="reconstruction"') < page.index('id="membership"')
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
