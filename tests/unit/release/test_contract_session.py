"""The privacy contract, session and ledger side: reserve then read, replay-safe request ids,
both caps enforced componentwise, a lock between check and spend, budgets tied to a
registered dataset and its privacy unit (issue 9, findings 1 and 3-6)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
    ReleaseFailedError,
    ReplayedRequestError,
)
from ethica.privacy import (
    ApproxDP,
    Count,
    Ledger,
    PureDP,
    Rows,
    Session,
    Sum,
    UserLevel,
)

SECRET = "record-4711-salary-93512"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as book:
        book.create_dataset("visits", PureDP(2), privacy_unit=Rows())
        yield book
        book.close()


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"user": [1, 1, 2, 3], "x": [1.0, 2.0, 3.0, 4.0], "g": list("abab")})


def _failing_table() -> ibis.Table:
    """A table whose schema is fine but whose rows make the engine fail, with a private value
    in the engine's message (a string cast at run time)."""
    con = ibis.duckdb.connect()
    con.raw_sql(f"CREATE TABLE raw AS SELECT * FROM (VALUES ('1'), ('{SECRET}')) t(s)")
    con.raw_sql("CREATE VIEW v AS SELECT CAST(s AS INTEGER) AS x FROM raw")
    return con.table("v")


# ------------------------------------------------------------ 1. reserve, then read
def test_engine_error_after_the_charge_is_generic_and_charged(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("v", PureDP(1), privacy_unit=Rows())
        session = Session(
            _failing_table(), privacy_unit=Rows(), budget=PureDP(1), ledger=book, dataset="v"
        )
        with pytest.raises(ReleaseFailedError) as failed:
            session.evaluate(Sum("x", 0, 10), PureDP(Fraction(1, 2)))
        message = str(failed.value)
        assert SECRET not in message and "4711" not in message and "Conversion" not in message
        assert failed.value.__cause__ is None and failed.value.__context__ is None
        (record,) = book.history("v")
        assert record.status == "failed" and SECRET not in (record.error or "")
        assert book.status("v").remaining == PureDP(Fraction(1, 2))  # the charge stands
        assert session.remaining == PureDP(Fraction(1, 2))
        book.close()


def test_schema_errors_are_free(ledger: Ledger, frame: pd.DataFrame) -> None:
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(1), ledger=ledger, dataset="visits")
    with pytest.raises(Exception, match="'salary'"):
        session.evaluate(Sum("salary", 0, 1), PureDP(1))
    with pytest.raises(InvalidParameterError, match="private keys"):
        session.evaluate(Count(by="g"), PureDP(1))
    assert ledger.history("visits") == [] and session.remaining == PureDP(1)


