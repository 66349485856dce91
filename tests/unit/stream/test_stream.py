"""A persistent Stream: horizon charged first, buckets in order, never released twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    LedgerError,
    ReleaseFailedError,
)
from ethica.data._time_bounding import bounded_series
from ethica.privacy import ZCDP, Ledger, PureDP
from ethica.privacy.stream import Stream, StreamSpec, UserWindow

UNIT = UserWindow("user", window=7)


def _spec(**changes: object) -> StreamSpec:
    values: dict[str, object] = dict(
        name="shop", dataset="visits", unit=UNIT, start=datetime(2026, 3, 1), horizon=20,
        budget=ZCDP(2), mechanism="tree", key="place", keys=("A", "B"),
    )  # fmt: skip
    values.update(changes)
    return StreamSpec(**values)  # type: ignore[arg-type]


def _day(path: Path, seed: int, users: int = 200) -> Path:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, users, 400) if users else rng.permutation(10_000)[:400]
    frame = pd.DataFrame({"user": ids, "place": rng.choice(["A", "B", "C"], 400)})
    frame.to_parquet(path)
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as book:
        book.create_dataset("visits", ZCDP(5), privacy_unit=UNIT)
        yield book


def test_create_charges_the_horizon_once_and_appends_release_each_bucket(
    ledger: Ledger, tmp_path: Path
) -> None:
    with Stream.create(_spec(), ledger) as stream:
        assert ledger.status("visits").spent == ZCDP(2)
        first = stream.append("2026-03-01", _day(tmp_path / "d0.parquet", 0))
        second = stream.append("2026-03-02", _day(tmp_path / "d1.parquet", 1))
        assert second.running[0] != first.running[0] and len(second.daily) == 2
        assert first.bounding["report"].startswith("not offered for streams")
        assert "max_rows=1" in first.bounding["rows_dropped_by_caps"]  # words, no numbers
        again = stream.append("2026-03-02", tmp_path / "d0.parquet")  # other file: not read
        assert again.replayed and again.to_dict() == second.to_dict() and again == second
    history = ledger.history("visits")
    assert [h.request_id for h in history] == [
        "ethica:stream:shop:horizon", "ethica:stream:shop:2026-03-01T00:00:00",
        "ethica:stream:shop:2026-03-02T00:00:00",
    ]  # fmt: skip
    assert history[2].output == second.to_dict() and history[2].status == "released"
    assert ledger.status("visits").spent == ZCDP(2)  # buckets are paid by the horizon
    with Stream.create(_spec(), ledger):  # same spec again: the same stream, no new charge
        pass
    assert ledger.status("visits").spent == ZCDP(2)


def test_buckets_are_appended_in_order_and_must_be_bucket_starts(
    ledger: Ledger, tmp_path: Path
) -> None:
    with Stream.create(_spec(), ledger) as stream:
        with pytest.raises(InvalidParameterError, match="next is 2026-03-01"):
            stream.append("2026-03-03", _day(tmp_path / "d.parquet", 0))
        with pytest.raises(InvalidParameterError, match="not the start of a bucket"):
            stream.append("2026-03-01T13:00", tmp_path / "d.parquet")
        with pytest.raises(InvalidParameterError, match="not the start"):
            stream.append("2026-04-01", tmp_path / "d.parquet")  # past the horizon


def test_unit_budget_kind_and_spec_are_checked_before_any_charge(
    ledger: Ledger, tmp_path: Path
) -> None:
    with pytest.raises(InvalidParameterError, match="protects the unit"):
        Stream.create(_spec(unit=UserWindow("user", window=28)), ledger)
    with pytest.raises(InvalidParameterError, match="same kind"):
        Stream.create(_spec(budget=PureDP(1)), ledger)
    with pytest.raises(BudgetExceededError):
        Stream.create(_spec(budget=ZCDP(6)), ledger)
    assert ledger.status("visits").charges == 0
    Stream.create(_spec(), ledger).close()
    with pytest.raises(InvalidParameterError, match="another spec"):
        Stream.create(_spec(mechanism="naive"), ledger)
    with pytest.raises(LedgerError, match="no stream"):
        Stream.open("nope", ledger)


def test_state_survives_reopening(ledger: Ledger, tmp_path: Path) -> None:
    Stream.create(_spec(mechanism="factorization"), ledger).close()
    outputs = []
    for day in range(4):
        with Stream.open("shop", ledger) as stream:
            at = f"2026-03-0{day + 1}"
            outputs.append(stream.append(at, _day(tmp_path / f"{day}.parquet", day)))
    with Stream.open("shop", ledger) as stream:
        assert [r.to_dict() for r in stream.releases()] == [o.to_dict() for o in outputs]
        assert stream.released == 4


def test_running_totals_track_the_bounded_truth(ledger: Ledger, tmp_path: Path) -> None:
    """With tiny noise (huge budget), the naive running total is the bounded count's sum."""
    with Ledger(tmp_path / "big.sqlite3") as big:
        big.create_dataset("visits", PureDP(10**6), privacy_unit=UNIT)
        spec = _spec(budget=PureDP(10**6), mechanism="naive")
        truth = np.zeros(2)
        with Stream.create(spec, big) as stream:
            for day in range(3):
                path = _day(tmp_path / f"t{day}.parquet", day, users=0)  # one visit each
                counts = pd.read_parquet(path)["place"].value_counts()
                truth += [counts.get("A", 0), counts.get("B", 0)]
                release = stream.append(spec.bucket_start(day), path)
                assert np.allclose(release.running, truth, atol=1)


