"""Session: budgets charged before release; refusals release nothing and leave the ledger alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    SchemaError,
)
from ethica._results import SCHEMA_VERSION
from ethica.privacy import (
    ZCDP,
    ApproxDP,
    Batch,
    Count,
    Ledger,
    Mean,
    PureDP,
    Rows,
    Session,
    Sum,
    UserLevel,
)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    book = Ledger(tmp_path / "ledger.sqlite3")
    book.create_dataset("adult", PureDP(1), privacy_unit=Rows())
    yield book
    book.close()


def _history(ledger: Ledger) -> list[str]:
    return [r.status for r in ledger.history("adult")]


def test_release_is_charged_before_it_is_returned(
    adult_train: pd.DataFrame, ledger: Ledger
) -> None:
    session = Session(
        adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger, dataset="adult"
    )
    release = session.evaluate(Count(), PureDP(0.5))
    records = ledger.history("adult")
    assert [r.status for r in records] == ["released"]
    assert records[0].cost == PureDP(0.5)
    assert records[0].output_hash is not None
    assert session.remaining == PureDP(0.5)
    assert abs(release.value - len(adult_train)) < 60
    assert release.to_dict()["schema_version"] == SCHEMA_VERSION


def test_over_budget_is_refused_with_nothing_charged(
    adult_train: pd.DataFrame, ledger: Ledger
) -> None:
    session = Session(
        adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger, dataset="adult"
    )
    session.evaluate(Count(), PureDP(0.75))
    refusal = r"only PureDP.*left.*nothing was read, released or charged"
    with pytest.raises(BudgetExceededError, match=refusal) as err:
        session.evaluate(Count(), PureDP(0.5))
    assert err.value.requested == PureDP(0.5)
    assert _history(ledger) == ["released"]
    assert ledger.status("adult").remaining == PureDP(0.25)


def test_ledger_shared_between_sessions_limits_both(
    adult_train: pd.DataFrame, ledger: Ledger
) -> None:
    first = Session(
        adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger, dataset="adult"
    )
    second = Session(
        adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger, dataset="adult"
    )
    first.evaluate(Count(), PureDP(0.75))
    with pytest.raises(BudgetExceededError):
        second.evaluate(Count(), PureDP(0.5))
    assert _history(ledger) == ["released"]


def test_unknown_column_charges_nothing(adult_train: pd.DataFrame, ledger: Ledger) -> None:
    session = Session(
        adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger, dataset="adult"
    )
    with pytest.raises(SchemaError, match="'salary' not found"):
        session.evaluate(Sum("salary", 0, 10), PureDP(0.5))
    assert _history(ledger) == []
    assert session.remaining == PureDP(1)


def test_private_keys_without_delta_are_refused(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=PureDP(1))
    with pytest.raises(InvalidParameterError, match=r"private keys.*delta.*ApproxDP.*keys="):
        session.evaluate(Count(by="race"), PureDP(0.5))
    assert session.remaining == PureDP(1)


def test_budget_kind_must_match(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=ZCDP(1))
    with pytest.raises(InvalidParameterError, match="spends ZCDP budgets"):
        session.evaluate(Count(), PureDP(0.5))


def test_private_keys_with_delta_release_real_groups(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=ApproxDP(1, 1e-6))
    table = session.evaluate(Count(by="race"), ApproxDP(1, 1e-6)).table()
    assert set(k[0] for k in table.keys) <= set(adult_train["race"])
    assert len(table.keys) == adult_train["race"].nunique()  # every race has > 250 rows
    assert table.notes["threshold"] > 1


def test_user_id_with_nulls_needs_a_choice() -> None:
    """Refusing missing ids looks at the column's type only, so it is free and leaks nothing;
    the default drops rows without an id and says so."""
    frame = pd.DataFrame({"user": [1.0, None, 2.0], "x": [1, 2, 3]})
    strict = Session(frame, privacy_unit=UserLevel("user", nulls="error"), budget=PureDP(1))
    with pytest.raises(SchemaError, match=r"admits missing ids.*nulls='drop'"):
        strict.evaluate(Count(), PureDP(1))
    assert strict.remaining == PureDP(1)
    relaxed = Session(frame, privacy_unit=UserLevel("user"), budget=PureDP(1))
    table = relaxed.evaluate(Count(), PureDP(1)).tables[0]
    assert table.statistic == "count" and "not released" in table.notes["rows_without_user"]


def test_batch_shares_the_budget_by_weight(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=PureDP(3))
    release = session.evaluate(Batch((Count(), Mean("age", 0, 100)), weights=(1, 2)), PureDP(3))
    assert [t.budget for t in release.tables] == [PureDP(1), PureDP(2)]
    assert session.remaining.epsilon == 0  # type: ignore[union-attr]
    frame = release.to_frame()
    assert list(frame.columns) == ["table", "value", "ci_low", "ci_high"]
    assert frame["ci_low"].le(frame["value"]).all()
    assert "<table" in release._repr_html_()


def test_ledger_needs_a_dataset_name_for_frames(adult_train: pd.DataFrame, ledger: Ledger) -> None:
    with pytest.raises(InvalidParameterError, match="pass dataset="):
        Session(adult_train, privacy_unit="rows", budget=PureDP(1), ledger=ledger)
