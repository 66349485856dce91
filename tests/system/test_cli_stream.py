"""``ethica stream`` end to end, and a process killed mid-append loses nothing, repeats nothing.

The crash test runs this module as a child (``-m``) that creates a stream and appends 40 days,
printing each release after ``append`` returns. It is SIGKILLed at random moments (seeded
schedule) and restarted; the restart appends the same days again. Afterwards every day is
released exactly once (sidecar and ledger agree), and every release a child printed is the
one stored: a day is never re-noised.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy import ZCDP, ApproxDP, Ledger
from ethica.privacy.stream import Stream, UserWindow, spec_from_mapping

runner = CliRunner()
DAYS = 40
SPEC = """name: shop
dataset: visits
start: 2026-03-01
bucket: day
horizon: 365
mechanism: ls-tree
budget: {rho: 2}
privacy_unit: {user: user, window: 28}
key: place
keys: [A, B]
"""


def _files(folder: Path, days: int) -> list[Path]:
    paths = []
    for day in range(days):
        path = folder / f"day{day}.parquet"
        if not path.exists():
            rng = np.random.default_rng(day)
            pd.DataFrame(
                {"user": rng.integers(0, 500, 300), "place": rng.choice(["A", "B"], 300)}
            ).to_parquet(path)
        paths.append(path)
    return paths


def test_register_create_append_show_and_plan(tmp_path: Path) -> None:
    ledger = str(tmp_path / "l.sqlite3")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    files = _files(tmp_path, 2)
    result = runner.invoke(
        app, ["stream", "register", "visits", "--user", "user", "--rho", "3", "--ledger", ledger]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["stream", "create", str(spec), "--ledger", ledger])
    assert result.exit_code == 0, result.output
    out = runner.invoke(
        app, ["stream", "append", "shop", str(files[0]), "--at", "2026-03-01", "--json",
              "--ledger", ledger],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    first = json.loads(out.output)
    assert first["at"] == "2026-03-01T00:00:00" and first["keys"] == ["A", "B"]
    skipped = runner.invoke(
        app, ["stream", "append", "shop", str(files[1]), "--at", "2026-03-03", "--ledger", ledger]
    )
    assert skipped.exit_code == 2 and "next is 2026-03-02" in skipped.output
    shown = json.loads(runner.invoke(app, ["stream", "show", "shop", "--ledger", ledger]).output)
    assert shown["released"] == [first]
    assert Ledger(ledger).status("visits").spent.rho == 2  # type: ignore[union-attr]
    again = runner.invoke(app, ["stream", "create", str(spec), "--ledger", ledger])
    assert again.exit_code == 0 and Ledger(ledger).status("visits").charges == 2
    plan = runner.invoke(
        app, ["stream", "plan", "--target", "25", "--horizon", "365", "--for", "daily", "--json"]
    )
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["recommended"] == "naive"
    day = runner.invoke(
        app, ["stream", "append", "shop", str(files[1]), "--at", "2026-03-02", "--ledger", ledger]
    )
    assert day.exit_code == 0 and "bounding: not reported" in day.output, day.output


SERIES = """dataset: trips
time: t
start: 2026-03-01
periods: 14
bucket: day
budget: {epsilon: 1, delta: 1e-6}
privacy_unit: {user: user, window: 7, max_buckets: 1}
by: place
keys: [A, B]
measure: {sum: fare, lower: 0, upper: 20, step: 0.01}
confidence: 0.9
"""


def test_release_a_series_from_a_csv_with_an_approx_dp_budget(tmp_path: Path) -> None:
    ledger = str(tmp_path / "l.sqlite3")
    rng = np.random.default_rng(7)
    n = 2000
    pd.DataFrame(
        {
            "user": rng.integers(0, 400, n),
            "t": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 14 * 86_400, n), "s"),
            "place": rng.choice(["A", "B", "C"], n),
            "fare": rng.uniform(0, 30, n).round(2),
        }
    ).to_csv(tmp_path / "trips.csv", index=False)
    spec = tmp_path / "series.yaml"
    spec.write_text(SERIES)
    registered = runner.invoke(
        app, ["stream", "register", "trips", "--user", "user", "--window", "7", "--epsilon", "2",
              "--delta", "1e-5", "--ledger", ledger],
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    command = ["stream", "release", str(spec), str(tmp_path / "trips.csv"), "--ledger", ledger,
               "--request-id", "march", "--json", "-o", str(tmp_path / "out.csv")]  # fmt: skip
    out = runner.invoke(app, command)
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert len(document["value"]) == 28 and document["noise"]["kind"] == "gaussian"
    assert document["cells_per_window"] == 4  # D = 1 per block: 2 blocks x (1 new + 1 displaced)
    points = pd.read_csv(tmp_path / "out.csv")
    assert list(points.columns) == ["at", "key", "value", "lower", "upper"] and len(points) == 28
    again = runner.invoke(app, command)
    assert json.loads(again.output) == document  # the stored release, no new noise
    with Ledger(ledger) as book:
        assert book.status("trips").spent == ApproxDP(1, Fraction(1, 10**6))
        assert book.status("trips").charges == 1
    assert document["bounding"]["report"].startswith("not requested")
    reported = tmp_path / "reported.yaml"
    reported.write_text(SERIES + "bounding_share: 0.1\nrunning: naive\n")
    table = runner.invoke(
        app, ["stream", "release", str(reported), *command[3:-5], "--request-id", "again"]
    )
    assert table.exit_code == 0 and "exact intervals" in table.output, table.output
    assert "bounding report (DP): users capped" in table.output
    assert "running totals by naive" in table.output and "running total" in table.output
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(SERIES.replace("window: 7", "window: 28"))
    refused = runner.invoke(app, ["stream", "release", str(wrong), str(tmp_path / "trips.csv"),
                                  "--ledger", ledger])  # fmt: skip
    assert refused.exit_code != 0 and "register a dataset for that unit" in refused.output
    with Ledger(ledger) as book:
        assert book.status("trips").charges == 2


def run_days(ledger: str, folder: str) -> None:
    """The child: create (idempotent) and append DAYS days, printing each release."""
    book = Ledger(ledger)
    spec = spec_from_mapping(
        {"name": "shop", "dataset": "visits", "start": "2026-03-01", "horizon": 365,
         "mechanism": "tree", "budget": {"rho": 2}, "privacy_unit": {"user": "user", "window": 28},
         "key": "place", "keys": ["A", "B"]}
    )  # fmt: skip
    stream = Stream.create(spec, book)
    print("ready", flush=True)
    for day, path in enumerate(_files(Path(folder), DAYS)):
        release = stream.append(date(2026, 3, 1) + timedelta(days=day), path)
        print("released " + json.dumps(release.to_dict(), sort_keys=True), flush=True)


def _child(ledger: Path, folder: Path, kill_after: float | None) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.system.test_cli_stream", str(ledger), str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    if kill_after is None:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        return out.splitlines()
    assert child.stdout is not None
    first = child.stdout.readline()
    first += child.stdout.readline()  # wait for a first day (loaded machines start slowly)
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=60)
    return (first + out).splitlines()


@pytest.mark.slow
def test_kill_mid_append_loses_nothing_and_never_releases_a_day_twice(tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite3"
    with Ledger(ledger) as book:
        book.create_dataset("visits", ZCDP(2), privacy_unit=UserWindow("user", window=28))
    _files(tmp_path, DAYS)
    schedule = random.Random(20260301)
    printed: dict[str, str] = {}
    for round_ in range(4):
        lines = _child(ledger, tmp_path, kill_after=schedule.uniform(0.3, 1.5))
        for line in lines:
            if line.startswith("released "):
                release = json.loads(line[len("released ") :])
                previous = printed.setdefault(release["at"], line)
                assert previous == line  # a day printed twice is the same release
        if round_ == 0:
            assert 0 < len(printed) < DAYS, "the kill should land mid-run"
    for line in _child(ledger, tmp_path, kill_after=None):
        if line.startswith("released "):
            at = json.loads(line[len("released ") :])["at"]
            assert printed.setdefault(at, line) == line
    assert len(printed) == DAYS
    state = sqlite3.connect(f"{ledger}.streams.sqlite3")
    assert state.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = state.execute("SELECT at, release FROM days WHERE stream = 'shop'").fetchall()
    assert len(rows) == DAYS == len({at for at, _ in rows})
    with Ledger(ledger) as book:
        history = book.history("visits")
        assert book.status("visits").spent.rho == 2  # type: ignore[union-attr]
    ids = [h.request_id for h in history]
    assert len(ids) == len(set(ids)) == DAYS + 1
    stored = {at: json.loads(text) for at, text in rows}
    for record in history[1:]:
        assert record.status == "released"
        assert record.output == stored[record.output["at"]]
    for at, line in printed.items():
        assert json.loads(line[len("released ") :]) == stored[at]


if __name__ == "__main__":
    run_days(sys.argv[1], sys.argv[2])
