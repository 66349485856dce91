"""Property tests: marginalising the count table gives every group's counts exactly."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ethica.fairness import audit_counts
from tests.unit.fairness._audit_support import count_table


def _frame(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], rows),
            "b": rng.choice(["p", "q"], rows, p=[0.9, 0.1]),
            "c": rng.choice(["u", "v", "w", "t"], rows),
            "outcome": rng.integers(0, 2, rows),
            "decision": rng.integers(0, 2, rows),
            "score": rng.random(rows),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "c"] = None  # missing is its own group
    return frame


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=400))
def test_every_group_of_every_intersection_matches_a_direct_groupby(seed: int, rows: int) -> None:
    frame = _frame(seed, rows)
    result = audit_counts(count_table(frame, ["a", "b", "c"], score="score"), min_group_size=1)
    frame["c"] = frame["c"].fillna("(missing)")
    frame["tp"] = (frame["outcome"] == 1) & (frame["decision"] == 1)
    frame["fp"] = (frame["outcome"] == 0) & (frame["decision"] == 1)
    sets = [s for k in (1, 2, 3) for s in combinations(("a", "b", "c"), k)]
    assert [g.attributes for g in result.groups] == sorted(
        (g.attributes for g in result.groups), key=lambda s: sets.index(s)
    )
    for attrs in sets:
        expected = frame.groupby(list(attrs)).agg(
            n=("outcome", "size"), tp=("tp", "sum"), fp=("fp", "sum"), pos=("outcome", "sum")
        )
        ours = {g.group: g for g in result.groups if g.attributes == attrs}
        assert sum(g.n for g in ours.values()) == rows
        assert len(ours) == len(expected)
        for key, row in expected.iterrows():
            group = ours[key if isinstance(key, tuple) else (key,)]
            assert group.n == row["n"]
            assert group.metrics["tpr"].numerator == row["tp"]
            assert group.metrics["fpr"].numerator == row["fp"]
            assert group.metrics["base_rate"].numerator == row["pos"]
            assert sum(c.n for c in group.calibration) == row["n"]
            assert sum(c.observed.numerator for c in group.calibration) == row["pos"]


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=300))
def test_intersections_sum_to_their_marginals_and_json_never_has_nan(seed: int, rows: int) -> None:
    frame = _frame(seed, rows)
    result = audit_counts(count_table(frame, ["a", "c"]), min_group_size=5)
    singles = {(g.attributes, g.group): g for g in result.groups if len(g.attributes) == 1}
    pairs = [g for g in result.groups if len(g.attributes) == 2]
    for (attrs, group), g in singles.items():
        i = ("a", "c").index(attrs[0])
        inside = [p for p in pairs if p.group[i] == group[0]]
        assert sum(p.n for p in inside) == g.n
        for metric in ("selection_rate", "tpr", "ppv"):
            assert sum(p.metrics[metric].numerator for p in inside) == g.metrics[metric].numerator
    json.dumps(result.to_dict(), allow_nan=False)
    for g in (result.overall, *result.groups):
        for est in g.metrics.values():
            assert (est.value is None) == (est.denominator == 0)
            if est.value is not None:
                assert est.ci_low is not None and est.ci_high is not None
                assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0


def test_missing_values_form_their_own_group_in_display_order() -> None:
    frame = _frame(7, 500)
    result = audit_counts(count_table(frame, ["c"]), min_group_size=1)
    labels = [g.group[0] for g in result.groups]
    assert labels == ["t", "u", "v", "w", "(missing)"]
    assert dict(zip(labels, (g.n for g in result.groups), strict=True))["(missing)"] == int(
        frame["c"].isna().sum()
    )
    assert result.overall.n == 500
