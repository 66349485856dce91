"""``ethica serve example DIR``: the README's way to a running service on a fresh clone.

The whole path a newcomer takes, on the real command: write the example, create a key,
start ``ethica serve`` as its own process, ask one DP SQL question over HTTP.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ethica.cli import app
from ethica.privacy.budget._ledger import Ledger
from ethica.service import Client
from tests.system.test_service_cli import _free_port, _start

runner = CliRunner()


def test_the_example_serves_adult_from_two_commands(tmp_path: Path) -> None:
    folder = tmp_path / "example"
    written = runner.invoke(app, ["serve", "example", str(folder)])
    assert written.exit_code == 0, written.output
    assert "ethica serve keys create alice" in written.output
    config = folder / "service.yaml"
    key = runner.invoke(app, ["serve", "keys", "create", "alice", "--config", str(config)])
    assert key.exit_code == 0, key.output
    secret = key.output.strip().splitlines()[-1]
    port = _free_port()
    process = _start(config, port)
    try:
        with Client(f"http://127.0.0.1:{port}", secret) as client:
            assert [d["name"] for d in client.datasets()] == ["adult"]
            answer = client.query("SELECT sex, COUNT(*), AVG(age) FROM adult GROUP BY sex", 0.5)
    finally:
        process.kill()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
    counts, ages = answer["tables"]
    assert [k[0] for k in counts["keys"]] == ["Female", "Male"]
    # Adult's training split: 10,771 women, 21,790 men; mean ages 36.9 and 39.4
    for table, truth, slack in ((counts, [10_771, 21_790], 200), (ages, [36.86, 39.43], 2)):
        for value, low, high, exact in zip(
            table["values"], table["ci_low"], table["ci_high"], truth, strict=True
        ):
            assert low <= value <= high and abs(value - exact) < slack
    history = Ledger(folder / "ledger.sqlite3").history("adult")
    assert [r.status for r in history] == ["released"]


def test_the_example_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["serve", "example", str(tmp_path)])
    assert result.exit_code == 2 and "already exist" in result.output
    assert (tmp_path / "service.yaml").read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "adult.parquet").exists()
