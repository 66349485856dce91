"""The FastAPI app: JSON endpoints under ``/api/v1`` and two self-contained pages.

Authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Every failure is
the same 401 with the same message, whether the key is missing, unknown or revoked. Errors:
400 for a refused query (``node`` names what is not allowed), 403 for what the caller may not
do or spend (an exhausted budget shows what remains), 409 for a request id reused for
another request, 429 with ``Retry-After`` for a principal over its rate limit
(:mod:`ethica.service._ratelimit`), 500 with a generic message for a release that failed
after its charge.
Every request is written to the audit log (principal, method, path, status). With
``release_seconds`` set, every query is answered at a fixed time (:mod:`ethica.service._timing`).
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from ethica._exceptions import (
    BudgetExceededError,
    EthicaError,
    InvalidParameterError,
    LedgerError,
    ReleaseFailedError,
)
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.sql import SqlRefusedError
from ethica.service._core import AccessDeniedError, Caller, ServiceCore
from ethica.service._pages import dashboard_page, query_page
from ethica.service._ratelimit import RateLimiter
from ethica.service._timing import ReleaseTimingMiddleware

__all__ = ["create_app"]

_UNAUTHORIZED = "missing or invalid API key; send 'Authorization: Bearer <key>'."


class _Unauthorized(Exception):
    pass


class _RateLimited(Exception):
    def __init__(self, name: str, limit: float, wait: float) -> None:
        super().__init__(name)
        self.name, self.limit, self.wait = name, limit, wait


class QueryBody(BaseModel):
    """A plan or query request."""

    sql: str = Field(max_length=20_000)
    budget: dict[str, float | str]
    request_id: str | None = Field(default=None, max_length=200)


class KeyBody(BaseModel):
    """A key-creation request."""

    principal: str = Field(min_length=1, max_length=200)


class _Audit(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        status = 500  # an exception no handler answered is logged as what the client sees
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            core: ServiceCore = request.app.state.core
            caller = getattr(request.state, "caller", None)
            # a worker thread writes (and fsyncs) the row while the event loop serves the
            # others; shielded, so a client that hangs up is still logged
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(
                    core.store.audit,
                    None if caller is None else caller.name,
                    request.method,
                    request.url.path,
                    status,
                    getattr(request.state, "detail", None),
                )


def _key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def _caller(request: Request) -> Caller:
    core: ServiceCore = request.app.state.core
    caller = core.caller(_key(request))
    if caller is None:
        raise _Unauthorized
    request.state.caller = caller
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.acquire(caller.name)
    if wait is not None:
        limit = core.config.rate_limit(caller.name)
        assert limit is not None
        raise _RateLimited(caller.name, limit, wait)
    return caller


def _custodian(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    if not caller.custodian:
        raise AccessDeniedError("this endpoint is for custodians.")
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]
CustodianDep = Annotated[Caller, Depends(_custodian)]


def create_app(core: ServiceCore) -> FastAPI:
    """The service's ASGI app over ``core``."""
    app = FastAPI(title="ethica DP query service", version="1", docs_url=None, redoc_url=None)
    app.state.core = core
    app.state.limiter = RateLimiter(core.config.rate_limit)
    if core.config.release_seconds is not None:  # inside the audit log: logged when it leaves
        app.add_middleware(ReleaseTimingMiddleware, floor=core.config.release_seconds)
    app.add_middleware(_Audit)

    @app.exception_handler(_RateLimited)
    def rate_limited(request: Request, exc: _RateLimited) -> JSONResponse:
        seconds = RateLimiter.retry_after(exc.wait)
        request.state.detail = "rate_limited"
        return JSONResponse(
            {
                "error": "rate_limited",
                "message": f"{exc.name!r} may send {exc.limit:g} requests per minute; "
                f"retry after {seconds} s.",
                "retry_after": seconds,
            },
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )

    @app.exception_handler(_Unauthorized)
    def unauthorized(request: Request, exc: _Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"error": "unauthorized", "message": _UNAUTHORIZED},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(EthicaError)
    def ethica_error(request: Request, exc: EthicaError) -> JSONResponse:
        body: dict[str, Any]
        if isinstance(exc, SqlRefusedError):
            status, body = 400, {"error": "sql_refused", "node": exc.node}
        elif isinstance(exc, BudgetExceededError):
            status, body = 403, {"error": "budget_exceeded"}
            remaining = getattr(exc, "remaining", None)
            if isinstance(remaining, Budget):
                body["remaining"] = {
                    k: v for k, v in remaining.to_dict().items() if k != "schema_version"
                }
        elif isinstance(exc, AccessDeniedError):
            status, body = 403, {"error": "forbidden"}
        elif isinstance(exc, ReleaseFailedError):
            status, body = 500, {"error": "release_failed"}
        elif isinstance(exc, LedgerError):
            status, body = 409, {"error": "ledger"}
        elif isinstance(exc, InvalidParameterError | ValueError):
            status, body = 400, {"error": "invalid"}
        else:
            status, body = 400, {"error": type(exc).__name__}
        body["message"] = str(exc)
        request.state.detail = body["error"]
        return JSONResponse(body, status_code=status)

    # ----------------------------------------------------------------- pages
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page_query() -> str:
        return query_page()

    @app.get("/custodian", response_class=HTMLResponse, include_in_schema=False)
    def page_dashboard() -> str:
        return dashboard_page()

    # ------------------------------------------------------------------- api
    @app.get("/api/v1/me")
    def me(caller: CallerDep) -> dict[str, Any]:
        return {"name": caller.name, "role": caller.role}

    @app.get("/api/v1/datasets")
    def datasets(caller: CallerDep) -> list[dict[str, Any]]:
        return core.datasets(caller)

    @app.post("/api/v1/plan")
    def plan(body: QueryBody, caller: CallerDep) -> dict[str, Any]:
        return core.plan(caller, body.sql, body.budget)

    @app.post("/api/v1/query")
    def query(body: QueryBody, caller: CallerDep, request: Request) -> dict[str, Any]:
        if core.config.release_seconds is not None:  # held until the floor: hide it till then
            token = core.held.begin(caller.name)
            request.state.on_leave = functools.partial(core.held.end, caller.name, token)
        return core.query(caller, body.sql, body.budget, body.request_id)

    @app.get("/api/v1/history")
    def history(caller: CallerDep, analyst: str | None = None) -> list[dict[str, Any]]:
        return core.history(caller, analyst)

    @app.get("/api/v1/custodian/overview")
    def overview(caller: CustodianDep) -> dict[str, Any]:
        return core.overview()

    @app.get("/api/v1/custodian/audit")
    def audit(caller: CustodianDep, limit: int = 200) -> list[dict[str, Any]]:
        return core.store.audit_log(min(max(limit, 1), 5000))

    @app.post("/api/v1/custodian/keys")
    def create_key(body: KeyBody, caller: CustodianDep) -> dict[str, Any]:
        if core.config.role(body.principal) is None:
            raise InvalidParameterError(
                f"{body.principal!r} is neither an analyst nor a custodian in the config."
            )
        secret, record = core.store.create_key(body.principal)
        return {"key": secret, **record.to_dict()}

    @app.delete("/api/v1/custodian/keys/{key_id}")
    def revoke_key(key_id: int, caller: CustodianDep) -> dict[str, Any]:
        return core.store.revoke(key_id).to_dict()

    return app
