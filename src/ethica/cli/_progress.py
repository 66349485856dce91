"""Progress display for long work on standard error: spinners, and bars for known totals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ethica.cli._app import err_console

__all__ = ["bar", "stages", "working"]


def _spinner() -> Progress:
    """A transient spinner with the task's description and the elapsed time, on stderr."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@contextmanager
def working(description: str) -> Iterator[None]:
    """Show ``description`` with a spinner and elapsed time while the block runs.

    Shown only on a terminal (``transient``: it disappears when done).
    """
    with _spinner() as progress:
        progress.add_task(description, total=None)
        yield


@contextmanager
def stages(title: str) -> Iterator[Callable[[str], None]]:
    """A spinner naming the current stage; each finished stage stays as a ticked line.

    Yields ``advance(message)``, which the science calls (as a plain callback) when it
    starts a new stage.
    """
    with _spinner() as progress:
        task = progress.add_task(title, total=None)
        current: list[str] = []

        def tick_current() -> None:
            if current:
                progress.console.print(f"[green]✓[/] {current[-1]}", highlight=False)

        def advance(message: str) -> None:
            tick_current()
            current.append(message)
            progress.update(task, description=message)

        yield advance
        tick_current()


@contextmanager
def bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A determinate progress bar fed by a science callback ``progress(done, total)``.

    Yields the callback; the bar learns its total from the first call, so one bar can
    follow an attack whose amount of work is only known once it starts.
    """
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
