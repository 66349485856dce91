"""``ethica attack`` end to end through Typer's CliRunner, on real data (Adult, German credit).

DP noise comes from the OS CSPRNG (it cannot be seeded), so assertions on DP runs use gaps
far larger than the noise's spread: e.g. at epsilon = 1 the census attack rebuilds about
15-20% of the records against about 90% from exact tables (docs/attacks.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from ethica.cli import app

runner = CliRunner()


def _attack(*args: str | Path) -> Result:
    return runner.invoke(app, ["attack", *map(str, args)])


def _error_line(result: Result) -> str:
    """The error message with Rich's wrapping undone; asserts it is one message, exit 2."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert text.count("error:") == 1, result.output
    return text


# --- reconstruct -------------------------------------------------------------------------


def test_reconstruct_from_exact_answers_recovers_every_bit() -> None:
    result = _attack("reconstruct", "--n", "60", "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["release"] == "exact" and document["n_queries"] == 240
    assert document["recovered_fraction"] >= 0.95


def test_reconstruct_sweep_writes_table_json_and_page(tmp_path: Path) -> None:
    page, out = tmp_path / "sweep.html", tmp_path / "sweep.json"
    result = _attack(
        "reconstruct", "--n", "40", "--sweep", "--trials", "1", "--html", page, "--json", out
    )
    assert result.exit_code == 0, result.output
    points = json.loads(out.read_text())["points"]
    releases = [p["release"] for p in points]
    assert releases[0] == "exact" and releases[-1] == "dp"
    assert points[0]["recovery_mean"] > points[-2]["recovery_mean"]  # exact beats 4 sqrt(n)
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "DP ε=1" in html
    assert "bounded" in result.output and "wrote" in result.output


def test_rounded_release_takes_its_multiple() -> None:
    result = _attack(
        "reconstruct", "--n", "50", "--release", "rounded", "--value", "2", "--json", "-"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["parameters"] == {"multiple": 2} and document["error_bound"] == 1.0


@pytest.mark.parametrize("value", ["0", "-1"])
def test_reconstruct_refuses_epsilon_at_or_below_zero(value: str) -> None:
    text = _error_line(_attack("reconstruct", "--n", "20", "--release", "dp", "--value", value))
    assert "epsilon must be a finite number > 0" in text and value in text


def test_reconstruct_refuses_n_too_large_for_the_solver() -> None:
    text = _error_line(_attack("reconstruct", "--n", "1000"))
    assert "1000 * 4000" in text and "2,000,000" in text and "fewer people or queries" in text


def test_reconstruct_names_an_unknown_release() -> None:
    text = _error_line(_attack("reconstruct", "--release", "noisy"))
    assert "'noisy'" in text and "bounded" in text


# --- census ------------------------------------------------------------------------------


def test_census_exact_tables_leak_and_dp_tables_do_not(tmp_path: Path) -> None:
    page = tmp_path / "census.html"
    result = _attack("census", "--blocks", "30", "--epsilon", "1", "--json", "-", "--html", page)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    exact = document["exact"]
    (private,) = document["private"]
    assert document["n_blocks"] == 30 and private["epsilon"] == 1.0
    assert exact["records_matched_share"] > exact["baseline_matched_share"] + 0.2
    assert private["result"]["records_matched_share"] < exact["records_matched_share"] - 0.3
    assert private["result"]["records_matched_share"] < exact["baseline_matched_share"] + 0.1
    assert "made consistent" in document["mechanism"] and private["result"]["exact"] is True
    html = page.read_text()
    assert "<svg" in html and "random guess from the margins" in html and "DP ε=1" in html


def test_census_dp_tables_without_consistency() -> None:
    result = _attack("census", "--blocks", "8", "--epsilon", "2", "--no-consistent", "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "clamped at 0" in document["mechanism"]
    assert document["private"][0]["result"]["exact"] is False


def test_census_refuses_epsilon_at_or_below_zero() -> None:
    text = _error_line(_attack("census", "--blocks", "5", "--epsilon", "-0.5"))
    assert "epsilon must be a finite number > 0" in text and "-0.5" in text


def _write_tables(folder: Path, total_block_1: int) -> list[str]:
    tables = {
        "by_sex": pd.DataFrame(
            {"block": [0, 0, 1, 1], "sex": ["Female", "Male"] * 2, "count": [2, 1, 0, 2]}
        ),
        "by_race": pd.DataFrame(
            {"block": [0, 0, 1], "race": ["White", "Black", "White"], "count": [2, 1, 2]}
        ),
        "total": pd.DataFrame({"block": [0, 1], "count": [3, total_block_1]}),
    }
    args = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        args += ["--tables", str(path)]
    return args


def test_census_attacks_a_users_own_tables(tmp_path: Path) -> None:
    result = _attack("census", *_write_tables(tmp_path, total_block_1=2), "--json", "-")
    assert result.exit_code == 0, result.output
    blocks = json.loads(result.stdout)["blocks"]
    # block 1: two men, both White: one solution; block 0 pairs sex with race two ways
    assert [b["people"] for b in blocks] == [3, 2]
    assert blocks[1]["unique"] is True and blocks[0]["unique"] is False
    assert blocks[1]["cells"] == [{"cell": ["Male", "White"], "count": 2}]


def test_census_names_the_conflicting_tables(tmp_path: Path) -> None:
    text = _error_line(_attack("census", *_write_tables(tmp_path, total_block_1=3)))
    assert "block 1" in text and "'by_sex.csv'" in text and "'total.csv'" in text
    assert "2 vs 3" in text
    assert "add --noisy" in text


def test_census_finds_the_closest_records_to_noisy_tables(tmp_path: Path) -> None:
    args = _write_tables(tmp_path, total_block_1=3)
    result = _attack("census", *args, "--noisy", "--json", "-")
    assert result.exit_code == 0, result.output
    blocks = json.loads(result.stdout)["blocks"]
    assert blocks[1]["deviation"] >= 1.0  # no records meet 2 men and a total of 3


def test_census_html_needs_the_truth(tmp_path: Path) -> None:
    args = _write_tables(tmp_path, total_block_1=2)
    text = _error_line(_attack("census", *args, "--html", tmp_path / "x.html"))
    assert "--html" in text and "--json" in text


def _cells(document: dict[str, Any], columns: list[str]) -> set[tuple[Any, ...]]:
    """Rebuilt records as (block, *values, count), values in the order of ``columns``."""
    names = list(document["attributes"])
    return {
        (str(b["block"]), *(c["cell"][names.index(col)] for col in columns), c["count"])
        for b in document["blocks"]
        for c in b["cells"]
    }


def test_census_renamed_columns_with_a_schema_rebuild_the_same_records(
    adult_train: pd.DataFrame, tmp_path: Path
) -> None:
    from ethica.attacks import adult_census_schema, census_tables, synthetic_blocks

    schema = adult_census_schema()
    population = synthetic_blocks(adult_train, n_blocks=25, mean_block_size=8, seed=4)
    renamed = {"sex": "gender", "age_band": "age5", "age_group": "agegrp", "race": "ethnicity"}
    original_args: list[str] = []
    renamed_args: list[str] = []
    for i, frame in enumerate(census_tables(population, schema).values()):
        for folder, args, columns in (
            ("original", original_args, {}),
            ("renamed", renamed_args, renamed),
        ):
            path = tmp_path / folder / f"table{i}.csv"
            path.parent.mkdir(exist_ok=True)
            frame.rename(columns=columns).to_csv(path, index=False)
            args += ["--tables", str(path)]
    groups: dict[str, list[str]] = {}
    for fine, coarse in schema.coarsenings["age_group"][1].items():
        groups.setdefault(str(coarse), []).append(str(fine))
    declaration = tmp_path / "schema.yaml"
    declaration.write_text(
        "attributes:\n  gender: [Female, Male]\n  age5:\n  ethnicity:\n"
        "coarsenings:\n  agegrp:\n    of: age5\n    groups:\n"
        + "".join(f"      {c}: [{', '.join(f)}]\n" for c, f in groups.items()),
        encoding="utf-8",
    )
    first = _attack("census", *original_args, "--json", "-")
    assert first.exit_code == 0, first.output
    second = _attack("census", *renamed_args, "--schema", declaration, "--json", "-")
    assert second.exit_code == 0, second.output
    before = _cells(json.loads(first.stdout), ["sex", "age_band", "race"])
    after = _cells(json.loads(second.stdout), ["gender", "age5", "ethnicity"])
    assert after == before and len(after) > 100
    # without the declaration the hierarchy is lost, and the page says so
    lost = _attack("census", *renamed_args, "--json", str(tmp_path / "lost.json"))
    assert lost.exit_code == 0, lost.output
    assert "--schema" in " ".join(lost.output.split())


def test_census_takes_categories_that_are_not_adults(tmp_path: Path) -> None:
    path = tmp_path / "by_sex.csv"
    path.write_text("block,sex,count\n1,F,2\n1,M,1\n", encoding="utf-8")
    result = _attack("census", "--tables", path, "--json", "-")
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)["blocks"][0]["cells"]
    assert cells == [{"cell": ["F"], "count": 2}, {"cell": ["M"], "count": 1}]


def test_census_count_yes_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "by_sex.csv"
    path.write_text("block,sex,count\n1,Female,2\n1,Male,yes\n", encoding="utf-8")
    text = _error_line(_attack("census", "--tables", path))
    assert "'by_sex.csv' row 2, column 'count': 'yes' is not a count" in text


def test_census_header_only_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "total.csv"
    path.write_text("block,count\n", encoding="utf-8")
    text = _error_line(_attack("census", "--tables", path))
    assert "'total.csv' has a header but no rows" in text and "ZeroDivision" not in text


def test_census_schema_errors_name_the_file(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("block,tenure,count\n1,own,2\n", encoding="utf-8")
    declaration = tmp_path / "s.yaml"
    declaration.write_text("attributes:\n  sex: [F, M]\n", encoding="utf-8")
    text = _error_line(_attack("census", "--tables", table, "--schema", declaration))
    assert "'t.csv' has columns ['tenure']" in text and "'s.yaml'" in text
    declaration.write_text("attributes: [sex\n", encoding="utf-8")
    text = _error_line(_attack("census", "--tables", table, "--schema", declaration))
    assert "s.yaml', line 2 is not valid YAML" in text
    text = _error_line(_attack("census", "--blocks", "5", "--schema", declaration))
    assert "--tables" in text


# --- membership --------------------------------------------------------------------------


@pytest.fixture
def german_csv(german: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "german.csv"
    german.to_csv(path, index=False)
    return path


def test_membership_on_a_users_table(german_csv: Path, tmp_path: Path) -> None:
    page = tmp_path / "membership.html"
    result = _german(
        german_csv, "--members", "200", "--model", "tree", "--json", "-", "--html", str(page)
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (tree,) = document["models"]
    assert tree["model"] == "tree" and tree["train_accuracy"] == 1.0
    attacks = {a["attack"]: a for a in tree["attacks"]}
    assert set(attacks) == {"loss_threshold", "shadow_models"}
    assert attacks["loss_threshold"]["n_members"] == 200
    # an unpruned tree memorises its rows: members' loss is zero, most non-members' is not
    assert attacks["loss_threshold"]["auc"] > 0.6
    assert "<svg" in page.read_text()


def test_membership_on_adult_prints_the_table() -> None:
    result = _attack("membership", "--members", "300", "--model", "tree", "--shadows", "2")
    assert result.exit_code == 0, result.output
    assert "Membership inference (300 members)" in result.output
    assert "tree" in result.output and "auc" in result.output


def test_membership_needs_a_label_for_a_users_table(german_csv: Path) -> None:
    text = _error_line(_attack("membership", german_csv))
    assert "--label is required" in text


def _german(csv: Path, *extra: str) -> Result:
    return _attack("membership", csv, "--label", "credit", "--positive-label", "good", *extra)


def test_membership_names_an_unknown_model(german_csv: Path) -> None:
    text = _error_line(_german(german_csv, "--members", "100", "--model", "svm"))
    assert "'svm'" in text and "logistic" in text


def test_membership_refuses_more_members_than_the_table_holds(german_csv: Path) -> None:
    text = _error_line(_german(german_csv, "--members", "300"))
    assert "1200 rows" in text and "1000" in text and "--members 250" in text
