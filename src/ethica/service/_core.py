"""The service's logic without HTTP: who may do what, planning, releasing, history.

:class:`ServiceCore` holds the registered sources (read once into the service's DuckDB, with a
connection per worker thread: :class:`~ethica.service._engines.EnginePool`), the
ledger (one :class:`~ethica.service._budgets.AnalystLedger` per analyst, all on the same
SQLite file) and the key store. Each query is checked for free (SQL allow-list, grant,
budget kind, schema), then released through :class:`~ethica.privacy.release.Session`, which
reserves the budget before the engine reads any row (the privacy contract in DESIGN.md).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ethica._exceptions import EthicaError, InvalidParameterError, LedgerError
from ethica.data._engine import compiled_scope
from ethica.privacy.budget._budgets import Budget, PureDP
from ethica.privacy.budget._ledger import ChargeRecord, Ledger
from ethica.privacy.release._noise import noise_for
from ethica.privacy.release._plan import plan_sensitivity
from ethica.privacy.release._queries import Count, Mean, Sum
from ethica.privacy.release._session import Session
from ethica.privacy.sql import SqlQuery, SqlRefusedError, TableSchema, plan_sql
from ethica.service._budgets import AnalystLedger, principal_name
from ethica.service._config import ServiceConfig, parse_budget
from ethica.service._engines import EnginePool
from ethica.service._held import HeldReleases
from ethica.service._store import Store

__all__ = ["AccessDeniedError", "ServiceCore"]


class AccessDeniedError(EthicaError, PermissionError):
    """The caller may not see or spend this (HTTP 403)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated principal and its role."""

    name: str
    role: str

    @property
    def custodian(self) -> bool:
        """Whether the caller is a custodian."""
        return self.role == "custodian"


def _budget_json(budget: Budget) -> dict[str, Any]:
    return {k: v for k, v in budget.to_dict().items() if k != "schema_version"}


class ServiceCore:
    """The DP query service's state and operations (HTTP-free; see the module docstring)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.store = Store(config.store)
        self._admin = Ledger(config.ledger, principal="service:custodian")
        for dataset in config.datasets.values():
            self._register(dataset.name, dataset.total, dataset.privacy_unit)
        self.ledgers = {
            name: AnalystLedger(config.ledger, analyst=name, caps=caps)
            for name, caps in config.analysts.items()
        }
        self.schemas: dict[str, TableSchema] = {
            name: d.schema for name, d in config.datasets.items()
        }
        # each source read once, into the service's own DuckDB; a connection per thread
        self.engines = EnginePool(config.datasets, threads=config.engine_threads)
        self._releases = threading.BoundedSemaphore(config.concurrent_releases)
        self.held = HeldReleases()  # answers the timing floor still holds (release_seconds)

    def _register(self, name: str, total: Budget, unit: Any) -> None:
        if not self._admin.has_dataset(name):
            self._admin.create_dataset(name, total, privacy_unit=unit)
            return
        status = self._admin.status(name)
        if status.total != total or (status.privacy_unit or {}).get("kind") != unit.to_dict().get(
            "kind"
        ):
            raise InvalidParameterError(
                f"dataset {name!r} is registered in {self._admin.path} with total "
                f"{status.total} and unit {status.privacy_unit}, but the config says {total} "
                f"and {unit.to_dict()}; a budget is never reset or changed. Fix the config, "
                "or register the data under a new name."
            )

    def close(self) -> None:
        """Close the ledgers and the store."""
        for ledger in self.ledgers.values():
            ledger.close()
        self._admin.close()
        self.store.close()
        self.engines.close()

    # ------------------------------------------------------------------- identity
    def caller(self, key: str | None) -> Caller | None:
        """The caller holding ``key`` (``None``: missing, unknown, revoked or not configured)."""
        if not key:
            return None
        name = self.store.principal(key)
        if name is None:
            return None
        role = self.config.role(name)
        return None if role is None else Caller(name, role)

    def _ledger(self, caller: Caller) -> AnalystLedger:
        if caller.custodian:
            raise AccessDeniedError(
                "custodians do not spend budget; create an analyst key to release."
            )
        return self.ledgers[caller.name]

    def _planned(self, caller: Caller, sql: str) -> SqlQuery:
        """``sql`` planned against the datasets the caller may query: a refusal names no
        dataset or column outside the caller's grants. A query that only another grant would
        allow is refused as forbidden (403)."""
        if caller.custodian:
            return plan_sql(sql, self.schemas)
        granted = self.config.analysts.get(caller.name, {})
        try:
            return plan_sql(sql, {n: s for n, s in self.schemas.items() if n in granted})
        except SqlRefusedError as refused:
            try:
                other = plan_sql(sql, self.schemas)
            except SqlRefusedError:
                raise refused from None
            self._granted(caller, other.table)
            raise

    def _granted(self, caller: Caller, dataset: str) -> None:
        if caller.custodian:
            return
        if dataset not in self.config.analysts.get(caller.name, {}):
            raise AccessDeniedError(
                f"analyst {caller.name!r} holds no grant on dataset {dataset!r}; ask the "
                "custodian for one."
            )

    # ------------------------------------------------------------------- datasets
    def datasets(self, caller: Caller) -> list[dict[str, Any]]:
        """The datasets the caller may query, with public metadata and budgets left."""
        out = []
        for name, dataset in self.config.datasets.items():
            if not caller.custodian and name not in self.config.analysts[caller.name]:
                continue
            status = self._admin.status(name)
            item: dict[str, Any] = {
                "name": name,
                "privacy_unit": dataset.privacy_unit.to_dict(),
                "columns": dataset.schema.to_dict()["columns"],
                "total": _budget_json(status.total),
                "remaining": _budget_json(status.remaining),
            }
            if not caller.custodian:
                ledger = self.ledgers[caller.name]
                item["grant"] = _budget_json(ledger.caps[name])
                item["your_remaining"] = _budget_json(ledger.remaining_for_analyst(name))
            out.append(item)
        return out

    # ----------------------------------------------------------------------- plan
    def _checked(self, caller: Caller, sql: str, budget: object) -> tuple[SqlQuery, Budget]:
        query = self._planned(caller, sql)
        total = self.config.datasets[query.table].total
        cost = parse_budget(budget, "budget")
        if type(cost) is not type(total):
            raise InvalidParameterError(
                f"dataset {query.table!r} spends {type(total).__name__} budgets; got "
                f"{type(cost).__name__} ({cost}). Send e.g. "
                + ("{epsilon: 0.5}" if isinstance(total, PureDP) else "{rho: 0.1}")
                + "."
            )
        return query, cost

    def plan(self, caller: Caller, sql: str, budget: object) -> dict[str, Any]:
        """The interval half-widths ``sql`` would get at ``budget``: free, no data read."""
        query, cost = self._checked(caller, sql, budget)
        unit = self.config.datasets[query.table].privacy_unit
        confidence = self.config.confidence
        n = len(query.aggregates)
        rows = []
        for aggregate in query.aggregates:
            part = cost.fraction(Fraction(1, n))
            q = aggregate.query
            row: dict[str, Any] = {
                "name": aggregate.label,
                "statistic": type(q).__name__.lower(),
                "budget": _budget_json(part),
                "half_width": None,
                "note": "",
            }
            if isinstance(q, Sum) and q.private_keys:
                row["note"] = (
                    "with private keys a SUM shares its budget with the count that selects "
                    "its cells; the interval comes with the release"
                )
            elif isinstance(q, Count | Sum):
                row["half_width"] = _half_width(q, unit, part, confidence)
            elif isinstance(q, Mean):
                half = part.fraction(Fraction(1, 2))
                total = Sum(q.column, q.lower, q.upper, by=q.by, keys=q.keys)
                count = Count(by=q.by, keys=q.keys)
                hs = _half_width(total, unit, half, confidence)
                hc = _half_width(count, unit, half, confidence)
                row["sum_half_width"], row["count_half_width"] = hs, hc
                row["note"] = (
                    f"a mean over n rows has a half-width of about ({hs:g} + |mean| × "
                    f"{hc:g}) / n (noisy sum and noisy count, half the budget each)"
                )
            else:
                row["note"] = "the interval depends on the data; it comes with the release"
            if row["half_width"] is not None:
                row["note"] = row["note"] or (
                    f"{100 * confidence:g}% of releases fall within ± this of the bounded value"
                )
                if query.keys is None and query.by:
                    row["note"] += (
                        " (private keys: a cell is released only if its noisy count passes "
                        "the selection threshold, and its interval holds given that it did)"
                    )
            rows.append(row)
        return {
            "dataset": query.table,
            "sql": query.canonical(),
            "budget": _budget_json(cost),
            "confidence": confidence,
            "cells": None if query.keys is None else len(query.keys),
            "aggregates": rows,
            "remaining": self._remaining(caller, query.table),
        }

    def _remaining(self, caller: Caller, dataset: str) -> dict[str, Any]:
        if caller.custodian:
            return _budget_json(self._admin.status(dataset).remaining)
        return _budget_json(self.ledgers[caller.name].remaining_for_analyst(dataset))

    # ---------------------------------------------------------------------- query
    def query(
        self, caller: Caller, sql: str, budget: object, request_id: str | None = None
    ) -> dict[str, Any]:
        """Release ``sql`` at ``budget``, charged to the caller's grant and the dataset."""
        query, cost = self._checked(caller, sql, budget)
        ledger = self._ledger(caller)
        rid = None
        if request_id is not None:
            if not isinstance(request_id, str) or not 0 < len(request_id) <= 200:
                raise InvalidParameterError("request_id must be a string of 1 to 200 characters.")
            # one id per (analyst, id), unambiguous whatever the names hold; another query
            # under the same id is refused by the ledger (its fingerprint differs)
            rid = json.dumps([caller.name, request_id])
            self._refuse_held_replay(caller, query.table, rid)
        with self._releases:  # a few at a time: the rest wait their turn, not for the GIL
            return self._release(caller, query, cost, rid, ledger)

    def _release(
        self,
        caller: Caller,
        query: SqlQuery,
        cost: Budget,
        rid: str | None,
        ledger: AnalystLedger,
    ) -> dict[str, Any]:
        dataset = self.config.datasets[query.table]
        session = Session(
            query.filter(self.engines.table(query.table)),
            privacy_unit=dataset.privacy_unit,
            budget=dataset.total,
            ledger=ledger,
            dataset=query.table,
            confidence=self.config.confidence,
        )
        with compiled_scope(caller.name):  # no analyst's query shapes speed up another's
            release = session.evaluate(query.batch, cost, request_id=rid)
        out = release.to_dict()
        out["source"] = query.table
        out["sql"] = query.canonical()
        out["bounding"] = _bounding(query)
        out["remaining"] = _budget_json(ledger.remaining_for_analyst(query.table))
        return out

    def _refuse_held_replay(self, caller: Caller, dataset: str, rid: str) -> None:
        """A replay of a request whose answer is still held says only "in progress" (its
        status would tell when the release finished). Reads the ledger only while the
        analyst has an answer held."""
        if not self.held.holds(caller.name):
            return
        found = self._admin.find_request(dataset, rid)
        if found is not None and self.held.hides(caller.name, found.created_at):
            raise LedgerError(
                "this request id's release is still in progress; ask again after its answer "
                "has arrived."
            )

    # -------------------------------------------------------------------- history
    def history(self, caller: Caller, analyst: str | None = None) -> list[dict[str, Any]]:
        """Charges of the caller (a custodian: everyone's, or one analyst's)."""
        if analyst is not None and not caller.custodian and analyst != caller.name:
            raise AccessDeniedError(
                f"analyst {caller.name!r} may read only their own history, not {analyst!r}."
            )
        who = caller.name if not caller.custodian else analyst
        names = (
            list(self.config.datasets)
            if caller.custodian
            else list(self.config.analysts[caller.name])
        )
        out = []
        for name in names:
            for record in self._admin.history(name):
                if who is not None and record.principal != principal_name(who):
                    continue
                entry = _record_json(record)
                owner = entry["analyst"]
                if not caller.custodian and self.held.hides(owner, record.created_at):
                    entry.update(status="charged", output=None)  # its answer is still held
                out.append(entry)
        out.sort(key=lambda r: r["created_at"])
        return out

    # ------------------------------------------------------------------- overview
    def overview(self) -> dict[str, Any]:
        """The custodian's dashboard: datasets, analysts' spend, spend per day, keys."""
        datasets = []
        per_day: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
        for name in self.config.datasets:
            status = self._admin.status(name)
            datasets.append(
                {
                    "name": name,
                    "total": _budget_json(status.total),
                    "spent": _budget_json(status.spent),
                    "remaining": _budget_json(status.remaining),
                    "charges": status.charges,
                }
            )
            for record in self._admin.history(name):
                parts = record.cost.to_dict()
                value = Fraction(parts.get("epsilon", parts.get("rho", "0")))
                per_day[(record.created_at[:10], name)] += value
        analysts = []
        for analyst, ledger in self.ledgers.items():
            for name, cap in ledger.caps.items():
                analysts.append(
                    {
                        "analyst": analyst,
                        "dataset": name,
                        "grant": _budget_json(cap),
                        "spent": _budget_json(ledger.spent_by_analyst(name)),
                        "remaining": _budget_json(ledger.remaining_for_analyst(name)),
                    }
                )
        return {
            "datasets": datasets,
            "analysts": analysts,
            "spend_per_day": [
                {"day": day, "dataset": name, "spent": float(value)}
                for (day, name), value in sorted(per_day.items())
            ],
            "keys": [k.to_dict() for k in self.store.list_keys()],
        }


