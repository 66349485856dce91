"""The shipped Adult and German credit copies match the raw UCI files they were built from.

The raw UCI files live in ``shared/data`` beside the checkout (``ETHICA_SHARED_DATA``
overrides). On a fresh clone without them, each test that compares with a raw file checks
instead that the shipped copy is byte for byte the one recorded here (SHA-256), which was
checked against the raw files when it was recorded; the digests are themselves tested
against a fresh build from the raw files whenever those are present.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from ethica import InvalidParameterError
from ethica.datasets import load_adult, load_german

ROOT = Path(__file__).resolve().parents[3]
# The raw UCI files live in shared/ beside the checkout (as in CI); ETHICA_SHARED_DATA overrides.
RAW = Path(os.environ.get("ETHICA_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHIPPED = ROOT / "src" / "ethica" / "data" / "_files"
#: SHA-256 of the shipped copies, as built by scripts/build_datasets.py from the raw files.
SHIPPED_SHA256 = {
    "adult_test.csv.gz": "833b7a2b1672f82cd1c72d34a141634f7762e7f979c8c5cca2ac1af60109c036",
    "adult_train.csv.gz": "d624afa4c2d929854f8b4db297d0e6724aecf862c53d85b1eb49ad0af737dbb2",
    "german.csv.gz": "3766fecaf0ffca8c4e7fe7887c8318271fb0811b72f30aaf62c029174e47f2ca",
}
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _raw_files_present(*relative: str) -> bool:
    """Whether the raw files are here; if not, check the shipped copies by digest instead."""
    if all((RAW / name).is_file() for name in relative):
        return True
    for name, digest in SHIPPED_SHA256.items():
        assert _sha256(SHIPPED / name) == digest, f"{name} differs from the recorded copy"
    return False


def test_shipped_copies_are_the_recorded_ones() -> None:
    assert sorted(p.name for p in SHIPPED.glob("*.csv.gz")) == sorted(SHIPPED_SHA256)
    for name, digest in SHIPPED_SHA256.items():
        assert _sha256(SHIPPED / name) == digest, name


def _raw_adult_lines(name: str) -> list[list[str]]:
    lines = (RAW / "adult" / name).read_text(encoding="utf-8").splitlines()
    return [line.split(", ") for line in lines if line.strip() and not line.startswith("|")]


@pytest.mark.parametrize(("split", "raw"), [("train", "adult.data"), ("test", "adult.test")])
def test_adult_matches_the_raw_file(split: str, raw: str) -> None:
    frame = load_adult(split)  # type: ignore[arg-type]
    if not _raw_files_present(f"adult/{raw}"):
        return
    rows = _raw_adult_lines(raw)
    assert list(frame.columns) == ADULT_COLUMNS
    assert len(frame) == len(rows)
    for i, column in enumerate(ADULT_COLUMNS):
        raw_values = [r[i] for r in rows]
        assert frame[column].isna().sum() == raw_values.count("?"), column
    assert set(frame["income"]) == {"<=50K", ">50K"}
    raw_income = [r[-1].rstrip(".") for r in rows]
    assert (frame["income"] == ">50K").sum() == raw_income.count(">50K")
    assert frame["age"].tolist() == [int(r[0]) for r in rows]
    assert frame["hours_per_week"].dtype == "int64"


def test_adult_rejects_unknown_split() -> None:
    with pytest.raises(InvalidParameterError, match=r"split must be 'train' or 'test', got 'dev'"):
        load_adult("dev")  # type: ignore[arg-type]


def test_german_is_decoded() -> None:
    frame = load_german()
    assert len(frame) == 1000 and set(frame["sex"]) == {"female", "male"}
    assert frame["telephone"].dtype == bool
    assert not any(str(v).startswith("A") and str(v)[1:].isdigit() for v in frame["job"])
    if not _raw_files_present("german/german.data", "german/values_maps.json"):
        return
    raw = [line.split() for line in (RAW / "german" / "german.data").read_text().splitlines()]
    maps = json.loads((RAW / "german" / "values_maps.json").read_text())
    assert len(frame) == len(raw) == 1000
    assert frame["credit"].value_counts().to_dict() == {
        "good": sum(r[-1] == "1" for r in raw),
        "bad": sum(r[-1] == "2" for r in raw),
    }
    female_codes = {code for code, text in maps["status_sex"].items() if text.startswith("female")}
    assert (frame["sex"] == "female").sum() == sum(r[8] in female_codes for r in raw)
    assert set(frame["sex"]) == {"female", "male"}
    assert frame["purpose"].iloc[0] == maps["purpose"][raw[0][3]]
    assert frame["age"].tolist() == [int(r[12]) for r in raw]
    assert frame["telephone"].dtype == bool
    assert not any(str(v).startswith("A") and str(v)[1:].isdigit() for v in frame["job"])


def test_build_script_reproduces_the_shipped_files(tmp_path: Path) -> None:
    raw = ("adult/adult.data", "adult/adult.test", "german/german.data")
    if not _raw_files_present(*raw, "german/values_maps.json"):
        return
    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts" / "build_datasets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.build(RAW, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in SHIPPED.glob("*.csv.gz"))
    for path in written:
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes(), path.name
        assert _sha256(path) == SHIPPED_SHA256[path.name], path.name


def test_loaders_return_fresh_frames() -> None:
    first = load_german()
    first.loc[0, "credit"] = "changed"
    assert load_german().loc[0, "credit"] != "changed"
    assert isinstance(first, pd.DataFrame)
