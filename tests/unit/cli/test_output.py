"""The one output module of the CLI: atomic files, JSON to a path or stdout, "wrote" lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ethica.cli._output import emit, write_atomically, write_text_atomically


def test_text_lands_whole_and_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "page.html"
    write_text_atomically(target, "<p>ok</p>")
    assert target.read_text(encoding="utf-8") == "<p>ok</p>"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]


def test_a_failing_writer_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"

    def half_then_fail(temporary: Path) -> None:
        temporary.write_text("a,b\n1,", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_writer_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old", encoding="utf-8")

    def fail(temporary: Path) -> None:
        temporary.write_text("new but partial", encoding="utf-8")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_json_to_stdout_prints_only_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[bool] = []
    emit({"a": [1, 2]}, json_path="-", show=lambda: shown.append(True))
    assert json.loads(capsys.readouterr().out) == {"a": [1, 2]}
    assert shown == []


def test_json_to_a_path_then_tables_then_wrote_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.json"
    extra = tmp_path / "model.joblib"
    emit(
        {"x": 1.5},
        json_path=str(target),
        show=lambda: print("TABLE"),
        written=[("model", extra)],
    )
    assert json.loads(target.read_text(encoding="utf-8")) == {"x": 1.5}
    out = capsys.readouterr().out
    assert out.index("TABLE") < out.index("wrote model") < out.index("wrote JSON")
    assert str(target) in out.replace("\n", "")


def test_a_page_that_fails_to_draw_writes_neither_file(tmp_path: Path) -> None:
    json_target, html_target = tmp_path / "out.json", tmp_path / "out.html"

    def broken_sections() -> tuple[()]:
        raise RuntimeError("cannot draw")

    with pytest.raises(RuntimeError, match="cannot draw"):
        emit(
            {"x": 1},
            json_path=str(json_target),
            html_path=html_target,
            title="t",
            sections=broken_sections,
            show=lambda: None,
        )
    assert list(tmp_path.iterdir()) == []
