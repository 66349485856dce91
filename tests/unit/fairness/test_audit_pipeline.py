"""``audit`` end to end: the engine's count table gives the same audit as a pandas one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ethica.fairness import audit, audit_counts
from tests.unit.fairness._audit_support import adult_scored, count_table


def test_audit_of_a_frame_equals_the_audit_of_its_pandas_count_table() -> None:
    frame = adult_scored()[["sex", "race", "outcome", "decision", "score"]]
    engine = audit(
        frame,
        label="outcome",
        prediction="decision",
        score="score",
        protected=["sex", "race"],
        reference={"sex": "Female"},
        harm="false-negative",
    )
    direct = audit_counts(
        count_table(frame, ["sex", "race"], score="score"),
        reference={"sex": "Female"},
        harm="false-negative",
    )
    assert engine.n_rows == direct.n_rows == len(frame)
    assert [(g.attributes, g.group, g.n) for g in engine.groups] == [
        (g.attributes, g.group, g.n) for g in direct.groups
    ]
    for ours, theirs in zip(engine.groups, direct.groups, strict=True):
        for name, est in ours.metrics.items():
            assert (est.numerator, est.denominator) == (
                theirs.metrics[name].numerator,
                theirs.metrics[name].denominator,
            )
        assert [c.n for c in ours.calibration] == [c.n for c in theirs.calibration]
    assert [d.verdict for d in engine.definitions] == [d.verdict for d in direct.definitions]
    assert engine.headline().name == "equal_opportunity"
    assert engine.provenance["label"] == "outcome"


def test_audit_reads_a_csv_and_thresholds_a_score(tmp_path: Path) -> None:
    frame = adult_scored()[["sex", "outcome", "score"]]
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    result = audit(
        str(path), label="outcome", score="score", threshold=0.3, protected="sex", tolerance=0.1
    )
    female = next(g for g in result.groups if g.group == ("Female",))
    rows = frame[frame["sex"] == "Female"]
    assert female.metrics["selection_rate"].value == pytest.approx(
        (rows["score"] >= 0.3).mean(), abs=1e-12
    )
    assert result.tolerance == 0.1
