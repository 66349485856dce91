"""Adversarial review of the privacy contract (after issue 9's fixes).

Each test plays a malicious analyst with the public API (``Session``, ``Ledger``, the
``ethica release`` CLI, spec files). Tests headed "fixed (was an open hole)" failed when
the review found them and pass since the fix; the others check that a defence holds.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    ReleaseFailedError,
    SchemaError,
)
from ethica.cli import app
from ethica.privacy import (
    ApproxDP,
    Batch,
    BoundsEstimate,
    Count,
    Histogram,
    Ledger,
    Mean,
    PureDP,
    Quantiles,
    Rows,
    Session,
    Sum,
    UserLevel,
    Variance,
)
from ethica.privacy.release._evaluate import Part, aggregate_parts
from ethica.privacy.release._queries import Query
from ethica.privacy.release._sensitivity import cell_sensitivity

runner = CliRunner()
SECRET = "SECRET-4711"


# --------------------------------------------------------------------------- helpers
def _outcome(make: Callable[[], Session], query: Query, budget: PureDP) -> tuple[str, object]:
    """What an analyst observes *before noise*: released (and what was spent) or the kind
    of refusal (and what was spent)."""
    session: Session | None = None
    try:
        session = make()
        session.evaluate(query, budget)
    except Exception as error:  # the kind of error is the observation
        return type(error).__name__, None if session is None else session.spent
    return "released", session.spent


def _csv(path: Path, rows: list[str], header: str = "income,grp") -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _max_change(
    parts: list[Part],
    unit: UserLevel,
    base: pd.DataFrame,
    extra: pd.DataFrame,
    repeats: int = 10,
) -> dict[tuple[str, str], tuple[int, int, Fraction, Fraction]]:
    """Per component: the largest L1 and squared L2 change of the engine's exact aggregate
    when one user (``extra``) is added, over ``repeats`` bounding draws, next to the
    sensitivity the release claims. Base rows must lie on every grid (no rounding draw)."""
    neighbour = pd.concat([base, extra], ignore_index=True)
    out: dict[tuple[str, str], tuple[int, int, Fraction, Fraction]] = {}
    for _ in range(repeats):
        a = aggregate_parts(base, parts, unit)
        b = aggregate_parts(neighbour, parts, unit)
        for part, pa_, pb in zip(parts, a.parts, b.parts, strict=True):
            index_a = {k: i for i, k in enumerate(pa_.keys)}
            index_b = {k: i for i, k in enumerate(pb.keys)}
            for ca, cb in zip(pa_.components, pb.components, strict=True):
                diff = [
                    abs(
                        (int(cb.values[index_b[k]]) if k in index_b else 0)
                        - (int(ca.values[index_a[k]]) if k in index_a else 0)
                    )
                    for k in set(index_a) | set(index_b)
                ]
                claimed = cell_sensitivity(unit, ca.per_row, grouped=pa_.grouped, finest=pa_.finest)
                l1, l2 = sum(diff), sum(d * d for d in diff)
                old = out.get((part.name, ca.name), (0, 0, claimed.l1, claimed.l2_squared))
                out[(part.name, ca.name)] = (
                    max(old[0], l1),
                    max(old[1], l2),
                    claimed.l1,
                    claimed.l2_squared,
                )
    return out


def _violations(
    changes: dict[tuple[str, str], tuple[int, int, Fraction, Fraction]],
) -> dict[tuple[str, str], tuple[int, int, Fraction, Fraction]]:
    return {k: v for k, v in changes.items() if v[0] > v[2] or v[1] > v[3]}


# ============================================================================ HOLES
# ----------------------------------------------- H1 (high): sensitivity k times too small
# fixed (was an open hole): H1: an ungrouped part (Count(), Mean(x)) in a Batch with grouped parts
# under UserLevel(max_groups_per_user=k) is computed from the finest cells, where a user keeps k
# cells, but cell_sensitivity(grouped=False) uses k=1: one user moves the total by k*m rows while
# the noise is calibrated to m. Fix: k applies whenever finest is False.
def test_ungrouped_part_of_a_grouped_batch_has_the_users_full_contribution() -> None:
    unit = UserLevel("uid", max_groups_per_user=3, max_rows_per_group=2)
    base = pd.DataFrame({"uid": range(30), "a": [i % 3 for i in range(30)], "x": [0.0] * 30})
    extra = pd.DataFrame({"uid": [999] * 30, "a": [i % 3 for i in range(30)], "x": [-10.0] * 30})
    parts = [
        Part("by a", Count(by="a", keys={"a": [0, 1, 2]}), PureDP(1)),
        Part("total", Count(), PureDP(1)),
        Part("mean", Mean("x", lower=-10, upper=3), PureDP(1)),
    ]
    changes = _max_change(parts, unit, base, extra)
    assert changes[("total", "n")][0] == 6  # the user really moves the total by k*m = 6 rows
    assert _violations(changes) == {}


# fixed (was an open hole): H1 seen from the public API: the reported sensitivity
def test_release_reports_the_sensitivity_of_the_total_in_a_grouped_batch() -> None:
    unit = UserLevel("uid", max_groups_per_user=4, max_rows_per_group=1)
    frame = pd.DataFrame({"uid": [1] * 4, "a": [0, 1, 2, 3]})
    session = Session(frame, privacy_unit=unit, budget=PureDP(1))
    query = Batch((Count(by="a", keys={"a": [0, 1, 2, 3]}), Count()), names=("by a", "total"))
    release = session.evaluate(query, PureDP(Fraction(1, 2)))
    # user 1 alone contributes 4 rows to the total
    assert Fraction(release.tables[1].sensitivity["n.l1"]) >= 4


# ------------------------------------- H2 (high): engine text kept in __context__
# fixed (was an open hole): H2: ReleaseFailedError is raised 'from None' inside the except block,
# so __cause__ is None but __context__ still holds the engine's exception, whose own cause carries
# DuckDB's full message with the raw CSV record. Fix: raise after leaving the except block (or
# clear __context__).
def test_failed_release_carries_no_engine_exception(tmp_path: Path) -> None:
    # a typed view whose rows fail the engine's cast, with the secret in the engine's message
    # (CSV files can no longer fail this way: they are read as text and parsed with TRY_CAST)
    con = ibis.duckdb.connect()
    values = ", ".join(f"('{i % 100}')" for i in range(100))
    con.raw_sql(f"CREATE TABLE raw AS SELECT * FROM (VALUES {values}, ('{SECRET}')) t(s)")
    con.raw_sql("CREATE VIEW late AS SELECT CAST(s AS INTEGER) AS income FROM raw")
    session = Session(con.table("late"), privacy_unit=Rows(), budget=PureDP(1))
    with pytest.raises(ReleaseFailedError) as failed:
        session.evaluate(Sum("income", lower=0, upper=100), PureDP(Fraction(1, 2)))
    chain, error = [], failed.value.__context__
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert failed.value.__context__ is None, SECRET in " ".join(chain)


# -------------------------- H3 (high): CSV types sniffed from the rows decide free refusals
# fixed (was an open hole): H3: a CSV's column types are sniffed from its rows, so one non-
# numeric record  turns a free release into a free SchemaError (no charge): a certain, unpaid
# test of a  record. A malformed line is likewise refused for free, naming its line number. Fix:
# read CSVs with declared/text types and parse in the engine with TRY_CAST (bad value =  NULL),
# or refuse CSVs whose schema is not declared, identically for all data.
@pytest.mark.parametrize(
    "poison", [f"{SECRET},1", "5,1,7,8"], ids=["non-numeric value", "extra fields"]
)
def test_csv_free_outcome_does_not_depend_on_one_record(tmp_path: Path, poison: str) -> None:
    clean = [f"{i},{i % 3}" for i in range(100)]
    a = _csv(tmp_path / "a.csv", clean)
    b = _csv(tmp_path / "b.csv", [*clean[:50], poison, *clean[50:99]])
    query, cost = Sum("income", lower=0, upper=100), PureDP(Fraction(1, 2))
    seen_a = _outcome(lambda: Session(a, privacy_unit=Rows(), budget=PureDP(1)), query, cost)
    seen_b = _outcome(lambda: Session(b, privacy_unit=Rows(), budget=PureDP(1)), query, cost)
    assert seen_a == seen_b


# fixed (was an open hole): H3 via the CLI: keys are typed from the sniffed schema, so key '1.5'
# of an  integer-looking column is refused for free unless some record holds a decimal.
def test_cli_key_typing_does_not_depend_on_the_rows(tmp_path: Path) -> None:
    results = []
    for name, last in (("ints", "7,2"), ("one_decimal", "7,2.5")):
        folder = tmp_path / name
        folder.mkdir()
        _csv(folder / "d.csv", [f"{i},{i % 3}" for i in range(40)] + [last])
        ledger = folder / "l.sqlite3"
        created = runner.invoke(
            app,
            [
                "budget",
                "create",
                "d",
                "--epsilon",
                "1",
                "--privacy-unit",
                "rows",
                "--ledger",
                str(ledger),
            ],
        )
        assert created.exit_code == 0, created.output
        (folder / "s.yaml").write_text(
            "source: d.csv\ndataset: d\nbudget: {epsilon: 1/2}\nqueries:\n"
            "  - count: {by: grp, keys: {grp: [1, 1.5]}}\n",
            encoding="utf-8",
        )
        result = runner.invoke(
            app,
            [
                "release",
                str(folder / "s.yaml"),
                "--out",
                str(folder / "out"),
                "--ledger",
                str(ledger),
            ],
        )
        with Ledger(ledger) as book:
            results.append((result.exit_code, book.status("d").spent))
    assert results[0] == results[1]


# ------------------------------- H4 (medium): a data-dependent failure after the charge
# fixed (was an open hole): H4: a value the CSV sniffer did not see (beyond its sample) makes
# the engine's  cast fail after the charge: 'failed' instead of 'released' with certainty, which
# no  epsilon covers (contract 2: the aggregation is total). Fix: TRY_CAST (NULL), as H3.
def test_unparseable_value_beyond_the_sniff_sample_does_not_fail_the_release(
    tmp_path: Path,
) -> None:
    rows = [f"{i % 100},{i % 3}" for i in range(25_000)] + ["n/a,1"]
    session = Session(_csv(tmp_path / "late.csv", rows), privacy_unit=Rows(), budget=PureDP(1))
    release = session.evaluate(Sum("income", lower=0, upper=100), PureDP(Fraction(1, 2)))
    assert len(release.tables[0].values) == 1


# ------------------------------------ H5 (medium): public keys of the wrong type
# fixed (was an open hole): H5a: Python-API keys that do not fit the column's type (text keys
# for an integer  column) are not checked against the schema: under Rows() the cells holding 20
# rows each  are released as noisy zeros, with intervals claiming to cover them. Fix:
# check_parts  types (or refuses) keys from the schema, as the spec path does.
def test_keys_of_the_wrong_type_are_refused_for_free_rows() -> None:
    frame = pd.DataFrame({"g": [1, 2, 3] * 20})
    session = Session(frame, privacy_unit=Rows(), budget=PureDP(1))
    with pytest.raises((InvalidParameterError, SchemaError)):
        session.evaluate(Count(by="g", keys={"g": ["1", "2"]}), PureDP(Fraction(1, 2)))
    assert session.remaining == PureDP(1)


# fixed (was an open hole): H5b: under UserLevel the same keys go to the engine's key filter (IN
# list) and  fail after the charge: keys 2**63 or 'x' on an int column (data-independent, but
# paid),  and keys 'a', 1 on a text column make DuckDB cast the *data* to INT (fails or not
# depending on the rows; the value is in __context__). Fix: as H5a, free.
@pytest.mark.parametrize(
    ("column", "keys"),
    [("g", [1, 2**63]), ("g", [1, "x"]), ("s", ["a", 1])],
    ids=["int overflow", "text on int", "int on text"],
)
def test_keys_of_the_wrong_type_are_refused_for_free_user_level(
    tmp_path: Path, column: str, keys: list[object]
) -> None:
    frame = pd.DataFrame({"uid": range(30), "g": [i % 3 for i in range(30)], "s": list("abc") * 10})
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("d", PureDP(1), privacy_unit=UserLevel("uid"))
        session = Session(
            frame, privacy_unit=UserLevel("uid"), budget=PureDP(1), ledger=book, dataset="d"
        )
        with pytest.raises((InvalidParameterError, SchemaError)):
            session.evaluate(Count(by=column, keys={column: keys}), PureDP(Fraction(1, 2)))
        assert book.history("d") == []


# ----------------------------------- H6 (low): the CLI charges, then cannot write
# fixed (was an open hole): H6: --out a dangling symlink passes check_output_dir (exists() is
# False, the  parent is writable) but mkdir fails after the charge: budget spent, nothing
# written.  Fix: refuse a path that is_symlink() and does not resolve to a directory.
def test_release_to_a_dangling_symlink_spends_nothing(tmp_path: Path) -> None:
    _csv(tmp_path / "d.csv", [f"{i},{i % 3}" for i in range(20)])
    ledger = tmp_path / "l.sqlite3"
    with Ledger(ledger) as book:
        book.create_dataset("d", PureDP(1), privacy_unit=Rows())
    (tmp_path / "s.yaml").write_text(
        "source: d.csv\ndataset: d\nbudget: {epsilon: 1/2}\nqueries:\n  - count: {}\n",
        encoding="utf-8",
    )
    os.symlink(tmp_path / "nowhere" / "deeper", tmp_path / "out")
    result = runner.invoke(
        app,
        [
            "release",
            str(tmp_path / "s.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--ledger",
            str(ledger),
        ],
    )
    assert result.exit_code == 2
    with Ledger(ledger) as book:
        assert book.history("d") == []


# ---------------------------------- H7 (low): confusing errors and misleading output
# fixed (was an open hole): H7a: a spec number beyond the float range (upper: 1e400, weight:
# 1e400, keys of a  float column) escapes as a raw OverflowError ('internal error', exit 1)
# instead of an  InvalidParameterError naming the line and value (free, but the wrong error
# class).
def test_spec_number_beyond_float_range_is_named(tmp_path: Path) -> None:
    _csv(tmp_path / "d.csv", [f"{i},{i % 3}" for i in range(20)])
    (tmp_path / "s.yaml").write_text(
        "source: d.csv\ndataset: d\nbudget: {epsilon: 1}\nqueries:\n"
        "  - sum: {column: income, lower: 0, upper: 1e400}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["release", str(tmp_path / "s.yaml"), "--ledger", "x.sqlite3"])
    assert result.exit_code == 2 and "1e400" in result.output


# fixed (was an open hole): H7b: Quantiles(lower=-1e308, upper=1e308): upper - lower overflows,
# the grid holds  NaN/inf and the released median is inf, outside [lower, upper]. Fix: refuse
# bounds whose  width is not a finite float (free).
def test_quantiles_with_a_width_beyond_float_range() -> None:
    try:
        query = Quantiles("x", qs=(0.5,), lower=-1e308, upper=1e308, candidates=11)
    except InvalidParameterError:
        return
    session = Session(pd.DataFrame({"x": np.arange(100.0)}), privacy_unit=Rows(), budget=PureDP(1))
    (value,) = session.evaluate(query, PureDP(1)).tables[0].values
    assert math.isfinite(value) and -1e308 <= value <= 1e308


# ========================================================================= DEFENCES
def test_minus_zero_user_id_is_the_same_user() -> None:
    """-0.0 and 0.0 are one user in the bounding window (one row kept of ten)."""
    unit = UserLevel("uid")
    frame = pd.DataFrame({"uid": np.array([0.0, -0.0] * 5)})
    for _ in range(5):
        (agg,) = aggregate_parts(frame, [Part("n", Count(), PureDP(1))], unit).parts
        assert agg.components[0].values.tolist() == [1]


def test_grouped_and_coarser_marginals_respect_their_sensitivity() -> None:
    """A user with many rows in every cell, extreme and half-way values: each grouped
    component (finest and coarser marginals, counts, sums, variances) moves by at most its
    claimed L1 and L2 sensitivity."""
    unit = UserLevel("uid", max_groups_per_user=3, max_rows_per_group=2)
    base = pd.DataFrame(
        {"uid": range(60), "a": [i % 3 for i in range(60)], "b": [i % 2 for i in range(60)]}
    ).assign(x=0.0)
    extra = pd.DataFrame(
        {
            "uid": [999] * 60,
            "a": [i % 3 for i in range(60)],
            "b": [(i // 3) % 2 for i in range(60)],
            "x": [-3.0, 3.0, 1.0005, -2.9995, 1e300, -np.inf] * 10,
        }
    )
    keys = {"a": [0, 1, 2], "b": [0, 1]}
    parts = [
        Part("ab", Count(by=["a", "b"], keys=keys), PureDP(1)),
        Part("a", Count(by="a", keys={"a": keys["a"]}), PureDP(1)),
        Part("mean a", Mean("x", lower=-3, upper=3, by="a", keys={"a": keys["a"]}), PureDP(1)),
        Part("var ba", Variance("x", lower=-3, upper=3, by=["b", "a"], keys=keys), PureDP(1)),
        Part(
            "sum ab", Sum("x", lower=-3, upper=3, step=0.001, by=["a", "b"], keys=keys), PureDP(1)
        ),
    ]
    assert _violations(_max_change(parts, unit, base, extra)) == {}


def test_binned_parts_respect_user_level_bounds() -> None:
    unit = UserLevel("uid", max_groups_per_user=2, max_rows_per_group=3)
    base = pd.DataFrame({"uid": range(50), "x": np.arange(50.0)})
    extra = pd.DataFrame({"uid": [999] * 40, "x": np.linspace(-100, 100, 40)})
    parts = [
        Part("h", Histogram("x", (0.0, 10.0, 20.0, 30.0)), PureDP(1)),
        Part("q", Quantiles("x", qs=(0.5,), lower=0, upper=50, candidates=11), PureDP(1)),
        Part("b", BoundsEstimate("x", max_power=8), PureDP(1)),
    ]
    assert _violations(_max_change(parts, unit, base, extra)) == {}


def test_half_way_values_never_exceed_the_per_row_bound() -> None:
    """Issue 9 finding 2: Sum(0, 2.5, step=1) must not let one row add 3 units."""
    frame = pd.DataFrame({"x": [2.5, 2.4999999, 0.5, 1.5, np.nan, np.inf]})
    part = Part("s", Sum("x", lower=0, upper=2.5, step=1), PureDP(1))
    for _ in range(20):
        (agg,) = aggregate_parts(frame.iloc[[0]], [part], Rows()).parts
        (component,) = agg.components
        assert abs(int(component.values[0])) <= component.per_row == 3  # ceil(2.5)
    per_row = aggregate_parts(frame, [part], Rows()).parts[0].components[0].per_row
    assert per_row == 3  # the sensitivity uses the same range the engine clamps to


def test_engine_is_total_on_degenerate_tables() -> None:
    """Empty, all-NULL and NaN/inf tables: no refusal, failure or warning after the charge."""
    tables = {
        "empty": pa.table(
            {
                "uid": pa.array([], pa.int64()),
                "g": pa.array([], pa.int64()),
                "x": pa.array([], pa.float64()),
            }
        ),
        "all null": pa.table(
            {
                "uid": pa.array([1, 2], pa.int64()),
                "g": pa.array([None, None], pa.int64()),
                "x": pa.array([None, None], pa.float64()),
            }
        ),
        "nan": pd.DataFrame(
            {"uid": [1.0, np.nan, 3.0], "g": [1, 2, 3], "x": [np.nan, np.inf, -np.inf]}
        ),
    }
    queries: list[Query] = [
        Count(by="g"),
        Sum("x", lower=-1, upper=10, by="g", keys={"g": [0, 1]}),
        Variance("x", lower=0, upper=10),
        Quantiles("x", qs=(0.1, 0.9), lower=0, upper=10),
        BoundsEstimate("x"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for table in tables.values():
            for unit in (Rows(), UserLevel("uid", 2, 2)):
                session = Session(table, privacy_unit=unit, budget=ApproxDP(10, 1e-6))
                for query in queries:
                    session.evaluate(query, ApproxDP(1, 1e-7))


def test_threads_cannot_overspend_a_session() -> None:
    session = Session(pd.DataFrame({"x": [1.0] * 10}), privacy_unit=Rows(), budget=PureDP(1))
    outcomes: list[str] = []
    lock = threading.Lock()

    def spend() -> None:
        try:
            session.evaluate(Count(), PureDP(1))
            result = "released"
        except BudgetExceededError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=spend) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["released"]
    assert session.spent == PureDP(1)


def test_unit_mismatch_and_kind_tricks_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"uid": [1, 2], "x": [1.0, 2.0]})
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("rows", PureDP(1), privacy_unit=Rows())
        book.create_dataset("users", ApproxDP(1, 1e-9), privacy_unit=UserLevel("uid"))
        with pytest.raises(InvalidParameterError, match="privacy unit"):
            Session(
                frame, privacy_unit=UserLevel("uid"), budget=PureDP(1), ledger=book, dataset="rows"
            )
        with pytest.raises(InvalidParameterError, match="privacy unit"):
            Session(
                frame,
                privacy_unit=UserLevel("x"),
                budget=ApproxDP(1, 1e-9),
                ledger=book,
                dataset="users",
            )
        with pytest.raises(InvalidParameterError):
            Session(frame, privacy_unit=Rows(), budget=PureDP(1), ledger=book, dataset="users")
        session = Session(
            frame,
            privacy_unit=UserLevel("uid"),
            budget=ApproxDP(5, 1e-3),
            ledger=book,
            dataset="users",
        )
        # the session's cap is loose in delta; the ledger's is not (componentwise)
        with pytest.raises(BudgetExceededError):
            session.evaluate(Count(), ApproxDP(Fraction(1, 2), 1e-8))
        for bad in (float("nan"), float("inf"), 0, -1):
            with pytest.raises(InvalidParameterError):
                session.evaluate(Count(), PureDP(bad))
        assert book.history("users") == [] and book.history("rows") == []


def test_spec_tricks_are_refused_before_any_charge(tmp_path: Path) -> None:
    _csv(tmp_path / "d.csv", [f"{i},{i % 3}" for i in range(20)])
    ledger = tmp_path / "l.sqlite3"
    with Ledger(ledger) as book:
        book.create_dataset("d", PureDP(1), privacy_unit=Rows())
    head = "source: d.csv\ndataset: d\nbudget: {epsilon: 1/2}\n"
    specs = {
        "python tag": head + "queries:\n  - count: !!python/object/apply:os.system ['echo hi']\n",
        "duplicate key": head + "budget: {epsilon: 1}\nqueries:\n  - count: {}\n",
        "merge key": head + "base: &b {by: grp}\nqueries:\n  - count: {<<: *b}\n",
        "null key": head + "queries:\n  - count: {by: grp, keys: {grp: [1, ~]}}\n",
        "other dataset": head.replace("dataset: d", "dataset: nope") + "queries:\n  - count: {}\n",
        "other kind": "source: d.csv\ndataset: d\nbudget: {rho: 1}\nqueries:\n  - count: {}\n",
        "user unit on rows": head + "privacy_unit: {user: grp}\nqueries:\n  - count: {}\n",
    }
    for name, text in specs.items():
        (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
        result = runner.invoke(
            app,
            [
                "release",
                str(tmp_path / "s.yaml"),
                "--out",
                str(tmp_path / "out"),
                "--ledger",
                str(ledger),
            ],
        )
        assert result.exit_code == 2, (name, result.output)
    with Ledger(ledger) as book:
        assert book.history("d") == []
