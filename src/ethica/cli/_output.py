"""What every command writes: JSON to a path or stdout, HTML pages, "wrote ..." lines.

Every file is written through a temporary file beside it and renamed into place, so a
failure (a rendering error, a full disk, Ctrl-C) never leaves a partial file behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ethica.cli._app import console
from ethica.cli._progress import working

if TYPE_CHECKING:
    from ethica.report import Section

__all__ = [
    "HtmlOption",
    "JsonOption",
    "emit",
    "json_text",
    "render_page",
    "say_written",
    "write_atomically",
    "write_text_atomically",
]

JsonOption = Annotated[
    str | None, typer.Option("--json", help="Write the result as JSON to PATH, or - for stdout.")
]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Write a self-contained HTML report to PATH.")
]


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary)`` then rename the temporary file to ``path``.

    The parent folder is created if needed. If ``write`` raises, the temporary file is
    removed and ``path`` is left as it was (absent, or its previous content).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with :func:`write_atomically`."""
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def json_text(document: Any) -> str:
    """The JSON every command writes: indented by two spaces."""
    return json.dumps(document, indent=2)


def render_page(title: str, sections: Iterable[Section]) -> str:
    """One self-contained HTML report page with ``sections`` (a spinner while it draws)."""
    from ethica.report import Report

    with working("Drawing the report"):
        report = Report(title)
        for section in sections:
            report = report.with_section(section)
        return report.render()


def say_written(kind: str, path: Path | str) -> None:
    """The line that tells the user where a file went: ``wrote KIND: PATH``."""
    console.print(f"[green]wrote[/] {kind}: {path}", highlight=False)


def emit(
    document: Mapping[str, Any],
    *,
    json_path: str | None,
    show: Callable[[], None],
    html_path: Path | None = None,
    title: str = "",
    sections: Callable[[], Iterable[Section]] = tuple,
    written: Sequence[tuple[str, Path | str]] = (),
) -> None:
    """Write the HTML page and the JSON document asked for, then show the result.

    ``json_path == "-"`` prints the JSON on stdout and nothing else (so it can be piped);
    otherwise ``show()`` prints the tables and a ``wrote`` line follows for each file:
    the ones the command wrote itself (``written``: kind and path), the JSON, the page.
    The page is rendered first, so a failure to draw it writes neither file.
    """
    if html_path is not None:
        write_text_atomically(html_path, render_page(title, sections()))
    text = json_text(document)
    if json_path == "-":
        typer.echo(text)
        return
    if json_path is not None:
        write_text_atomically(Path(json_path), text)
    show()
    for kind, path in written:
        say_written(kind, path)
    if json_path is not None:
        say_written("JSON", json_path)
    if html_path is not None:
        say_written("HTML report", html_path)
