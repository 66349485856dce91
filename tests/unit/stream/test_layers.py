"""The stream code keeps DESIGN.md's layers: Ibis only in ethica.data, typer/rich only in cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ethica

SRC = Path(ethica.__file__).parent
SCIENCE = [
    *sorted((SRC / "privacy" / "stream").glob("*.py")),
    SRC / "workflows" / "_stream_demo.py",
    SRC / "report" / "_stream_section.py",
]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", SCIENCE, ids=lambda p: p.name)
def test_stream_modules_import_no_engine_and_no_cli(path: Path) -> None:
    assert path.exists()
    assert not _imported(path) & {"ibis", "typer", "rich", "fastapi", "starlette"}
