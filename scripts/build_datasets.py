"""Build the compressed data sets shipped in ``src/ethica/data/_files`` from the raw UCI files.

Run from the repository root::

    .venv/bin/python scripts/build_datasets.py [--raw DIR] [--out DIR]

(defaults: ``--raw ../shared/data`` beside the checkout, ``--out src/ethica/data/_files``).

The output is byte-for-byte reproducible (gzip with a zero timestamp, fixed row order),
so re-running it on the same raw files yields identical files.

Sources (both CC BY 4.0, UCI Machine Learning Repository):

- Adult (Census Income), Ronny Kohavi and Barry Becker, 1996:
  ``adult/adult.data`` (train) and ``adult/adult.test`` (test).
- Statlog (German Credit Data), Prof. Hans Hofmann: ``german/german.data`` decoded with
  ``german/values_maps.json``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
from pathlib import Path

import pandas as pd

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip

GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "present_employment", "installment_rate", "personal_status_sex", "other_debtors",
    "present_residence", "property", "age", "installment_plans", "housing",
    "number_of_existing_credits", "job", "number_of_people_liable", "telephone",
    "foreign_worker", "credit",
]  # fmt: skip

#: values_maps.json names the personal_status_sex map "status_sex".
GERMAN_MAP_KEYS = {"personal_status_sex": "status_sex"}


def read_adult(path: Path, *, skip_first_line: bool) -> pd.DataFrame:
    """Read one raw Adult file: ``", "``-separated, no header, ``?`` for missing."""
    frame = pd.read_csv(
        path,
        header=None,
        names=ADULT_COLUMNS,
        sep=",",
        skipinitialspace=True,
        na_values=["?"],
        skiprows=1 if skip_first_line else 0,
        skip_blank_lines=True,
    )
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


def read_german(data: Path, values_maps: Path) -> pd.DataFrame:
    """Read the raw German credit file and decode its ``A11``-style codes into readable values."""
    frame = pd.read_csv(data, header=None, names=GERMAN_COLUMNS, sep=" ", dtype=str)
    maps = json.loads(values_maps.read_text(encoding="utf-8"))
    for column in GERMAN_COLUMNS:
        mapping = maps.get(GERMAN_MAP_KEYS.get(column, column))
        if mapping is None:
            frame[column] = frame[column].astype("int64")
            continue
        unknown = set(frame[column]) - set(mapping)
        if unknown:
            raise ValueError(f"German column {column!r} has codes without a meaning: {unknown}")
        frame[column] = frame[column].map(
            lambda code, m=mapping: m[code].strip() if isinstance(m[code], str) else m[code]
        )
    frame.insert(
        frame.columns.get_loc("personal_status_sex") + 1,
        "sex",
        frame["personal_status_sex"].str.split(":").str[0].str.strip(),
    )
    return frame


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as a gzip CSV with a zero timestamp, so the bytes are reproducible."""
    text = frame.to_csv(index=False, lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def build(raw: Path, out: Path) -> list[Path]:
    """Build every shipped file from the raw directory ``raw`` into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    targets = {
        "adult_train.csv.gz": read_adult(raw / "adult" / "adult.data", skip_first_line=False),
        "adult_test.csv.gz": read_adult(raw / "adult" / "adult.test", skip_first_line=True),
        "german.csv.gz": read_german(
            raw / "german" / "german.data", raw / "german" / "values_maps.json"
        ),
    }
    written = []
    for name, frame in targets.items():
        write_csv_gz(frame, out / name)
        written.append(out / name)
    return written


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--raw", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=Path, default=root / "src" / "ethica" / "data" / "_files")
    args = parser.parse_args()
    for path in build(args.raw, args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
