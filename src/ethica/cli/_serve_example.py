"""``ethica serve example DIR``: a service you can start from a fresh clone in two commands.

Writes ``DIR/adult.parquet`` (the shipped UCI Adult training split) and ``DIR/service.yaml``
(one dataset with its public metadata, one analyst, one custodian), then prints the commands
that create a key and start the service. The column metadata is public knowledge from Adult's
codebook, never read from the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import console
from ethica.cli._output import (
    check_output_paths,
    say_written,
    write_atomically,
    write_text_atomically,
)
from ethica.cli._serve import serve_app

EXAMPLE_CONFIG = """\
# A starter config for `ethica serve` (docs/service.md explains every key).
ledger: ledger.sqlite3
store: service.sqlite3
confidence: 0.95
custodians: [carol]
datasets:
  adult:
    source: adult.parquet
    privacy_unit: rows
    total: {epsilon: 3}
    columns:                      # public metadata (Adult's codebook), never read from the rows
      sex: {type: text, keys: [Female, Male]}
      race: {type: text, keys: [Amer-Indian-Eskimo, Asian-Pac-Islander, Black, Other, White]}
      income: {type: text, keys: ["<=50K", ">50K"]}
      age: {type: number, lower: 17, upper: 90}
      hours_per_week: {type: number, lower: 1, upper: 99}
      education_num: {type: number, lower: 1, upper: 16}
analysts:
  alice: {adult: {epsilon: 1}}
rate_limits:
  default: 600
"""


@serve_app.command("example")
def serve_example(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write adult.parquet and service.yaml to.")
    ],
) -> None:
    """Write a ready-to-serve example (Adult + service.yaml) into DIRECTORY."""
    data_path, config_path = directory / "adult.parquet", directory / "service.yaml"
    existing = [str(p) for p in (data_path, config_path) if p.exists()]
    if existing:
        raise InvalidParameterError(
            f"{', '.join(existing)} already exist(s); choose an empty folder for the example."
        )
    check_output_paths(data=data_path, config=config_path)
    from ethica.datasets import load_adult

    frame = load_adult("train")
    write_atomically(data_path, lambda temporary: frame.to_parquet(temporary, index=False))
    write_text_atomically(config_path, EXAMPLE_CONFIG)
    say_written("data", data_path)
    say_written("config", config_path)
    console.print(
        "next:\n"
        f"  ethica serve keys create alice --config {config_path}   # prints alice's key once\n"
        f"  ethica serve --config {config_path}                     # http://127.0.0.1:8000/\n"
        "  ethica query --url http://127.0.0.1:8000 --key KEY --epsilon 0.1 "
        '"SELECT sex, COUNT(*), AVG(age) FROM adult GROUP BY sex"',
        highlight=False,
    )
