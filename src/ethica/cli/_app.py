"""The root Typer application and the error policy every command shares.

Commands register themselves on :data:`app` from their own module (one module per
command group). An :class:`ethica.EthicaError` is shown as one red line naming the
problem, exit code 2, no traceback; an unexpected error says so, exit code 1. Library
messages name parameters (``positive_label=``); :func:`~ethica.cli._flags.as_flags` shows
them as the flags that set them (``--positive-label``).
``ethica --debug ...`` lets the traceback through.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ethica._exceptions import EthicaError
from ethica.cli._flags import as_flags

console = Console()
err_console = Console(stderr=True)

_state = {"debug": False}


class _EthicaGroup(TyperGroup):
    """Turns exceptions from any command into the error policy above."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise
        except EthicaError as error:
            if _state["debug"]:
                raise
            err_console.print(
                f"[bold red]error:[/] {escape(as_flags(str(error)))}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from error
        except Exception as error:
            if _state["debug"]:
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(error).__name__}: {escape(str(error))}\n"
                "Run again with --debug for the traceback, and please report it.",
                highlight=False,
            )
            raise typer.Exit(1) from error


app = typer.Typer(
    name="ethica",
    cls=_EthicaGroup,
    help="Fairness audits of model outputs, fair learning, and differentially private statistics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """ethica: audit model outputs, learn fairly, release statistics privately."""
    _state["debug"] = debug


def command_group(name: str, help: str) -> typer.Typer:
    """A sub-command group ``ethica NAME ...``, registered on :data:`app`."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group
