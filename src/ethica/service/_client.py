"""A small Python client for the DP query service (``ethica.service.Client``).

Example::

    from ethica.service import Client

    with Client("http://127.0.0.1:8000", key) as client:
        client.datasets()                                   # what you may query
        client.plan("SELECT COUNT(*) FROM visits", {"epsilon": 0.1})   # free
        client.query("SELECT COUNT(*) FROM visits", {"epsilon": 0.1}, request_id="q1")
        client.history()

Every method returns the service's JSON (see ``docs/service.md``). A refusal raises the
matching ethica error, with the service's message: 400 :class:`InvalidParameterError`
(:class:`~ethica.privacy.sql.SqlRefusedError` for refused SQL, with ``node``), 401 and 403
:class:`AccessDeniedError`, 403 over budget :class:`BudgetExceededError`, 409
:class:`LedgerError`, 429 :class:`RateLimitedError` (with ``retry_after`` seconds), 500
:class:`ReleaseFailedError`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ethica._exceptions import (
    BudgetExceededError,
    DataSourceError,
    EthicaError,
    InvalidParameterError,
    LedgerError,
    ReleaseFailedError,
)

__all__ = ["Client", "RateLimitedError"]


class RateLimitedError(EthicaError, RuntimeError):
    """The service refused a request over the caller's rate limit (HTTP 429).

    Attributes
    ----------
    retry_after
        Seconds to wait before the next request (the ``Retry-After`` header).
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _budget(budget: Any) -> dict[str, Any]:
    if isinstance(budget, int | float | str):
        return {"epsilon": budget}
    if isinstance(budget, dict):
        return budget
    to_dict = getattr(budget, "to_dict", None)
    if callable(to_dict):  # an ethica budget: its exact values
        return {k: v for k, v in to_dict().items() if k in ("epsilon", "rho", "delta")}
    raise InvalidParameterError(
        f"budget must be a number (epsilon), a mapping like {{'epsilon': 0.5}} or an ethica "
        f"budget such as PureDP(1/2); got {budget!r}."
    )


class Client:
    """An analyst's (or custodian's) connection to an ``ethica serve`` service.

    Parameters
    ----------
    url
        The service's base URL, e.g. ``"http://127.0.0.1:8000"``.
    key
        The API key (sent as ``Authorization: Bearer <key>``).
    timeout
        Seconds to wait for an answer.
    """

    def __init__(self, url: str, key: str, *, timeout: float = 60.0) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx ships with the service extra
            from ethica._exceptions import MissingExtraError

            raise MissingExtraError(
                "ethica.service.Client needs httpx; install it with pip install 'ethica[service]'."
            ) from None
        if not url.startswith(("http://", "https://")):
            raise InvalidParameterError(
                f"url must start with http:// or https://, got {url!r}; e.g. http://127.0.0.1:8000."
            )
        if not key:
            raise InvalidParameterError("key is empty; pass the API key the custodian gave you.")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {key}"}
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as error:
            raise DataSourceError(
                f"cannot reach the service at {self.url} ({error}); check the URL and that "
                "ethica serve is running."
            ) from None
        if response.status_code < 400:
            return response.json()
        raise _error(response.status_code, response)

    def me(self) -> dict[str, Any]:
        """Who the key belongs to: ``{"name", "role"}``."""
        return dict(self._call("GET", "/api/v1/me"))

    def datasets(self) -> list[dict[str, Any]]:
        """The datasets the caller may query, their public metadata and budgets left."""
        return list(self._call("GET", "/api/v1/datasets"))

    def plan(self, sql: str, budget: Any) -> dict[str, Any]:
        """The interval half-widths ``sql`` would get at ``budget`` (free: no charge)."""
        return dict(self._call("POST", "/api/v1/plan", {"sql": sql, "budget": _budget(budget)}))

    def query(self, sql: str, budget: Any, request_id: str | None = None) -> dict[str, Any]:
        """Release ``sql`` at ``budget`` (charged). ``request_id`` makes a retry safe: the
        same id with the same query and budget returns the stored release, charged once."""
        body: dict[str, Any] = {"sql": sql, "budget": _budget(budget)}
        if request_id is not None:
            body["request_id"] = request_id
        return dict(self._call("POST", "/api/v1/query", body))

    def history(self) -> list[dict[str, Any]]:
        """The caller's own releases (a custodian's key: everyone's)."""
        return list(self._call("GET", "/api/v1/history"))


def _error(status: int, response: Any) -> EthicaError:
    from ethica.privacy.sql import SqlRefusedError
    from ethica.service._core import AccessDeniedError

    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = str(body.get("message") or response.text[:200] or f"HTTP {status}")
    kind = body.get("error")
    if status == 429:
        retry = int(response.headers.get("retry-after", body.get("retry_after", 1)))
        return RateLimitedError(message, retry_after=retry)
    if status == 400 and kind == "sql_refused":
        refused = SqlRefusedError(str(body.get("node", "")), message)
        refused.args = (message,)  # the service's message as it was sent
        return refused
    if status == 403 and kind == "budget_exceeded":
        return BudgetExceededError(message, requested=None, remaining=body.get("remaining"))
    if status in (401, 403):
        return AccessDeniedError(message)
    if status == 409:
        return LedgerError(message)
    if status >= 500:
        return ReleaseFailedError(message)
    return InvalidParameterError(message)
