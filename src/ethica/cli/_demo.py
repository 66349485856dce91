"""``ethica demo``: the whole story on real data, into one HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ethica.cli._app import app, console
from ethica.cli._output import say_written, write_text_atomically
from ethica.cli._progress import stages


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for report.html.")] = Path("ethica-demo"),
) -> None:
    """Train an ordinary model on Adult, audit it, and write ethica-demo/report.html."""
    from ethica.workflows._demo import build_demo

    with stages("ethica demo") as advance:
        result = build_demo(progress=advance)
    target = out / "report.html"
    write_text_atomically(target, result.html)
    for line in result.summary:
        console.print(line, highlight=False)
    say_written("HTML report", target)
