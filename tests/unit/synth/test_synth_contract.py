"""synthesize keeps the privacy contract: the unit is checked for free; a failure after the
charge keeps it and says nothing that depends on the data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

import ethica.privacy.synth._synthesize as synthesize_module
from ethica._exceptions import InvalidParameterError, LedgerError, ReleaseFailedError
from ethica.privacy import ApproxDP, Ledger, Rows, UserLevel
from ethica.privacy.synth import Domain, synthesize

DOMAIN = Domain.from_dict({"columns": {"sex": {"categories": ["F", "M"]}}})
BUDGET = ApproxDP(1, Fraction(1, 10**9))


@pytest.fixture
def rows() -> pd.DataFrame:
    return pd.DataFrame({"sex": ["F", "M", "M", "F", "M"]})


def test_units_other_than_rows_refused_before_the_charge(
    rows: pd.DataFrame, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "ledger.db") as book:
        book.create_dataset("people", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=UserLevel("id"))
        book.create_dataset("no_unit", ApproxDP(2, Fraction(1, 10**6)))
        with pytest.raises(InvalidParameterError, match="rows"):
            synthesize(rows, domain=DOMAIN, budget=BUDGET, ledger=book, dataset="people")
        with pytest.raises(LedgerError, match="privacy unit"):
            synthesize(rows, domain=DOMAIN, budget=BUDGET, ledger=book, dataset="no_unit")
        assert book.history("people") == [] and book.history("no_unit") == []


def test_failure_after_the_charge_keeps_it_and_says_nothing(
    rows: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret value 42.125 from the data")

    monkeypatch.setattr(synthesize_module, "mst", broken)
    with Ledger(tmp_path / "ledger.db") as book:
        book.create_dataset("adult", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=Rows())
        with pytest.raises(ReleaseFailedError) as raised:
            synthesize(
                rows, domain=DOMAIN, budget=BUDGET, method="mst", ledger=book, dataset="adult"
            )
        assert "42.125" not in str(raised.value) and raised.value.__cause__ is None
        assert raised.value.__context__ is None
        assert [c.status for c in book.history("adult")] == ["failed"]
        assert book.status("adult").spent == BUDGET
