"""The budget ledger: charges, refusals, failure records, foreign and unwritable files."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ethica import BudgetExceededError, InvalidParameterError, LedgerError
from ethica.privacy import ZCDP, Ledger, PureDP, default_ledger_path, discrete_laplace, output_hash


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3", principal="alice") as book:
        book.create_dataset("adult", PureDP(1))
        yield book


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _foreign_sqlite(path: Path, *statements: str) -> Path:
    """An SQLite file written by some other application."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def test_charge_records_everything(ledger: Ledger) -> None:
    with ledger.charge("adult", PureDP(Fraction(1, 4)), "row count") as charge:
        noisy = 32561 + discrete_laplace(4, 1)
        charge.set_output(noisy)
    (record,) = ledger.history("adult")
    assert record.status == "released"
    assert record.output_hash == output_hash(noisy)
    assert (record.description, record.principal, record.cost) == (
        "row count",
        "alice",
        PureDP(Fraction(1, 4)),
    )
    assert record.created_at.endswith("+00:00") and record.completed_at is not None
    status = ledger.status("adult")
    assert status.spent == PureDP(Fraction(1, 4)) and status.remaining == PureDP(Fraction(3, 4))
    assert status.to_dict()["remaining"]["epsilon"] == "3/4"


def test_overspend_raises_with_requested_and_remaining_and_records_nothing(
    ledger: Ledger,
) -> None:
    ledger.record_charge("adult", PureDP(Fraction(3, 4)), "first")
    ran = False
    with (
        pytest.raises(BudgetExceededError, match="exceeds the budget left") as info,
        ledger.charge("adult", PureDP(Fraction(1, 2)), "too much"),
    ):
        ran = True
    assert not ran  # nothing released
    assert info.value.requested == PureDP(Fraction(1, 2))
    assert info.value.remaining == PureDP(Fraction(1, 4))
    assert [r.description for r in ledger.history("adult")] == ["first"]


def test_exact_spending_to_zero_then_nothing_more(ledger: Ledger) -> None:
    for _ in range(10):
        ledger.record_charge("adult", PureDP(Fraction(1, 10)), "tenth")
    remaining = ledger.status("adult").remaining
    assert isinstance(remaining, PureDP) and remaining.epsilon == 0
    with pytest.raises(BudgetExceededError):
        ledger.record_charge("adult", PureDP(Fraction(1, 10**9)), "crumb")


def test_failed_release_stays_recorded_as_failed_and_spent(ledger: Ledger) -> None:
    with (
        pytest.raises(ZeroDivisionError),
        ledger.charge("adult", PureDP(Fraction(1, 2)), "ratio"),
    ):
        _ = 1 / 0
    (record,) = ledger.history("adult")
    assert record.status == "failed" and "ZeroDivisionError" in (record.error or "")
    assert ledger.status("adult").remaining == PureDP(Fraction(1, 2))


def test_two_phase_api_and_single_completion(ledger: Ledger) -> None:
    record = ledger.record_charge("adult", PureDP(Fraction(1, 5)), "mean income")
    assert record.status == "charged"
    ledger.complete(record.id, output=np.array([1, 2, 3]))
    with pytest.raises(LedgerError, match="not pending"):
        ledger.fail(record.id, "late")


def test_request_id_makes_retries_idempotent(ledger: Ledger) -> None:
    first = ledger.record_charge("adult", PureDP(Fraction(1, 2)), "count", request_id="r-1")
    again = ledger.record_charge("adult", PureDP(Fraction(1, 2)), "count", request_id="r-1")
    assert again.id == first.id and again.replayed and not first.replayed
    assert ledger.status("adult").charges == 1


def test_a_request_id_never_replays_another_principals_charge(ledger: Ledger) -> None:
    """A replay returns the stored output: only to the principal who paid for it, and the
    refusal does not describe the other principal's request."""
    cost = PureDP(Fraction(1, 2))
    ledger.record_charge("adult", cost, "alice's secret count", request_id="r-1", principal="a")
    with pytest.raises(LedgerError, match="another principal") as refused:
        ledger.record_charge("adult", cost, "alice's secret count", request_id="r-1", principal="b")
    assert "secret" not in str(refused.value)
    assert ledger.status("adult").charges == 1


def test_cost_of_another_kind_is_refused_with_the_fix(ledger: Ledger) -> None:
    with pytest.raises(InvalidParameterError, match=r"holds a PureDP budget.*convert explicitly"):
        ledger.record_charge("adult", ZCDP(Fraction(1, 10)), "gaussian count")
    assert ledger.history("adult") == []


