"""Stream and series specs refuse unknown and missing keys with one shared check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy.stream._series import read_series_spec
from ethica.privacy.stream._specs import check_mapping
from ethica.privacy.stream._stream import spec_from_mapping

STREAM = {
    "name": "visits",
    "dataset": "visits",
    "start": "2024-01-01",
    "horizon": 7,
    "budget": {"epsilon": 1},
    "privacy_unit": {"user": "person"},
}
SERIES = (
    "dataset: visits\ntime: at\nstart: 2024-01-01\nperiods: 7\n"
    "privacy_unit: {user: person}\nbudget: {epsilon: 1}\n"
)


def test_a_stream_spec_names_unknown_and_missing_keys() -> None:
    with pytest.raises(InvalidParameterError) as error:
        spec_from_mapping({**STREAM, "horizn": 7, "budgt": 1})
    assert str(error.value).startswith("unknown stream spec fields ['budgt', 'horizn']; allowed:")
    assert "'horizon'" in str(error.value)
    missing = {k: v for k, v in STREAM.items() if k != "start"}
    with pytest.raises(InvalidParameterError, match=r"^the stream spec needs start:\.$"):
        spec_from_mapping(missing)
    assert spec_from_mapping(STREAM).horizon == 7


def test_a_series_spec_names_unknown_and_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "series.yaml"
    path.write_text(SERIES + "perods: 7\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=r"^unknown series spec fields \['perods'\]"):
        read_series_spec(path)
    path.write_text(SERIES.replace("time: at\n", ""), encoding="utf-8")
    with pytest.raises(InvalidParameterError) as error:
        read_series_spec(path)
    assert str(error.value) == f"the series spec {path} needs time:."
    path.write_text(SERIES, encoding="utf-8")
    assert read_series_spec(path)["periods"] == 7


def test_check_mapping_names_the_first_missing_key_in_order() -> None:
    with pytest.raises(InvalidParameterError, match=r"^the thing needs b:\.$"):
        check_mapping({"a": 1}, allowed={"a", "b", "c"}, required=("b", "c"), what="thing")
    check_mapping({"a": 1, "b": 2}, allowed={"a", "b"}, required=("a",), what="thing")
