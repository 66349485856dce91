"""The same bounded release on Spark (local[2]): one test, marked spark."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ethica.privacy import Batch, Count, PureDP, Session, Sum, UserLevel


@pytest.mark.spark
def test_user_level_release_on_spark(spark: Any) -> None:
    """Each person has exactly 2 places x 3 rows: bounding (k=2, m=3) keeps every row."""
    rows = [(p, (p + j) % 10, float(p % 7)) for p in range(300) for j in range(2) for _ in range(3)]
    pdf = pd.DataFrame(rows, columns=["person", "place", "minutes"])
    frame = spark.createDataFrame(pdf)
    unit = UserLevel("person", max_groups_per_user=2, max_rows_per_group=3)
    session = Session(frame, privacy_unit=unit, budget=PureDP(20))
    keys = {"place": list(range(10))}
    release = session.evaluate(
        Batch((Count(by="place", keys=keys), Sum("minutes", 0, 10, step=1, by="place", keys=keys))),
        PureDP(20),
    )
    counts, sums = release.tables
    truth = pdf.groupby("place").size().to_numpy()
    half = (counts.ci_high[0] - counts.ci_low[0]) / 2
    assert abs(sum(counts.values) - truth.sum()) <= 10 * half
    inside = [lo <= t <= hi for lo, t, hi in zip(counts.ci_low, truth, counts.ci_high, strict=True)]
    assert sum(inside) >= 8
    assert abs(sum(sums.values) - pdf["minutes"].sum()) < 0.1 * pdf["minutes"].sum()