def test_bounding_keeps_at_most_max_keys_per_user_per_bucket(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user": [1] * 6 + [2] * 2,
            "place": ["A", "B", "C", "A", "A", "B", "A", "A"],
            "ts": pd.to_datetime(
                ["2026-03-01 10:00"] * 3 + ["2026-03-02 09:00"] * 3 + ["2026-03-01 11:00"] * 2
            ),
        }
    )  # fmt: skip
    out = bounded_series(
        frame, user="user", max_cells=1, max_rows=1, by=["place"], time="ts",
        start=datetime(2026, 3, 1), periods=2,
    )  # fmt: skip
    per_bucket = out.groupby("__bucket")["__count"].sum().to_dict()
    assert per_bucket == {0: 2, 1: 1}  # user 1: one cell per day, user 2: one row
    blocked = bounded_series(
        frame, user="user", max_cells=1, max_rows=5, by=["place"], time="ts",
        start=datetime(2026, 3, 1), periods=2, block=2,
    )  # fmt: skip
    assert blocked["__count"].sum() <= 2 + 2  # one cell per user over both days


def test_a_failed_append_is_generic_and_carries_no_engine_error(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the read, a failure raises one generic error: no text, cause or context."""
    import ethica.privacy.stream._stream as stream_module

    def failing(*args: object, **kwargs: object) -> object:
        raise ValueError("record 4711 has salary 93512")

    monkeypatch.setattr(stream_module, "bounded_series", failing)
    with Stream.create(_spec(), ledger) as stream:
        with pytest.raises(ReleaseFailedError) as failed:
            stream.append("2026-03-01", _day(tmp_path / "d0.parquet", 0))
        assert "4711" not in str(failed.value)
        assert failed.value.__cause__ is None and failed.value.__context__ is None
        assert stream.released == 0


def test_a_csv_bucket_is_read_as_text_so_one_record_decides_nothing(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A CSV's types are not guessed from its rows: a bucket with one odd record appends like
    a clean one (no free refusal that depends on a record), and keys compare as written."""
    clean = "user,place\n" + "".join(f"{i},{'AB'[i % 2]}\n" for i in range(200))
    odd = clean.replace("\n7,B\n", "\nnot-a-number,B\n")
    (tmp_path / "clean.csv").write_text(clean, encoding="utf-8")
    (tmp_path / "odd.csv").write_text(odd, encoding="utf-8")
    with Stream.create(_spec(), ledger) as stream:
        first = stream.append("2026-03-01", tmp_path / "clean.csv")
        second = stream.append("2026-03-02", tmp_path / "odd.csv")
    assert len(first.daily) == len(second.daily) == 2
    assert 60 < first.daily[0] < 140 and 60 < second.daily[0] < 140  # 100 rows per place


def test_a_csv_buckets_types_come_from_its_header_not_its_rows(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("user,place\n" + "".join(f"{i},{i % 2}\n" for i in range(50)), "utf-8")
    with Stream.create(_spec(keys=("0", "1")), ledger) as stream:
        checked = stream._check_source(path, None)
    # DuckDB's sniffer would call "place" an integer column here, a text one if any row
    # held a letter: read for a release, it is the text written either way
    assert checked.table.schema()["place"].is_string() and checked.keys == ["0", "1"]


def test_bounding_report_spends_its_share_in_every_bucket(ledger: Ledger, tmp_path: Path) -> None:
    """``bounding_share = 1/4`` of ``ZCDP(2)``: the measurements spend ``3/2``, the report
    ``1/2`` on ``users_capped`` per bucket, whose window of 7 buckets gives ``Δ2² = 7``."""
    from fractions import Fraction

    from ethica.privacy.release._noise import GaussianNoise
    from ethica.privacy.release._sensitivity import Sensitivity
    from ethica.privacy.stream import build_strategy, spec_from_mapping, stream_noise

    spec = _spec(bounding_share=Fraction(1, 4))
    with Stream.create(spec, ledger) as stream:
        day = stream.append("2026-03-01", _day(tmp_path / "d0.parquet", 0))  # 400 rows, 200 ids
        again = stream.append("2026-03-01", tmp_path / "d0.parquet")
        expected, _ = stream_noise(build_strategy("tree", 20), UNIT, ZCDP(Fraction(3, 2)), keys=2)
        assert stream.noise == expected
    capped = day.bounding["users_capped"]
    sigma = GaussianNoise.calibrated(Sensitivity(Fraction(7), Fraction(7)), ZCDP(Fraction(1, 2)))
    assert capped["noise"] == {"sigma": str(sigma.parameter)}
    assert capped["sensitivity"] == {"l1": "7", "l2_squared": "7"}
    assert capped["ci_low"] < capped["value"] < capped["ci_high"]
    assert "in this bucket" in capped["counts"]
    assert again.bounding == day.bounding  # stored with the release, never redrawn
    assert ledger.status("visits").spent == ZCDP(2)  # the stream's budget, once
    read = spec_from_mapping(
        {"name": "s", "dataset": "visits", "start": "2026-03-01", "horizon": 20,
         "budget": {"rho": 2}, "privacy_unit": {"user": "user"}, "bounding_share": 0.25}
    )  # fmt: skip
    assert read.bounding_share == Fraction(1, 4)
    assert StreamSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidParameterError, match="bounding_share"):
        _spec(bounding_share=Fraction(1))