def test_unknown_and_duplicate_datasets(ledger: Ledger) -> None:
    with pytest.raises(
        LedgerError, match=r"no dataset 'german'.*create_dataset\('german', total\)"
    ):
        ledger.record_charge("german", PureDP(1), "x")
    with pytest.raises(LedgerError, match="already exists"):
        ledger.create_dataset("adult", PureDP(5))
    with pytest.raises(InvalidParameterError, match="description"):
        ledger.record_charge("adult", PureDP(1), "")
    with pytest.raises(InvalidParameterError, match="name"):
        ledger.create_dataset("  ", PureDP(1))


def test_ledger_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger(path) as book:
        book.create_dataset("adult", ZCDP(Fraction(1, 2)))
        book.record_charge("adult", ZCDP(Fraction(1, 8)), "sum")
    with Ledger(path) as book:
        assert book.status("adult").remaining == ZCDP(Fraction(3, 8))


def test_foreign_sqlite_file_is_rejected_and_untouched(tmp_path: Path) -> None:
    path = _foreign_sqlite(tmp_path / "other.db", "CREATE TABLE notes (x TEXT)")
    before = _fingerprint(path)
    with pytest.raises(LedgerError, match=r"another application.*untouched.*ETHICA_LEDGER"):
        Ledger(path)
    assert _fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_sqlite_file_of_another_app_id_is_rejected(tmp_path: Path) -> None:
    path = _foreign_sqlite(
        tmp_path / "app.db", "PRAGMA application_id = 1234", "CREATE TABLE t (x)"
    )
    before = _fingerprint(path)
    with pytest.raises(LedgerError, match="application_id 0x4d2"):
        Ledger(path)
    assert _fingerprint(path) == before


def test_corrupted_file_is_rejected_and_untouched(tmp_path: Path) -> None:
    good = tmp_path / "ledger.sqlite3"
    with Ledger(good) as book:
        book.create_dataset("adult", PureDP(1))
    data = bytearray(good.read_bytes())
    data[:100] = b"\x00garbage" * 12 + b"junk"  # destroy the header
    good.write_bytes(bytes(data))
    before = _fingerprint(good)
    with pytest.raises(LedgerError, match=r"not a readable ethica ledger.*untouched"):
        Ledger(good)
    assert _fingerprint(good) == before


def test_text_file_is_rejected_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my thesis, not a ledger\n" * 100)
    before = _fingerprint(path)
    with pytest.raises(LedgerError, match=r"notes.txt"):
        Ledger(path)
    assert _fingerprint(path) == before


def test_read_only_location_names_path_and_fix() -> None:
    path = Path("/proc/ethica-ledger.sqlite3")  # read-only for every user, root included
    with pytest.raises(LedgerError) as info:
        Ledger(path)
    message = str(info.value)
    assert str(path) in message and "ETHICA_LEDGER" in message and "Ledger(path=...)" in message


def test_missing_directory_of_explicit_path_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="ETHICA_LEDGER"):
        Ledger(tmp_path / "no" / "such" / "dir" / "l.sqlite3")


def test_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETHICA_LEDGER", str(tmp_path / "env.sqlite3"))
    assert default_ledger_path() == tmp_path / "env.sqlite3"
    with Ledger() as book:
        assert book.path == tmp_path / "env.sqlite3"
    monkeypatch.delenv("ETHICA_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_ledger_path() == tmp_path / "xdg" / "ethica" / "ledger.sqlite3"
    with Ledger() as book:  # creates the user data directory
        book.create_dataset("d", PureDP(1))
    assert (tmp_path / "xdg" / "ethica" / "ledger.sqlite3").exists()


def test_records_render_as_frames_and_html(ledger: Ledger) -> None:
    with ledger.charge("adult", PureDP(Fraction(1, 4)), "row count") as charge:
        charge.set_output(7)
    frame = ledger.status("adult").to_frame()
    assert frame.loc[0, "remaining.epsilon"] == 0.75 and frame.loc[0, "total.kind"] == "PureDP"
    record = ledger.history("adult")[0]
    assert record.to_frame().loc[0, "cost.epsilon"] == 0.25
    assert "<table" in record._repr_html_() and "row count" in record._repr_html_()


def test_has_dataset_tells_registered_names(ledger: Ledger) -> None:
    assert ledger.has_dataset("adult")
    assert not ledger.has_dataset("german")
    ledger.create_dataset("german", PureDP(1))
    assert ledger.has_dataset("german")
