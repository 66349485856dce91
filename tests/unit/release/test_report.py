"""The release report section: CI whiskers and per-group relative error."""

from __future__ import annotations

import math

import pandas as pd

from ethica.privacy import Count, PureDP, Session
from ethica.report import Report
from ethica.report._release_section import relative_errors, release_section


def test_small_groups_have_the_largest_relative_error(adult_train: pd.DataFrame) -> None:
    races = sorted(adult_train["race"].unique())
    release = Session(adult_train, privacy_unit="rows", budget=PureDP(0.2)).evaluate(
        Count(by="race", keys={"race": races}), PureDP(0.2)
    )
    errors = relative_errors(release.table()).set_index("cell")
    sizes = adult_train["race"].value_counts()
    assert errors["relative_error"].idxmax() == sizes.idxmin()
    assert errors["relative_error"].idxmin() == sizes.idxmax()
    half = errors["half_width"]
    assert (half == half.iloc[0]).all()  # same noise everywhere; relative error differs
    html = Report("r").with_section(release_section(release)).render()
    assert f"Largest relative error: <strong>{sizes.idxmin()}</strong>" in html


def test_zero_value_has_infinite_relative_error(adult_train: pd.DataFrame) -> None:
    release = Session(adult_train, privacy_unit="rows", budget=PureDP(1)).evaluate(
        Count(), PureDP(1)
    )
    table = release.table()
    from dataclasses import replace

    zero = replace(table, values=(0.0,))
    assert math.isinf(relative_errors(zero)["relative_error"].iloc[0])
