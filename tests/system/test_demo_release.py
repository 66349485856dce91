"""The demo's DP release sections on Adult: census tables that add up, mobility counts with
user-level privacy, and the supermarket plan (about 15 s)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica.privacy import laplace_half_width
from ethica.report import Report, Section
from ethica.report._release_section import error_by_size, error_by_size_bands
from ethica.workflows._demo_release import (
    CENSUS,
    MOBILITY,
    SUPERMARKET,
    additivity_mismatches,
    census_population,
    census_release,
    expected_after_bounding,
    mobility_visits,
    release_sections,
)

GEOGRAPHY = ["region", "sub_region", "block"]


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[tuple[Section, ...], list[str], Path]]:
    """The three sections, the progress messages, and where the default ledger would be."""
    default = tmp_path_factory.mktemp("home") / "default-ledger.sqlite3"
    messages: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ETHICA_LEDGER", str(default))
        sections = release_sections(progress=messages.append)
        yield sections, messages, default


@pytest.fixture
def people(adult_train: pd.DataFrame) -> pd.DataFrame:
    return census_population(adult_train)


@pytest.mark.slow
def test_sections_render_with_numbers_and_figures(
    run: tuple[tuple[Section, ...], list[str], Path],
) -> None:
    sections, messages, _ = run
    assert [s.id for s in sections] == ["release-census", "release-mobility", "release-plan"]
    assert len(messages) == 3 and all(
        m.startswith(f"Release {i}/3") for i, m in enumerate(messages, start=1)
    )
    for section in sections:
        assert "<svg" in section.html, section.id
        assert re.search(r"\d", section.lead), section.id
        assert "temporary ledger" in section.html and "untouched" in section.html
    census, mobility, _ = sections
    assert "relative error" in census.html and "true group size" in census.html
    assert re.search(
        r"Where it bites, among groups of 10 or more people: R\d\.\d\.\d × ", census.html
    )
    assert mobility.html.count("<svg") >= 2  # true vs released, and the release's own view
    bound = MOBILITY.max_groups_per_user * MOBILITY.max_rows_per_group
    assert f"changes the table by at most {bound}" in mobility.html
    assert f"scale {bound} on each count" in mobility.html  # L1 = k m at epsilon 1
    assert "n.scale" not in mobility.html  # no internal names in prose
    page = Report("demo", "", sections).render()
    assert page.count("<section") >= 3
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


@pytest.mark.slow
def test_the_default_ledger_is_untouched(
    run: tuple[tuple[Section, ...], list[str], Path],
) -> None:
    *_, default = run
    assert not default.exists()


@pytest.mark.slow
def test_census_section_states_the_checked_fact(
    run: tuple[tuple[Section, ...], list[str], Path],
) -> None:
    census = run[0][0]
    blocks = CENSUS.regions * CENSUS.sub_regions * CENSUS.blocks
    cells = 1 + CENSUS.regions + CENSUS.regions * CENSUS.sub_regions + blocks + blocks * 2 * 4 * 5
    assert f"Checked: all {cells:,} released cells are non-negative integers" in census.html
    assert "tables add up" in census.lead and "check failed" not in census.lead
    medians = re.search(r"off by a median ([0-9.]+)%, groups of .* by ([0-9.]+)%", census.lead)
    assert medians is not None
    assert float(medians.group(1)) > 10 * float(medians.group(2))


@pytest.mark.slow
def test_supermarket_plan_meets_its_target(
    run: tuple[tuple[Section, ...], list[str], Path],
) -> None:
    plan = run[0][2]
    found = re.search(r"needs ε = ([0-9]+\.[0-9]+); released: ([0-9,]+) ± ([0-9,]+)", plan.lead)
    assert found is not None
    epsilon, half = float(found.group(1)), int(found.group(3).replace(",", ""))
    assert half <= SUPERMARKET.target
    # the planned epsilon is tight: 10% less would miss the target (scale 1/epsilon)
    assert laplace_half_width(Fraction(1 / (0.9 * epsilon)), 0.95) > SUPERMARKET.target
    user = re.search(r"costs ε = ([0-9]+\.[0-9]+)", plan.lead)
    assert user is not None and float(user.group(1)) == pytest.approx(10 * epsilon, rel=0.02)


def test_population_is_a_seeded_hierarchy(adult_train: pd.DataFrame, people: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(census_population(adult_train), people)
    assert people["sex"].tolist() == adult_train["sex"].tolist()
    for child, parent in (("sub_region", "region"), ("block", "sub_region")):
        assert (people.groupby(child)[parent].nunique() == 1).all()
        assert all(
            c.startswith(f"{p}.") for c, p in zip(people[child], people[parent], strict=True)
        )
    assert people["block"].nunique() == CENSUS.regions * CENSUS.sub_regions * CENSUS.blocks
    sizes = people.groupby("block").size()
    assert sizes.max() > 10 * sizes.min()  # areas of very different sizes
    assert set(people["age_band"]) <= {"17-24", "25-44", "45-64", "65+"}


def test_census_tables_add_up(people: pd.DataFrame) -> None:
    release = census_release(people)
    frames = {t.name: t.to_frame() for t in release.tables}
    finest = frames["block × sex × age × race"]
    total = frames["total"]["value"].iloc[0]
    for name, frame in frames.items():
        values = frame["value"].to_numpy()
        assert (values >= 0).all() and (values == np.round(values)).all(), name
        assert values.sum() == total, name
    for name, by in (("regions", 1), ("sub-regions", 2), ("blocks", 3)):
        sums = finest.groupby(GEOGRAPHY[:by])["value"].sum()
        mine = frames[name].set_index(GEOGRAPHY[:by])["value"]
        assert mine.sort_index().to_numpy().tolist() == sums.sort_index().to_numpy().tolist()
    assert abs(total - len(people)) < 100
    assert additivity_mismatches(release) == (sum(len(f) for f in frames.values()), 0)
    # small groups pay most for privacy
    truth = people.groupby([*GEOGRAPHY, "sex", "age_band", "race"]).size()
    table = release.table("block × sex × age × race")
    bands = error_by_size_bands(error_by_size(table, {k: int(v) for k, v in truth.items()}))
    assert bands[0]["median_relative_error"] > 10 * bands[-1]["median_relative_error"]


def test_additivity_check_catches_a_broken_table(people: pd.DataFrame) -> None:
    from dataclasses import replace

    release = census_release(people.iloc[:3000])
    regions = release.table("regions")
    broken = replace(regions, values=(regions.values[0] + 1, *regions.values[1:]))
    tables = tuple(broken if t.name == "regions" else t for t in release.tables)
    assert additivity_mismatches(release.with_tables(tables, "tampered"))[1] == 1


def test_mobility_visits_have_people_in_many_rows() -> None:
    adult = pd.DataFrame({"age": np.arange(2000)})
    visits = mobility_visits(adult)
    again = mobility_visits(adult)
    pd.testing.assert_frame_equal(visits, again)  # seeded
    per_person = visits.groupby("person_id").size()
    assert set(per_person.index) <= set(range(2000)) and per_person.max() >= 8
    assert visits["place"].nunique() == MOBILITY.places
    assert visits["hour"].between(8, 20).all()
    shares = visits["place"].value_counts(normalize=True)
    assert shares.index[0] == "supermarket" and shares.iloc[0] > 5 * shares.iloc[-1]


def test_expected_after_bounding_by_hand() -> None:
    # user 1: 3 cells with 3, 1, 1 rows; k = 2 cells kept of 3, m = 2 rows per cell
    visits = pd.DataFrame({"user": [1, 1, 1, 1, 1, 2], "place": ["a", "a", "a", "b", "c", "a"]})
    expected = expected_after_bounding(visits, ["place"], user="user", max_groups=2, max_rows=2)
    assert expected.to_dict() == pytest.approx({"a": 2 * 2 / 3 + 1, "b": 2 / 3, "c": 2 / 3})


def test_error_by_size_by_hand() -> None:
    from ethica.privacy import PureDP, ReleasedTable

    table = ReleasedTable(
        name="count by block",
        statistic="count",
        by=("block",),
        keys=(("a",), ("b",), ("c",)),
        values=(12.0, 0.0, 3.0),
        ci_low=(6.0, -6.0, -3.0),
        ci_high=(18.0, 6.0, 9.0),
        variances=(8.0, 8.0, 8.0),
        mechanism="discrete Laplace",
        noise={"scale": "2"},
        sensitivity={"l1": "1"},
        budget=PureDP(1),
    )
    frame = error_by_size(table, {("a",): 10, ("b",): 4})  # c is empty in truth
    assert frame["true_count"].tolist() == [10, 4, 0]
    assert frame["observed_relative_error"].iloc[:2].tolist() == pytest.approx([0.2, 1.0])
    assert np.isnan(frame["observed_relative_error"].iloc[2])
    assert frame["relative_bound"].iloc[:2].tolist() == pytest.approx([0.6, 1.5])
    bands = error_by_size_bands(frame, edges=(1, 5))
    assert [(b["band"], b["cells"]) for b in bands] == [("1–4", 1), ("≥ 5", 1)]
    assert bands[0]["median_relative_error"] == pytest.approx(1.0)
