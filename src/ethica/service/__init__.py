"""The DP query service: ``ethica serve`` (FastAPI + uvicorn, behind ``ethica[service]``).

A custodian registers datasets and analysts in ``service.yaml``
(:func:`~ethica.service._config.load_config`); analysts send DP SQL with an API key and get
noisy answers with intervals, charged to their grant and to the dataset's total in the
ledger. :class:`Client` (and ``ethica query``) speaks to a running service. See
``docs/service.md``.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from ethica._exceptions import MissingExtraError
from ethica.service._client import Client, RateLimitedError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ethica.service._config import ServiceConfig
    from ethica.service._core import ServiceCore

__all__ = ["Client", "RateLimitedError", "build_app", "require_service_extra"]


def require_service_extra() -> None:
    """Raise :class:`MissingExtraError` naming the install command if a part is missing."""
    for module in ("fastapi", "uvicorn", "sqlglot"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(
                f"the DP query service needs {module!r}; install it with "
                "pip install 'ethica[service]'."
            )


def build_app(config: ServiceConfig | str | Any) -> tuple[FastAPI, ServiceCore]:
    """The app and its core from a config object or a ``service.yaml`` path."""
    require_service_extra()
    from ethica.service._app import create_app
    from ethica.service._config import ServiceConfig, load_config
    from ethica.service._core import ServiceCore

    if not isinstance(config, ServiceConfig):
        config = load_config(config)
    core = ServiceCore(config)
    return create_app(core), core
