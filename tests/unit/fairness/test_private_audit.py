"""ethica.audit(..., privacy=...): the privacy contract, declared groups, results, refusals."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ethica
from ethica._exceptions import BudgetExceededError, InvalidParameterError, SchemaError
from ethica.data import Bins
from ethica.fairness._private_audit import PrivateAuditResult
from ethica.privacy import ZCDP, Ledger, PureDP, Rows, UserLevel


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 6000
    sex = rng.choice(["F", "M"], n)
    age = rng.integers(18, 80, n)
    y = rng.binomial(1, 0.4, n)
    yhat = rng.binomial(1, np.where(sex == "F", 0.25, 0.5))
    person = rng.integers(0, 3000, n)
    return pd.DataFrame({"sex": sex, "age": age, "y": y, "yhat": yhat, "person": person})


def _ledger(tmp_path: Path, unit: object = None) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.create_dataset("loans", PureDP(2), privacy_unit=unit or Rows())
    return ledger


def test_private_audit_charges_the_ledger_and_returns_a_full_result(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    ledger = _ledger(tmp_path)
    result = ethica.audit(
        frame,
        label="y",
        prediction="yhat",
        protected=["sex", Bins("age", edges=[40])],
        groups={"sex": ["F", "M"]},
        privacy=PureDP(1),
        ledger=ledger,
        dataset="loans",
    )
    assert isinstance(result, PrivateAuditResult)
    assert ledger.status("loans").spent == PureDP(1)
    assert [c.status for c in ledger.history("loans")] == ["released"]
    assert result.privacy is not None and result.privacy.cells == 2 * 2 * 4
    assert result.privacy.mechanism == "discrete Laplace"
    # noisy counts: near the truth, not equal to it in general; all intervals present
    assert abs(result.n_rows - len(frame)) < 100
    labels = {g.group for g in result.groups}
    assert ("F", "< 40") in labels and ("M", ">= 40") in labels
    head = result.headline()
    assert head.name == "demographic_parity" and head.verdict == "fail"  # 0.25 vs 0.5
    assert all(p.p_value is None for p in result.disparities)
    doc = result.to_dict()
    json.dumps(doc)
    assert doc["privacy"]["budget"]["kind"] == "PureDP"
    assert doc["privacy"]["budget"]["epsilon"] == "1"
    assert len(doc["privacy"]["release"]["tables"][0]["values"]) == 16
    ratio = result.privacy.median_width_ratio()
    assert ratio is not None and ratio > 1.0  # privacy always costs some width


def test_private_intervals_are_wider_than_exact_and_overlap_it(frame: pd.DataFrame) -> None:
    kwargs = {"label": "y", "prediction": "yhat", "protected": ["sex"]}
    exact = ethica.audit(frame, **kwargs)
    private = ethica.audit(
        frame, **kwargs, groups={"sex": ["F", "M"]}, privacy=PureDP(Fraction(1, 2))
    )
    for e, p in zip(exact.groups, private.groups, strict=True):
        ee, pe = e.metrics["selection_rate"], p.metrics["selection_rate"]
        assert None not in (ee.ci_low, ee.ci_high, pe.ci_low, pe.ci_high)
        assert pe.ci_high - pe.ci_low > ee.ci_high - ee.ci_low  # type: ignore[operator]
        assert pe.ci_low <= ee.value <= pe.ci_high  # type: ignore[operator]


def test_zcdp_uses_gaussian_noise(frame: pd.DataFrame) -> None:
    result = ethica.audit(
        frame, label="y", prediction="yhat", protected="sex", groups=["sex=F,M"], privacy=ZCDP(1)
    )
    assert isinstance(result, PrivateAuditResult) and result.privacy is not None
    assert result.privacy.mechanism == "discrete Gaussian"


def test_user_level_unit(frame: pd.DataFrame, tmp_path: Path) -> None:
    unit = UserLevel("person", max_groups_per_user=1, max_rows_per_group=2)
    ledger = _ledger(tmp_path, unit)
    result = ethica.audit(
        frame,
        label="y",
        prediction="yhat",
        protected=["sex"],
        groups={"sex": ["F", "M"]},
        privacy=PureDP(1),
        privacy_unit=unit,
        ledger=ledger,
        dataset="loans",
    )
    assert isinstance(result, PrivateAuditResult) and result.privacy is not None
    assert result.privacy.privacy_unit["column"] == "person"
    # one user changes at most 1 cell by 2 rows: L1 sensitivity 2, scale 2 / epsilon
    assert list(result.privacy.noise.values()) == ["2"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": None}, "needs the groups of 'sex' declared"),
        ({"protected": [Bins("age", quantiles=4)], "groups": None}, "quantiles"),
        ({"harm": "calibration"}, "score bins"),
        ({"subgroups": True}, "does not take subgroups"),
        ({"groups": {"sex": ["F", "M"], "race": ["a"]}}, "not protected"),
        ({"reference": "sex=X"}, "not a declared group"),
        ({"groups": {"sex": ["F", "F"]}}, "more than once"),
        ({"privacy_unit": UserLevel("sex", 1, 1)}, "user column 'sex' is also a protected"),
    ],
)
def test_refusals_cost_nothing(
    frame: pd.DataFrame, tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    ledger = _ledger(tmp_path)
    call: dict[str, object] = {
        "label": "y",
        "prediction": "yhat",
        "protected": ["sex"],
        "groups": {"sex": ["F", "M"]},
        "privacy": PureDP(1),
        "ledger": ledger,
        "dataset": "loans",
    }
    call.update(kwargs)
    with pytest.raises(InvalidParameterError, match=match):
        ethica.audit(frame, **call)  # type: ignore[arg-type]
    assert ledger.status("loans").spent.epsilon == 0


def test_schema_errors_and_overspending_cost_nothing(frame: pd.DataFrame, tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    common = {"prediction": "yhat", "protected": ["sex"], "groups": {"sex": ["F", "M"]}}
    with pytest.raises(SchemaError, match="not in the source"):
        ethica.audit(
            frame, label="nope", privacy=PureDP(1), ledger=ledger, dataset="loans", **common
        )  # type: ignore[arg-type]
    with pytest.raises(BudgetExceededError):
        ethica.audit(frame, label="y", privacy=PureDP(3), ledger=ledger, dataset="loans", **common)  # type: ignore[arg-type]
    assert ledger.status("loans").spent.epsilon == 0


def test_csv_source_is_read_as_text_and_positive_value_parsed(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    rows = ["g,y,yhat"] + [f"{'a' if i % 2 else 'b'},{i % 3 == 0:d},1.0" for i in range(400)]
    rows += ["c,1,1", "a,,1", "b,1,oops"]  # undeclared group, missing label, bad decision
    path.write_text("\n".join(rows) + "\n")
    result = ethica.audit(
        str(path),
        label="y",
        prediction="yhat",
        protected=["g"],
        groups={"g": ["a", "b"]},
        privacy=PureDP(1),
    )
    assert isinstance(result, PrivateAuditResult)
    sel = result.overall.metrics["selection_rate"]
    assert sel.ci_high == 1.0 and sel.value is not None and sel.value > 0.95
    assert abs(result.n_rows - 400) < 15  # the three odd rows are not counted


def test_text_positive_label(frame: pd.DataFrame) -> None:
    text = frame.assign(y=np.where(frame["y"] == 1, "good", "bad"))
    result = ethica.audit(
        text,
        label="y",
        prediction="yhat",
        protected=["sex"],
        groups={"sex": ["F", "M"]},
        positive_label="good",
        positive_prediction=1,
        privacy=PureDP(1),
    )
    base = result.overall.metrics["base_rate"]
    assert base.ci_low is not None and base.ci_high is not None
    assert base.ci_low < 0.4 < base.ci_high


def test_replayed_request_returns_the_stored_release(frame: pd.DataFrame, tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    call = {
        "label": "y",
        "prediction": "yhat",
        "protected": ["sex"],
        "groups": {"sex": ["F", "M"]},
        "privacy": PureDP(1),
        "ledger": ledger,
        "dataset": "loans",
    }
    from ethica.workflows._private_audit import private_audit

    first = private_audit(frame, request_id="audit-1", **call)  # type: ignore[arg-type]
    second = private_audit(frame, request_id="audit-1", **call)  # type: ignore[arg-type]
    assert ledger.status("loans").spent == PureDP(1)
    assert first.n_rows == second.n_rows
    assert [g.n for g in first.groups] == [g.n for g in second.groups]


def test_a_mis_coded_positive_value_is_named_in_the_notes(frame: pd.DataFrame) -> None:
    """positive_label=7 on a 0/1 label cannot be refused for free; the noisy counts show it."""
    common = {"protected": ["sex"], "groups": {"sex": ["F", "M"]}, "privacy": PureDP(1)}
    wrong = ethica.audit(frame, label="y", prediction="yhat", positive_label=7, **common)  # type: ignore[arg-type]
    right = ethica.audit(frame, label="y", prediction="yhat", **common)  # type: ignore[arg-type]
    absent = [n for n in wrong.notes if "indistinguishable from absent" in n]
    assert len(absent) == 2  # the label's and (by default the same value) the decision's
    assert "positive_label" in absent[0] and "positive_prediction" in absent[1]
    assert all(d.verdict not in ("pass", "fail") for d in wrong.definitions)
    assert not [n for n in right.notes if "indistinguishable from absent" in n]
