"""``ethica synth`` end to end: real CSV, real ledger, real DuckDB, typer's CliRunner."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from ethica.cli import app
from ethica.datasets import load_adult
from ethica.privacy import ApproxDP, Ledger, Rows
from ethica.workflows._synth import adult_domain

COLUMNS = ("age", "race", "sex", "relationship", "income")


def test_synth_cli_end_to_end(tmp_path: Path) -> None:
    data = load_adult().sample(3000, random_state=0)[list(COLUMNS)]
    source = tmp_path / "adult.csv"
    data.to_csv(source, index=False)
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps(adult_domain(COLUMNS).to_dict()))
    ledger = tmp_path / "ledger.db"
    with Ledger(ledger) as book:
        book.create_dataset("adult", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=Rows())
    out, html, report = tmp_path / "synth.parquet", tmp_path / "card.html", tmp_path / "card.json"
    args = [
        "synth",
        str(source),
        "--dataset",
        "adult",
        "--domain",
        str(domain),
        "--epsilon",
        "1",
        "--method",
        "mst",
        "--rows",
        "500",
        "--out",
        str(out),
        "--html",
        str(html),
        "--json",
        str(report),
        "--target",
        "income",
        "--protected",
        "sex",
        "--ledger",
        str(ledger),
        "--seed",
        "3",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out)
    assert len(rows) == 500 and list(rows.columns) == list(COLUMNS)
    assert set(rows["sex"].dropna()) <= {"Female", "Male"}
    card = json.loads(report.read_text())["report_card"]
    assert 0 <= card["workload_error"]["2way_mean"] < 0.5
    assert "sex" in card["fairness"]
    assert "custodian" in html.read_text()
    with Ledger(ledger) as book:
        assert [h.status for h in book.history("adult")] == ["released"]
    # a second run beyond the budget is refused before any read and charges nothing
    again = CliRunner().invoke(app, [*args[:7], "5", *args[8:]])
    assert again.exit_code == 2 and "exceeds" in again.output
    with Ledger(ledger) as book:
        assert len(book.history("adult")) == 1


def test_synth_cli_aim_with_a_3way_workload_file(tmp_path: Path) -> None:
    columns = ("race", "sex", "income")
    data = load_adult().sample(3000, random_state=1)[list(columns)]
    source = tmp_path / "adult.csv"
    data.to_csv(source, index=False)
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps(adult_domain(columns).to_dict()))
    workload = tmp_path / "workload.json"
    workload.write_text(json.dumps([list(columns)]))
    ledger = tmp_path / "ledger.db"
    with Ledger(ledger) as book:
        book.create_dataset("adult", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=Rows())
    out, report = tmp_path / "synth.csv", tmp_path / "model.json"
    args = ["synth", str(source), "--dataset", "adult", "--domain", str(domain)]
    args += ["--method", "aim", "--workload", str(workload), "--rows", "300", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--json", str(report), "--ledger", str(ledger)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 300
    model = json.loads(report.read_text())["model"]
    assert model["workload"] == [list(columns)]
    assert model["model"]["kind"] == "junction_tree"  # AIM's general graphical model
    assert all(len(c) <= 3 for c in model["selected"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([["race", "no_such_column"]]))
    refused = CliRunner().invoke(
        app, [*args[:-6], "--workload", str(bad), "--out", str(out), "--ledger", str(ledger)]
    )
    assert refused.exit_code == 2 and "no_such_column" in refused.output
    with Ledger(ledger) as book:
        assert len(book.history("adult")) == 1  # the refused workload charged nothing


def test_synth_cli_quantile_bins_from_a_yaml_domain(tmp_path: Path) -> None:
    data = load_adult().sample(3000, random_state=2)[["age", "sex", "income"]]
    source = tmp_path / "adult.csv"
    data.to_csv(source, index=False)
    domain = tmp_path / "domain.yaml"
    domain.write_text(
        "columns:\n"
        "  age: {quantile_bins: 6, range: [0, 100], integer: true}\n"
        "  sex: {categories: [Female, Male]}\n"
        "  income: {categories: ['<=50K', '>50K']}\n"
    )
    ledger = tmp_path / "ledger.db"
    with Ledger(ledger) as book:
        book.create_dataset("adult", ApproxDP(2, Fraction(1, 10**6)), privacy_unit=Rows())
    out, report = tmp_path / "synth.parquet", tmp_path / "model.json"
    args = ["synth", str(source), "--dataset", "adult", "--domain", str(domain), "--method"]
    args += ["mst", "--rows", "400", "--out", str(out), "--ledger", str(ledger)]
    result = CliRunner().invoke(app, [*args, "--binning-share", "0.2", "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert "age: DP quantile edges [0, " in result.output
    model = json.loads(report.read_text())["model"]
    assert model["binning"]["share"] == "1/5"
    edges = model["binning"]["columns"]["age"]["edges"]
    assert model["domain"]["columns"]["age"]["bins"] == edges  # released with the model
    assert edges[0] == 0 and edges[-1] == 101 and len(edges) <= 7
    ages = pd.read_parquet(out)["age"].dropna()
    assert len(ages) > 0 and ages.between(0, 100).all()
    # a share outside (0, 1) and a reversed range: refused for free, nothing charged
    refused = CliRunner().invoke(app, [*args, "--binning-share", "1.5"])
    assert refused.exit_code == 2 and "strictly between 0 and 1" in refused.output
    domain.write_text("columns:\n  age: {quantile_bins: 6, range: [100, 0]}\n")
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "low < high" in refused.output
    with Ledger(ledger) as book:
        assert len(book.history("adult")) == 1
