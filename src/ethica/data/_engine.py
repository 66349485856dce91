"""The default engine (one embedded in-memory DuckDB) and running expressions on any backend."""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.common.exceptions import TranslationError

from ethica._exceptions import DataSourceError
from ethica.data._csv_errors import csv_error

if TYPE_CHECKING:
    from ethica.data._sources import Source

__all__ = [
    "compile_once",
    "compiled_scope",
    "default_connection",
    "expression_key",
    "first_line",
    "is_spark",
    "quiet_engine",
    "run",
    "scoped_memo",
    "to_arrow",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def quiet_engine(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Silence the engine libraries' own deprecation notice inside ``function``.

    Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; that notice concerns the
    libraries, not the user's data. ethica's own warnings pass through untouched.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".*fetch_arrow_table", category=DeprecationWarning
            )
            return function(*args, **kwargs)

    return wrapper


@functools.cache
def default_connection() -> Any:
    """The process-wide embedded in-memory DuckDB connection ethica uses by default."""
    return ibis.duckdb.connect()


def is_spark(backend: Any) -> bool:
    """Whether ``backend`` is Ibis's PySpark backend."""
    return getattr(backend, "name", None) == "pyspark"


@quiet_engine
def to_arrow(expr: ir.Table, backend: Any) -> pa.Table:
    """Run ``expr`` on ``backend`` and return the (small) result as an Arrow table.

    On PySpark the compiled SQL runs through ``DataFrame.toArrow`` so the result never
    passes through PySpark's pandas conversion (noisy and slower under pandas 3).
    """
    if is_spark(backend):
        session = backend._session  # the SparkSession the Ibis backend wraps
        return session.sql(str(backend.compile(expr))).toArrow()
    with _engine_lock(backend):
        if getattr(backend, "name", None) != "duckdb":
            return backend.to_pyarrow(expr)
        return _duckdb_arrow(expr, backend)


_COMPILED_PER_CONNECTION = 64
_SCOPE: ContextVar[str | None] = ContextVar("ethica_compiled_scope", default=None)


@contextlib.contextmanager
def compiled_scope(principal: str) -> Iterator[None]:
    """Inside, compiled SQL is kept and found for ``principal`` only.

    The DP query service runs each analyst's release in that analyst's scope: a query shape
    (filter literals included) another analyst ran before is compiled anew, so no one's
    queries make another's faster (a timing channel between analysts).
    """
    token = _SCOPE.set(principal)
    try:
        yield
    finally:
        _SCOPE.reset(token)


_MEMO_SIZE = 256
_MEMO: OrderedDict[tuple[str, Hashable], Any] = OrderedDict()
_MEMO_GUARD = threading.Lock()


def scoped_memo(key: Hashable, compute: Callable[[], _R]) -> _R:
    """``compute()``, kept for ``key`` within the current :func:`compiled_scope` only.

    For values that depend only on a query's public shape and cost Python time to derive
    (e.g. a source's identity, which compiles the filtered table to SQL). Inside a scope the
    last ``_MEMO_SIZE`` values are kept per (principal, key), so, as with compiled SQL, no
    principal's queries make another's faster; outside any scope nothing is kept.
    """
    scope = _SCOPE.get()
    if scope is None:
        return compute()
    full = (scope, key)
    with _MEMO_GUARD:
        if full in _MEMO:
            _MEMO.move_to_end(full)
            return cast("_R", _MEMO[full])
    value = compute()
    with _MEMO_GUARD:
        _MEMO[full] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def expression_key(value: object) -> Hashable | None:
    """A hashable key equal for structurally equal Ibis tables (their node); ``None`` for
    anything else."""
    return value.op() if isinstance(value, ir.Table) else None


def compile_once(backend: Any) -> None:
    """Let ``to_arrow`` keep the SQL it compiles for ``backend``, a long-lived DuckDB backend.

    For a connection that runs the same expressions again and again (the DP query service's
    connection per worker thread). The compiled SQL is kept with its expression, which refers
    to the backend: the connection then lives until it is closed explicitly (or the cycle is
    collected), so other connections are not marked.
    """
    if getattr(backend, "name", None) == "duckdb":
        backend._ethica_compiled = OrderedDict()


def _duckdb_arrow(expr: ir.Table, backend: Any) -> pa.Table:
    """``backend.to_pyarrow(expr)`` on DuckDB; the SQL compiled once per expression on a
    backend marked by :func:`compile_once`.

    Ibis's compilation costs a release on a million rows about a sixth of its CPU, and the
    DP query service runs the same expression (same query shape, same table) again and
    again. The SQL text is kept per connection, keyed by the expression's node (structural
    equality and hash, so an equal expression built anew hits) and the principal of the
    :func:`compiled_scope`, for the last ``_COMPILED_PER_CONNECTION`` expressions. Every run
    still executes in the engine: the SQL's ``RANDOM()`` draws afresh, and in-memory tables
    are registered on each run as Ibis does. Called under the connection's engine lock. An
    unmarked backend, or an Ibis without these internals, gets Ibis's own ``to_pyarrow``.
    """
    cache: OrderedDict[tuple[str | None, Any], str] | None = getattr(
        backend, "_ethica_compiled", None
    )
    if cache is None:
        return backend.to_pyarrow(expr)
    try:
        from ibis.backends.duckdb.converter import DuckDBPyArrowData
    except ImportError:  # another Ibis layout: its own path, compiled every time
        return backend.to_pyarrow(expr)
    if not hasattr(backend, "_run_pre_execute_hooks") or not hasattr(backend, "con"):
        return backend.to_pyarrow(expr)
    key = (_SCOPE.get(), expr.op())
    sql = cache.get(key)
    if sql is None:
        sql = str(backend.compile(expr))
        cache[key] = sql
        if len(cache) > _COMPILED_PER_CONNECTION:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    backend._run_pre_execute_hooks(expr)  # in-memory tables and UDFs, as to_pyarrow does
    relation = backend.con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow  # DuckDB 2 / 1
    table = fetch()
    return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)


