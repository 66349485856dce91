"""``ethica serve``: the DP query service (FastAPI + uvicorn, behind ``ethica[service]``).

``ethica serve --config service.yaml [--host 127.0.0.1 --port 8000]`` starts it;
``ethica serve keys create NAME --config service.yaml`` prints a new API key once;
``ethica serve keys revoke ID`` and ``ethica serve keys list`` manage them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ethica._exceptions import InvalidParameterError
from ethica.cli._app import app, console

if TYPE_CHECKING:
    from ethica.service._config import ServiceConfig
    from ethica.service._store import Store

serve_app = typer.Typer(
    name="serve",
    help="Run the DP query service (analysts, API keys, budgets, DP SQL, web pages).",
    invoke_without_command=True,
)
app.add_typer(serve_app, name="serve")
keys_app = typer.Typer(name="keys", help="Create, list and revoke API keys.", no_args_is_help=True)
serve_app.add_typer(keys_app, name="keys")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="The service config (service.yaml).")
]


def _config(path: Path | None) -> Path:
    if path is None:
        raise InvalidParameterError(
            "give the service config: --config service.yaml (see docs/service.md)."
        )
    return path


@serve_app.callback()
def serve(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Start the service (or manage keys with ``ethica serve keys ...``)."""
    if ctx.invoked_subcommand is not None:
        return
    from ethica.service import build_app, require_service_extra

    require_service_extra()
    import uvicorn

    application, core = build_app(str(_config(config)))
    console.print(
        f"ethica DP query service on http://{host}:{port}/ "
        f"({len(core.config.datasets)} datasets, {len(core.config.analysts)} analysts; "
        f"ledger {core.config.ledger})"
    )
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    finally:
        core.close()


def _store(config: Path | None) -> tuple[ServiceConfig, Store]:
    from ethica.service._config import load_config
    from ethica.service._store import Store

    loaded = load_config(_config(config))
    return loaded, Store(loaded.store)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="An analyst or custodian named in the config.")],
    config: ConfigOption = None,
) -> None:
    """Create an API key for NAME and print it once (only its hash is stored)."""
    loaded, store = _store(config)
    try:
        role = loaded.role(name)
        if role is None:
            raise InvalidParameterError(
                f"{name!r} is neither an analyst nor a custodian in {loaded.path}; add them to "
                "the config first."
            )
        secret, record = store.create_key(name)
    finally:
        store.close()
    console.print(f"API key {record.id} for {role} {name!r} (shown once; store it safely):")
    typer.echo(secret)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (ethica serve keys list).")],
    config: ConfigOption = None,
) -> None:
    """Revoke an API key (permanently)."""
    _, store = _store(config)
    try:
        record = store.revoke(key_id)
    finally:
        store.close()
    console.print(f"revoked key {record.id} of {record.principal!r} at {record.revoked_at}")


@keys_app.command("list")
def keys_list(config: ConfigOption = None) -> None:
    """List API keys (ids, holders, prefixes; never the secrets)."""
    _, store = _store(config)
    try:
        keys = store.list_keys()
    finally:
        store.close()
    table = Table("id", "holder", "prefix", "created", "revoked")
    for key in keys:
        table.add_row(
            str(key.id), key.principal, key.prefix + "…", key.created_at, key.revoked_at or ""
        )
    console.print(table)
