"""``ethica proxies`` end to end on an Adult sample, through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from ethica._results import SCHEMA_VERSION
from ethica.cli import app
from ethica.datasets import load_adult
from tests.system._adult_options import ADULT

runner = CliRunner()


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 Adult training rows as a CSV file."""
    path = tmp_path_factory.mktemp("proxies") / "adult.csv"
    load_adult("train").sample(4000, random_state=4).to_csv(path, index=False)
    return path


def _proxies(source: Path, *options: str) -> Result:
    return runner.invoke(app, ["proxies", str(source), *options])


def test_dropping_sex_leaves_the_disparity_and_its_proxies(adult_csv: Path) -> None:
    result = _proxies(adult_csv, *ADULT, "--top", "4", "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "proxies" and document["schema_version"] == SCHEMA_VERSION
    assert document["protected"] == ["sex"]
    # on Adult, husband/wife and marital status betray sex: unawareness removes little
    assert document["protected_auc"] > 0.85
    assert document["disparity_without"] > 0.5 * document["disparity_with"] > 0.05
    ranked = [p["feature"] for p in document["proxies"]]
    assert len(ranked) == 4 and "relationship" in ranked[:2] and "sex" not in ranked
    aucs = [p["auc"] for p in document["proxies"]]
    assert aucs == sorted(aucs, reverse=True) and aucs[0] > 0.8


def test_proxies_terminal_and_report(adult_csv: Path, tmp_path: Path) -> None:
    page = tmp_path / "proxies.html"
    result = _proxies(adult_csv, *ADULT, "--top", "3", "--html", str(page))
    assert result.exit_code == 0, result.output
    assert "without sex" in result.output and "relationship" in result.output
    html = page.read_text()
    assert html.count("<svg") == 2 and "Unawareness is no guarantee" in html
    assert "trained without sex" in html


def test_bad_input_is_one_clear_line(adult_csv: Path, tmp_path: Path) -> None:
    rows = load_adult("train").sample(1000, random_state=5)
    women = tmp_path / "women.csv"
    rows[rows["sex"] == "Female"].to_csv(women, index=False)
    many = tmp_path / "many.csv"
    rows.assign(income=np.where(rows["age"] > 60, "retired", rows["income"])).to_csv(
        many, index=False
    )
    cases = [
        (_proxies(women, *ADULT), ["single group ['Female']"]),
        (_proxies(many, *ADULT), ["3 distinct value(s)", "binary"]),
        (_proxies(adult_csv, *ADULT, "--top", "0"), ["--top 0", "at least 1"]),
        (_proxies(adult_csv, *ADULT, "--exclude", "weight"), ["['weight']", "exclude"]),
        (_proxies(adult_csv, *ADULT, "--constraint", "fair"), ["'fair'", "equal_opportunity"]),
        (
            _proxies(
                adult_csv, "--label", "income", "--positive-label", ">50K", "--protected", "gender"
            ),
            ["gender", "sex"],
        ),
    ]
    for result, words in cases:
        assert result.exit_code == 2, result.output
        assert result.output.count("error:") == 1 and "Traceback" not in result.output
        text = " ".join(result.output.split())
        assert all(word in text for word in words), text
