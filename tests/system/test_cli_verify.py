"""`ethica verify SPEC.yaml`: audits a release spec on the custodian's data, through
CliRunner on real files; spends nothing (no ledger is opened or created)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica._results import SCHEMA_VERSION
from ethica.cli import app
from ethica.cli._verify import VIOLATED_EXIT_CODE
from ethica.privacy import PureDP, Rows, Sum
from ethica.privacy.testing import audit
from ethica.workflows._verify import VerifiedQuery, VerifyResult
from tests.unit.privacy._auditing import TooLittleNoise, frame

runner = CliRunner()

SPEC = """\
title: Visits
source: visits.csv
dataset: visits
ledger: spec-ledger.sqlite3
privacy_unit: {user: person, max_groups_per_user: 2, max_rows_per_group: 2, nulls: drop}
budget: {epsilon: 1}
queries:
  - name: visits by place
    count: {by: [place], keys: {place: [NO, SE, DK]}}
  - name: minutes
    sum: {column: minutes, lower: 0, upper: 2.5, step: 1}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "default-ledger.sqlite3"))
    rng = np.random.default_rng(1)
    n = 300
    pd.DataFrame(
        {
            "person": rng.integers(0, 120, n),
            "place": rng.choice(["NO", "SE", "DK"], n),
            "minutes": rng.choice([0.0, 1.0, 2.0, 2.5, 7.0], n),
        }
    ).to_csv(tmp_path / "visits.csv", index=False)
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def test_verify_audits_every_query_and_spends_nothing(workdir: Path) -> None:
    out = workdir / "audit.json"
    page = workdir / "audit.html"
    result = runner.invoke(
        app,
        [
            "verify",
            str(workdir / "spec.yaml"),
            "--dataset",
            "visits",
            "--runs",
            "4000",
            "--sample",
            "60",
            "--json",
            str(out),
            "--html",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["dataset"] == "visits" and not document["violated"]
    assert [q["name"] for q in document["queries"]] == ["visits by place", "minutes"]
    for query in document["queries"]:
        audit_doc = query["audit"]
        assert audit_doc["claimed"] == PureDP(Fraction(1, 2)).to_dict()  # each query's share
        assert audit_doc["epsilon_lower_bound"] <= audit_doc["claimed_epsilon"]
        # a CSV is read as text, so its user ids are strings: NULL ids, not NaN ones
        assert any("NULL user id" in p["pair"] for p in audit_doc["pairs"])
    assert "Empirical privacy audit" in page.read_text(encoding="utf-8")
    assert "no budget spent" in " ".join(result.output.split())
    assert not (workdir / "default-ledger.sqlite3").exists()
    assert not (workdir / "spec-ledger.sqlite3").exists()


def test_verify_json_to_stdout(workdir: Path) -> None:
    result = runner.invoke(
        app,
        ["verify", str(workdir / "spec.yaml"), "--runs", "1000", "--sample", "30", "--json", "-"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["schema_version"] == SCHEMA_VERSION


def test_verify_refuses_a_conflicting_dataset_and_a_missing_spec(workdir: Path) -> None:
    result = runner.invoke(app, ["verify", str(workdir / "spec.yaml"), "--dataset", "other"])
    assert result.exit_code == 2
    assert "'visits'" in result.output and "--dataset other" in result.output
    missing = runner.invoke(app, ["verify", str(workdir / "nope.yaml")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_a_disproved_claim_is_a_violation_with_its_own_exit_code() -> None:
    """What `verify` exits with 3 on: a real audit of a release whose noise is calibrated to a
    sensitivity one unit too small."""
    bad = audit(TooLittleNoise(Sum("x", 0, 4, step=1), Rows(), PureDP(1)), frame(), runs=20_000)
    good = audit(Sum("x", 0, 4, step=1), frame(), budget=PureDP(1), runs=2_000)
    result = VerifyResult(
        "spec.yaml", "d", "t", 40, (VerifiedQuery("good", good), VerifiedQuery("bad", bad))
    )
    assert result.violated and result.to_dict()["violated"]
    assert list(result.to_frame()["verdict"]) == ["ok", "VIOLATED"]
    assert VIOLATED_EXIT_CODE not in (0, 1, 2)


def test_verify_audits_each_query_at_the_budget_left_after_the_bounding_report(
    workdir: Path,
) -> None:
    """With ``bounding_share: 1/2`` the queries share half of epsilon 1, as ``ethica release``
    spends it: each is audited at epsilon 1/4, not at its share of the whole budget."""
    spec = workdir / "spec.yaml"
    spec.write_text(SPEC.replace("budget:", "bounding_share: 1/2\nbudget:"), encoding="utf-8")
    out = workdir / "audit.json"
    result = runner.invoke(
        app, ["verify", str(spec), "--runs", "1000", "--sample", "30", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    for query in document["queries"][:-1]:
        assert query["audit"]["claimed"] == PureDP(Fraction(1, 4)).to_dict()
    whole = document["queries"][-1]
    assert whole["name"] == "the whole release with its bounding report"
    assert whole["audit"]["claimed"] == PureDP(1).to_dict()  # queries and report together
    assert whole["audit"]["epsilon_lower_bound"] <= 1
    assert any(
        c["component"].startswith("report")
        for p in whole["audit"]["pairs"]
        for c in p["sensitivity"]
    )


def test_verify_exits_3_when_the_real_command_audits_a_broken_release(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole command on a release whose noise is one sensitivity unit too small: exit 3."""
    import ethica.workflows._verify as verify_module

    def broken(query: object, unit: object, budget: object, confidence: object) -> TooLittleNoise:
        return TooLittleNoise(query, unit, budget)  # type: ignore[arg-type]

    monkeypatch.setattr(verify_module, "QueryMechanism", broken)
    spec = workdir / "spec.yaml"
    spec.write_text(SPEC.split("queries:")[0] + ONE_SUM, encoding="utf-8")
    result = runner.invoke(app, ["verify", str(spec), "--runs", "20000", "--sample", "60"])
    assert result.exit_code == VIOLATED_EXIT_CODE, result.output
    assert "VIOLATED" in result.output or "disproved" in result.output


ONE_SUM = """\
queries:
  - name: minutes
    sum: {column: minutes, lower: 0, upper: 4, step: 1}
"""


def test_verify_samples_whole_users_in_the_engine(workdir: Path) -> None:
    """--sample 40 under a user-level unit: the base holds every row of 40 users, no more."""
    out = workdir / "audit.json"
    result = runner.invoke(
        app,
        [
            "verify",
            str(workdir / "spec.yaml"),
            "--runs",
            "500",
            "--sample",
            "40",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = pd.read_csv(workdir / "visits.csv")
    per_user = data.groupby("person").size()
    base_rows = json.loads(out.read_text(encoding="utf-8"))["base_rows"]
    assert per_user.nsmallest(40).sum() <= base_rows <= per_user.nlargest(40).sum()
    assert base_rows < len(data)
