"""``ethica frontier`` end to end on Adult samples, through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from ethica._results import SCHEMA_VERSION
from ethica.cli import app
from ethica.datasets import load_adult
from ethica.fairness import DemographicParity, frontier
from tests.system._adult_options import ADULT

runner = CliRunner()


@pytest.fixture(scope="module")
def adult_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """3,000 Adult training rows and 2,000 Adult test rows, as CSV files."""
    folder = tmp_path_factory.mktemp("frontier")
    train = load_adult("train").sample(3000, random_state=1)
    test = load_adult("test").sample(2000, random_state=2)
    paths = folder / "train.csv", folder / "test.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    return paths


def _frontier(source: Path, *options: str) -> Result:
    return runner.invoke(app, ["frontier", str(source), *options])


def _staircase_area(points: list[dict[str, float]]) -> float:
    """Area dominated by the points under reference (1, 1), summed as a staircase."""
    area, ceiling = 0.0, 1.0
    for p in sorted(points, key=lambda p: (p["error"], p["disparity"])):
        if p["disparity"] < ceiling:
            area += (1.0 - p["error"]) * (ceiling - p["disparity"])
            ceiling = p["disparity"]
    return area


def test_frontier_sweeps_saves_the_chosen_model_and_its_audit(
    adult_files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = adult_files
    model, document_path, page = (
        tmp_path / "out" / "fair.joblib",
        tmp_path / "f.json",
        (tmp_path / "f.html"),
    )
    result = _frontier(
        train,
        *ADULT,
        "--test",
        str(test),
        "--bounds",
        "0,0.02,0.2",
        "--target-disparity",
        "0.05",
        "--model-out",
        str(model),
        "--json",
        str(document_path),
        "--html",
        str(page),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(document_path.read_text())
    assert document["kind"] == "frontier" and document["schema_version"] == SCHEMA_VERSION
    points = document["points"]
    assert [p["bound"] for p in points] == [0.0, 0.02, 0.2]
    # tighter bounds buy lower training disparity
    assert points[0]["train_disparity"] < points[-1]["train_disparity"]
    assert document["hypervolume"] == pytest.approx(_staircase_area(points))
    chosen = points[document["chosen"]]
    assert chosen["disparity"] <= 0.05 and not chosen["dominated"]
    # the saved bundle predicts like the chosen point, on rows encoded by its own encoding
    bundle = joblib.load(model)
    rows = bundle["encoding"].transform(load_adult("test").sample(2000, random_state=2))
    positive = bundle["model"]._pmf_predict(rows.X)[:, 1]
    assert float(np.mean(np.abs(positive - rows.y))) == pytest.approx(chosen["error"])
    assert bundle["point"]["bound"] == chosen["bound"] and bundle["constraint"] == (
        "demographic_parity"
    )
    audit = json.loads(model.with_suffix(".audit.json").read_text())
    assert audit["n_rows"] == 2000 and audit["protected"] == ["sex"]
    assert {s["shape"] for s in audit["subgroups"]} == {"linear", "conjunction"}
    html = page.read_text()
    assert html.count("<svg") >= 2 and "The price of fairness" in html
    assert "Audit of the chosen model" in html
    assert "chosen" in result.output and "Hypervolume" in result.output


def test_frontier_splits_the_source_with_points_and_json_to_stdout(
    adult_files: tuple[Path, Path],
) -> None:
    train, _ = adult_files
    result = _frontier(
        train,
        *ADULT,
        "--points",
        "3",
        "--constraint",
        "equal-opportunity",
        "--test-fraction",
        "0.4",
        "--json",
        "-",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["constraint"] == "equal_opportunity"
    assert len(document["points"]) == 3 and document["points"][0]["bound"] == 0.0


def test_frontier_reports_progress_for_every_model() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    group = rng.integers(0, 2, 400)
    y = (X[:, 0] + group + rng.normal(size=400) > 0.5).astype(int)
    calls: list[tuple[int, int]] = []
    frontier(
        X,
        y,
        group,
        X,
        y,
        group,
        constraint=DemographicParity(),
        points=3,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # the unconstrained run, then 3 bounds


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--bounds", "0,1.5"], ["1.5", "outside [0, 1]"]),
        (["--bounds", "-0.1"], ["-0.1", "outside [0, 1]"]),
        (["--bounds", "tight"], ["--bounds", "tight"]),
        (
            ["--estimator", "sklearn.neighbors.KNeighborsClassifier"],
            ["KNeighborsClassifier", "sample_weight"],
        ),
        (["--estimator", "no.such.Learner"], ["no.such.Learner", "class path"]),
        (["--constraint", "parity-of-esteem"], ["parity-of-esteem", "demographic_parity"]),
        (["--test-fraction", "1.5"], ["1.5", "between 0 and 1"]),
        (["--points", "1"], ["points=1", "at least 2"]),
    ],
)
def test_bad_options_are_one_clear_line(
    adult_files: tuple[Path, Path], tmp_path: Path, options: list[str], words: list[str]
) -> None:
    model = tmp_path / "never.joblib"
    result = _frontier(adult_files[0], *ADULT, *options, "--model-out", str(model))
    assert result.exit_code == 2, result.output
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert all(word in text for word in words), text
    assert not model.exists()


@pytest.fixture(scope="module")
def bad_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Adult rows with one sex only, and with a three-valued label."""
    folder = tmp_path_factory.mktemp("bad")
    rows = load_adult("train").sample(1500, random_state=3)
    men = folder / "men.csv"
    rows[rows["sex"] == "Male"].to_csv(men, index=False)
    bands = folder / "bands.csv"
    rows.assign(income=np.where(rows["age"] < 30, "young", rows["income"])).to_csv(
        bands, index=False
    )
    return {"men": men, "bands": bands}


def test_a_single_group_is_refused(bad_tables: dict[str, Path]) -> None:
    result = _frontier(bad_tables["men"], *ADULT)
    assert result.exit_code == 2 and result.output.count("error:") == 1
    text = " ".join(result.output.split())
    assert "'sex'" in text and "single group ['Male']" in text


def test_labels_that_are_not_binary_are_refused(bad_tables: dict[str, Path]) -> None:
    result = _frontier(bad_tables["bands"], *ADULT)
    assert result.exit_code == 2 and result.output.count("error:") == 1
    text = " ".join(result.output.split())
    assert "3 distinct value(s)" in text and "binary" in text


def test_text_labels_need_the_positive_label(adult_files: tuple[Path, Path]) -> None:
    result = _frontier(adult_files[0], "--label", "income", "--protected", "sex")
    assert result.exit_code == 2 and result.output.count("error:") == 1
    text = " ".join(result.output.split())
    assert "--positive-label" in text and ">50K" in text