def _half_width(query: Count | Sum, unit: Any, budget: Budget, confidence: float) -> float:
    """The half-width of the noise a release of ``query`` spending ``budget`` draws, from the
    very law the release uses (:func:`~ethica.privacy.release._noise.noise_for`: discrete
    Laplace for PureDP and ApproxDP, whose delta only pays for partition selection; discrete
    Gaussian for ZCDP), in the query's units."""
    planned = plan_sensitivity(query, unit)
    return float(noise_for(planned.sensitivity, budget).half_width(confidence) * planned.grid)


def _bounding(query: SqlQuery) -> list[dict[str, Any]]:
    out = []
    for aggregate in query.aggregates:
        q = aggregate.query
        item: dict[str, Any] = {"name": aggregate.label}
        lower, upper = getattr(q, "lower", None), getattr(q, "upper", None)
        if lower is not None:
            item["clamped_to"] = [lower, upper]
        item["keys"] = (
            "public" if query.keys is not None else ("none" if not query.by else "private")
        )
        item["rows"] = "filtered by WHERE before bounding" if query.where else "all rows"
        out.append(item)
    return out


def _record_json(record: ChargeRecord) -> dict[str, Any]:
    analyst = record.principal.removeprefix("service:")
    return {
        "id": record.id,
        "dataset": record.dataset,
        "analyst": analyst,
        "description": record.description,
        "cost": _budget_json(record.cost),
        "status": record.status,
        "created_at": record.created_at,
        "output": record.output,
    }