def test_the_charge_is_recorded_before_the_engine_reads(
    ledger: Ledger, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the engine is reached, the ledger already holds the charge."""
    import ethica.privacy.release._session as session_module

    seen: list[list[str]] = []
    real = session_module.evaluate_parts

    def spy(*args: object, **kwargs: object) -> object:
        seen.append([r.status for r in ledger.history("visits")])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(session_module, "evaluate_parts", spy)
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(1), ledger=ledger, dataset="visits")
    session.evaluate(Count(), PureDP(1))
    assert seen == [["charged"]]
    assert [r.status for r in ledger.history("visits")] == ["released"]


# ------------------------------------------------------------- 3. request ids replay
def test_replayed_request_returns_the_stored_release_without_new_noise(
    ledger: Ledger, frame: pd.DataFrame
) -> None:
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits")
    first = session.evaluate(Count(), PureDP(Fraction(1, 100)), request_id="r1")
    for _ in range(5):  # with fresh noise at eps=0.01, five replays would almost surely differ
        again = session.evaluate(Count(), PureDP(Fraction(1, 100)), request_id="r1")
        assert again.to_dict() == first.to_dict()
    assert len(ledger.history("visits")) == 1
    assert ledger.status("visits").spent == PureDP(Fraction(1, 100))


def test_request_id_reused_for_another_query_or_cost_is_refused(
    ledger: Ledger, frame: pd.DataFrame
) -> None:
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits")
    session.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="r1")
    with pytest.raises(LedgerError, match="another request"):
        session.evaluate(Count(), PureDP(Fraction(1, 2)), request_id="r1")
    with pytest.raises(LedgerError, match="another request"):
        session.evaluate(Sum("x", 0, 4), PureDP(Fraction(1, 4)), request_id="r1")
    assert len(ledger.history("visits")) == 1


def test_request_ids_are_scoped_to_their_dataset(ledger: Ledger) -> None:
    ledger.create_dataset("other", PureDP(1), privacy_unit=Rows())
    a = ledger.record_charge("visits", PureDP(Fraction(1, 2)), "count", request_id="same")
    b = ledger.record_charge("other", PureDP(Fraction(1, 2)), "count", request_id="same")
    assert not b.replayed and b.dataset == "other" and a.id != b.id
    assert ledger.status("other").spent == PureDP(Fraction(1, 2))  # B really paid


def test_charge_block_never_runs_twice_for_a_request_id(ledger: Ledger) -> None:
    runs = []
    with ledger.charge("visits", PureDP(Fraction(1, 4)), "count", request_id="once") as c:
        runs.append(1)
        c.set_output(42)
    with (
        pytest.raises(ReplayedRequestError) as replay,
        ledger.charge("visits", PureDP(Fraction(1, 4)), "count", request_id="once"),
    ):
        runs.append(2)
    assert runs == [1]
    assert replay.value.record.status == "released"  # type: ignore[attr-defined]


def test_crashed_request_is_not_run_again(ledger: Ledger, frame: pd.DataFrame) -> None:
    """A request charged but never completed (a crash) is not run again by a retry."""
    crashed = Session(frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits")
    crashed.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="lost", complete=False)
    retry = Session(frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits")
    with pytest.raises(LedgerError, match="never run twice"):
        retry.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="lost")
    assert ledger.status("visits").spent == PureDP(Fraction(1, 4))


def test_version_1_ledgers_migrate_with_their_history(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE datasets (name TEXT PRIMARY KEY, total TEXT NOT NULL,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL);
        CREATE TABLE charges (id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL REFERENCES datasets(name), cost TEXT NOT NULL,
            description TEXT NOT NULL, principal TEXT NOT NULL, created_at TEXT NOT NULL,
            status TEXT NOT NULL, output_hash TEXT, completed_at TEXT, error TEXT,
            request_id TEXT UNIQUE);
        CREATE INDEX charges_by_dataset ON charges(dataset);
        INSERT INTO datasets VALUES ('a', '{"epsilon": "1", "kind": "PureDP"}', 't', 'me');
        INSERT INTO charges (dataset, cost, description, principal, created_at, status,
            request_id) VALUES ('a', '{"epsilon": "1/4", "kind": "PureDP"}', 'c', 'me', 't',
            'released', 'r');
        PRAGMA application_id = 1163151409;
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    with Ledger(path) as book:
        assert book.status("a").spent == PureDP(Fraction(1, 4))
        assert book.status("a").privacy_unit is None
        frame = pd.DataFrame({"x": [1]})
        with pytest.raises(LedgerError, match="set_privacy_unit"):
            Session(frame, privacy_unit=Rows(), budget=PureDP(1), ledger=book, dataset="a")
        book.set_privacy_unit("a", Rows())
        with pytest.raises(LedgerError, match="never changed"):
            book.set_privacy_unit("a", UserLevel("user"))
        Session(frame, privacy_unit=Rows(), budget=PureDP(1), ledger=book, dataset="a")
        book.close()


# -------------------------------------------------- 4. both caps, componentwise
def test_session_cap_holds_under_approx_dp_when_caps_are_not_ordered(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    """Ledger (eps 5, delta 1e-9) vs session (eps 1, delta 1e-6): neither is below the other,
    and each component's smaller cap must hold."""
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("v", ApproxDP(5, Fraction(1, 10**9)), privacy_unit=Rows())
        session = Session(
            frame,
            privacy_unit=Rows(),
            budget=ApproxDP(1, Fraction(1, 10**6)),
            ledger=book,
            dataset="v",
        )
        with pytest.raises(BudgetExceededError, match="this session"):  # eps over the session's
            session.evaluate(Count(), ApproxDP(2, Fraction(1, 10**10)))
        with pytest.raises(BudgetExceededError, match="exceeds the budget left"):  # delta: ledger
            session.evaluate(Count(), ApproxDP(Fraction(1, 2), Fraction(1, 10**8)))
        assert book.history("v") == []
        book.close()


# --------------------------------------------------------- 5. lock between check and spend
def test_threads_cannot_overspend_a_session_without_ledger(frame: pd.DataFrame) -> None:
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(1))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def spend() -> None:
        barrier.wait()
        try:
            session.evaluate(Count(), PureDP(1))
            outcomes.append("released")
        except BudgetExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "released"]
    assert session.spent == PureDP(1)