def first_line(exc: BaseException) -> str:
    """The first line of an engine error's message (its type name if the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run(
    src: Source,
    expr: ir.Table,
    *,
    action: str,
    fallback: ir.Table | None = None,
    diagnose_csv: bool = False,
) -> pa.Table:
    """Run ``expr`` on ``src``'s engine; an engine failure names the source and the action.

    Parameters
    ----------
    src, expr
        The source and an expression over its table.
    action
        What the query does, for the message: "the engine could not {action} {source}".
    fallback
        Run instead when the engine cannot translate ``expr`` (e.g. it has no ``hash()``).
    diagnose_csv
        Explain the failure of a CSV source by its file (:func:`csv_error`: the bad line,
        bytes or encoding) rather than by the engine's first line.
    """
    try:
        return to_arrow(expr, src.backend)
    except Exception as exc:
        if fallback is not None and isinstance(exc, TranslationError):
            return run(src, fallback, action=action, diagnose_csv=diagnose_csv)
        if diagnose_csv and src.csv_path is not None:
            raise csv_error(src.csv_path, exc) from exc
        raise DataSourceError(
            f"the engine could not {action} {src.description!r}: {first_line(exc)}"
        ) from exc


_GUARD = threading.Lock()


def _engine_lock(backend: Any) -> threading.RLock:
    """One lock per connection: a DuckDB connection (and Ibis's registration of in-memory
    tables on it) is not safe to use from several threads at once, and threads share the
    default connection. Queries on one connection run one at a time; other connections and
    Spark are not held up."""
    with _GUARD:
        lock: threading.RLock | None = getattr(backend, "_ethica_lock", None)
        if lock is None:
            lock = threading.RLock()
            backend._ethica_lock = lock
    return lock
