"""What every command writes: JSON to a path or stdout, HTML pages, "wrote ..." lines.

Every file is written through a temporary file beside it and renamed into place, so a
failure (a rendering error, a full disk, Ctrl-C) never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ethica._exceptions import EthicaWarning, InvalidParameterError
from ethica.cli._app import console, err_console
from ethica.cli._flags import as_flags
from ethica.cli._progress import working

if TYPE_CHECKING:
    from ethica.report import Section

__all__ = [
    "EncodingOption",
    "HtmlOption",
    "JsonOption",
    "check_output_paths",
    "emit",
    "json_text",
    "render_page",
    "say_written",
    "shown_warnings",
    "write_atomically",
    "write_text_atomically",
]

JsonOption = Annotated[
    str | None, typer.Option("--json", help="Write the result as JSON to PATH, or - for stdout.")
]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Write a self-contained HTML report to PATH.")
]


EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="Text encoding of a CSV source: utf-8 (default), utf-16 or latin-1."
    ),
]


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (``None`` if it can), without creating anything."""
    if path.is_dir():
        return "it is a folder; name a file inside it"
    if path.exists():
        return None if os.access(path, os.W_OK) else "the file exists and is read-only"
    ancestor = path.parent
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        return f"{str(ancestor)!r} is a file, not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"the folder {str(ancestor)!r} is not writable"
    return None


def check_output_paths(**paths: Path | str | None) -> None:
    """Refuse, before any work, output paths that cannot be written.

    Keyword names are the options (``json_path`` -> ``--json``, ``model_out`` ->
    ``--model-out``); ``None`` and ``-`` (stdout) are skipped. Raises
    :class:`~ethica.InvalidParameterError` (one line, exit code 2) naming the option,
    the path and why; two options naming the same file are refused too.
    """
    seen: dict[Path, str] = {}
    for name, value in paths.items():
        if value is None or str(value) == "-":
            continue
        option = "--" + name.removesuffix("_path").replace("_", "-")
        if not str(value).strip():
            raise InvalidParameterError(f"{option} is empty; give a file path, e.g. {option} out")
        path = Path(value).expanduser()
        reason = _unwritable(path)
        if reason is not None:
            raise InvalidParameterError(
                f"cannot write {option} to {str(path)!r}: {reason}; choose a path in a "
                "folder you can write to."
            )
        resolved = path.resolve()
        if resolved in seen:
            raise InvalidParameterError(
                f"{seen[resolved]} and {option} both write {str(path)!r}; give them different "
                "paths."
            )
        seen[resolved] = option


@contextlib.contextmanager
def shown_warnings() -> Iterator[None]:
    """Show ethica's warnings raised inside the block as one ``warning:`` line each.

    Other warnings are passed on unchanged after the block.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: set[str] = set()
    for item in caught:
        if issubclass(item.category, EthicaWarning):
            text = str(item.message)
            if text not in seen:
                seen.add(text)
                err_console.print(
                    f"[yellow]warning:[/] {escape(as_flags(text))}",
                    highlight=False,
                    soft_wrap=True,
                )
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


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
