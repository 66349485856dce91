"""ethica's command line: ``ethica --help``.

The only package that imports typer and rich. One module per command group;
each registers its commands on :data:`ethica.cli._app.app` when imported here.
"""

from __future__ import annotations

# Command groups: importing a module registers its commands on ``app``.
# Keep one line per module, sorted.
from ethica.cli import _attack  # noqa: F401
from ethica.cli import _audit  # noqa: F401
from ethica.cli import _budget  # noqa: F401
from ethica.cli import _demo  # noqa: F401
from ethica.cli import _frontier  # noqa: F401
from ethica.cli import _proxies  # noqa: F401
from ethica.cli import _query  # noqa: F401
from ethica.cli import _release  # noqa: F401
from ethica.cli import _serve  # noqa: F401
from ethica.cli import _serve_example  # noqa: F401
from ethica.cli import _stream  # noqa: F401
from ethica.cli import _synth  # noqa: F401
from ethica.cli import _verify  # noqa: F401
from ethica.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
