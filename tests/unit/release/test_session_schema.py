"""Session.schema: what the release sees, without reading a row; the spec types keys by it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ethica.data import resolve_table
from ethica.privacy import PureDP, Rows, Session
from ethica.privacy.release._spec import column_kinds


def test_a_csv_session_sees_text_and_a_parquet_session_its_types(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]})
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    text = Session(csv, privacy_unit=Rows(), budget=PureDP(1)).schema
    typed = Session(parquet, privacy_unit=Rows(), budget=PureDP(1)).schema
    assert column_kinds(text, ["n", "s"]) == {"n": "string", "s": "string"}
    assert column_kinds(typed, ["n", "s", "absent"]) == {"n": "integer", "s": "string"}
    assert column_kinds(typed, ["n"]) == column_kinds(resolve_table(parquet), ["n"])