# ----------------------------------------------- 6. budgets tied to a dataset and unit
def test_nothing_auto_creates_a_budget(tmp_path: Path, frame: pd.DataFrame) -> None:
    with Ledger(tmp_path / "l.sqlite3") as book:
        path = tmp_path / "visits.csv"
        frame.to_csv(path, index=False)
        with pytest.raises(InvalidParameterError, match="registered dataset"):
            Session(path, privacy_unit=Rows(), budget=PureDP(1), ledger=book)
        with pytest.raises(
            LedgerError, match=r"no dataset 'copy'.*create_dataset\('copy', total\)"
        ):
            Session(path, privacy_unit=Rows(), budget=PureDP(1), ledger=book, dataset="copy")
        assert book.datasets() == []
        book.close()


def test_a_release_under_another_unit_is_refused(ledger: Ledger, frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="protects the privacy unit rows"):
        Session(
            frame, privacy_unit=UserLevel("user"), budget=PureDP(1), ledger=ledger, dataset="visits"
        )
    ledger.create_dataset("by-user", PureDP(1), privacy_unit=UserLevel("user", 2, 1))
    # the same user column with other contribution bounds is the same unit
    Session(
        frame,
        privacy_unit=UserLevel("user", 3, 2),
        budget=PureDP(1),
        ledger=ledger,
        dataset="by-user",
    )
    with pytest.raises(InvalidParameterError, match="column 'user'"):
        Session(
            frame, privacy_unit=UserLevel("g"), budget=PureDP(1), ledger=ledger, dataset="by-user"
        )


def test_a_session_of_another_budget_kind_is_refused(ledger: Ledger, frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="holds a PureDP budget"):
        Session(
            frame,
            privacy_unit=Rows(),
            budget=ApproxDP(1, Fraction(1, 10**9)),
            ledger=ledger,
            dataset="visits",
        )


def test_deferred_completion_keeps_the_output_recoverable(
    ledger: Ledger, frame: pd.DataFrame
) -> None:
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits")
    release = session.evaluate(Count(), PureDP(1), complete=False)
    (record,) = ledger.history("visits")
    assert record.status == "charged" and record.output == release.to_dict()
    session.fail(release, "could not write the outputs")
    (record,) = ledger.history("visits")
    assert record.status == "failed" and record.output == release.to_dict()
    with pytest.raises(InvalidParameterError, match="no pending charge"):
        session.complete(release)


def test_threads_sharing_a_ledger_never_overspend_it(ledger: Ledger, frame: pd.DataFrame) -> None:
    """Threads with their own sessions over one Ledger object: the ledger's cap holds."""
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def spend() -> None:
        session = Session(
            frame, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits"
        )
        barrier.wait()
        try:
            session.evaluate(Count(), PureDP(Fraction(1, 2)))
            outcomes.append("released")
        except BudgetExceededError:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 2 + ["released"] * 4
    assert ledger.status("visits").spent == PureDP(2)


def test_a_request_id_never_replays_another_sources_release(
    ledger: Ledger, frame: pd.DataFrame
) -> None:
    """Two ibis tables that differ only in a filter are different requests."""
    table = ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))
    everyone = Session(
        table, privacy_unit=Rows(), budget=PureDP(2), ledger=ledger, dataset="visits"
    )
    some = Session(
        table.filter(table.x > 2),
        privacy_unit=Rows(),
        budget=PureDP(2),
        ledger=ledger,
        dataset="visits",
    )
    everyone.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="r")
    with pytest.raises(LedgerError, match="another request"):
        some.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="r")
    assert everyone.evaluate(Count(), PureDP(Fraction(1, 4)), request_id="r").tables
