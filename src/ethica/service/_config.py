"""The custodian's service configuration (``service.yaml``): datasets, analysts, files.

Example::

    ledger: ledger.sqlite3          # the privacy-budget ledger (relative to this file)
    store: service.sqlite3          # API keys (hashed) and the audit log
    confidence: 0.95
    custodians: [carol]
    datasets:
      visits:
        source: visits.csv          # any source ethica reads (CSV as text, Parquet, .duckdb)
        privacy_unit: rows          # or {kind: user, column: person, max_groups_per_user: 1,
                                    #     max_rows_per_group: 1}
        total: {epsilon: 3}         # PureDP; {rho: r} ZCDP; {epsilon: e, delta: d} ApproxDP
        columns:
          region: {type: text, keys: [north, south, east, west]}
          age: {type: number, lower: 0, upper: 120}
          income: {type: number, lower: 0, upper: 200000}
    analysts:
      alice: {visits: {epsilon: 1}}  # alice may spend at most epsilon 1 of visits' 3
    rate_limits:                    # optional: requests per minute per principal (all keys)
      default: 600                  # everyone not named below; omit for no limit
      alice: 60
    engine_threads: 2               # optional: DuckDB threads per query (default: one a core)
    concurrent_releases: 4          # optional: releases run at once; further requests queue
    release_seconds: 5              # optional: answer every query this long after it arrived
                                    # (closes the timing channel: ethica.service._timing)

Everything in it is public metadata: bounds and key sets are declared, never read from data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import yaml

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel
from ethica.privacy.sql import ColumnSpec, TableSchema

__all__ = ["DatasetConfig", "ServiceConfig", "load_config", "parse_budget"]


@dataclass(frozen=True)
class DatasetConfig:
    """One registered dataset."""

    name: str
    source: str
    privacy_unit: PrivacyUnit
    total: Budget
    schema: TableSchema
    table: str | None = None


@dataclass(frozen=True)
class ServiceConfig:
    """The whole service configuration (see the module docstring)."""

    datasets: Mapping[str, DatasetConfig]
    analysts: Mapping[str, Mapping[str, Budget]]
    custodians: tuple[str, ...]
    ledger: Path
    store: Path
    confidence: float = 0.95
    path: Path | None = field(default=None, compare=False)
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    engine_threads: int | None = None
    release_seconds: float | None = None
    concurrent_releases: int = 4

    def rate_limit(self, name: str) -> float | None:
        """Requests per minute allowed to ``name`` (``None``: no limit)."""
        return self.rate_limits.get(name, self.rate_limits.get("default"))

    def role(self, name: str) -> str | None:
        """``"custodian"``, ``"analyst"`` or ``None`` for an unknown name."""
        if name in self.custodians:
            return "custodian"
        return "analyst" if name in self.analysts else None


_BUDGET_RANGE = (Fraction(1, 10**30), Fraction(10**6))


def _budget_number(value: object, where: str) -> Fraction:
    """A budget parameter from JSON or YAML, exact, refused before any arithmetic when it is
    not a number of at most 64 characters in ``[1e-30, 1e6]`` (or 0): a text such as
    ``1e999999`` would otherwise cost seconds to expand, and ``1e-400`` overflow a float."""
    text = str(value)
    try:
        if isinstance(value, bool) or len(text) > 64:
            raise ValueError(text)
        # "p/q" has at most 64 digits; a decimal may carry an exponent: check it as a float
        number = Fraction(text) if "/" in text or math.isfinite(float(text)) else None
    except (ValueError, ZeroDivisionError):
        number = None
    low, high = _BUDGET_RANGE
    if number is None or not (number == 0 or low <= abs(number) <= high):
        raise InvalidParameterError(
            f"{where} must be a number between 1e-30 and 1e6 (at most 64 characters), got "
            f"{text[:64]!r}; e.g. 0.5."
        )
    return number


def parse_budget(value: object, where: str) -> Budget:
    """``{epsilon}`` -> PureDP, ``{rho}`` -> ZCDP, ``{epsilon, delta}`` -> ApproxDP (exact)."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidParameterError(
            f"{where}: a budget is a mapping like {{epsilon: 1}}, {{rho: 0.5}} or "
            f"{{epsilon: 1, delta: 1e-6}}; got {value!r}."
        )
    keys = set(value)
    numbers = {k: _budget_number(value[k], f"{where}: {k}") for k in keys}
    if keys == {"epsilon"}:
        return PureDP(numbers["epsilon"])
    if keys == {"rho"}:
        return ZCDP(numbers["rho"])
    if keys == {"epsilon", "delta"}:
        return ApproxDP(numbers["epsilon"], numbers["delta"])
    raise InvalidParameterError(
        f"{where}: a budget has keys epsilon, rho, or epsilon and delta; got {sorted(keys)}."
    )


def _unit(value: object, where: str) -> PrivacyUnit:
    if value in (None, "rows"):
        return Rows()
    if isinstance(value, Mapping) and value.get("kind") == "user":
        options = {k: v for k, v in value.items() if k != "kind"}
        try:
            return UserLevel(**options)
        except TypeError as error:
            raise InvalidParameterError(f"{where}: {error}") from None
    raise InvalidParameterError(
        f"{where}: privacy_unit is 'rows' or {{kind: user, column: ..., max_groups_per_user: "
        f"..., max_rows_per_group: ...}}; got {value!r}."
    )


def _columns(name: str, value: object) -> TableSchema:
    if not isinstance(value, Mapping) or not value:
        raise InvalidParameterError(
            f"dataset {name!r}: columns must map each queryable column to its public metadata "
            "({type: number, lower: 0, upper: 100} or {type: text, keys: [...]})."
        )
    specs = []
    for column, meta in value.items():
        if not isinstance(meta, Mapping):
            raise InvalidParameterError(
                f"dataset {name!r}, column {column!r}: metadata must be a mapping, got {meta!r}."
            )
        unknown = set(meta) - {"type", "lower", "upper", "keys", "private_keys"}
        if unknown:
            raise InvalidParameterError(
                f"dataset {name!r}, column {column!r}: unknown metadata {sorted(unknown)}."
            )
        keys = meta.get("keys")
        specs.append(
            ColumnSpec(
                str(column),
                str(meta.get("type", "number")),
                meta.get("lower"),
                meta.get("upper"),
                None if keys is None else tuple(keys),
                bool(meta.get("private_keys", False)),
            )
        )
    return TableSchema.from_specs(name, specs)


def load_config(path: str | Path) -> ServiceConfig:
    """Read and check ``service.yaml``; relative paths are relative to its directory."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidParameterError(
            f"cannot read the service config {str(path)!r} ({error.strerror})."
        ) from None
    except yaml.YAMLError as error:
        raise InvalidParameterError(f"{str(path)!r} is not valid YAML: {error}") from None
    return config_from_dict(data, base=path.parent, path=path)


def config_from_dict(
    data: object, *, base: Path = Path("."), path: Path | None = None
) -> ServiceConfig:
    """Build the configuration from its parsed YAML mapping."""
    if not isinstance(data, Mapping):
        raise InvalidParameterError("the service config must be a mapping (see docs/service.md).")
    unknown = set(data) - {
        "ledger",
        "store",
        "confidence",
        "custodians",
        "datasets",
        "analysts",
        "rate_limits",
        "engine_threads",
        "release_seconds",
        "concurrent_releases",
    }
    if unknown:
        raise InvalidParameterError(f"unknown service config keys {sorted(unknown)}.")
    datasets: dict[str, DatasetConfig] = {}
    for name, spec in (data.get("datasets") or {}).items():
        if not isinstance(spec, Mapping) or "source" not in spec or "total" not in spec:
            raise InvalidParameterError(
                f"dataset {name!r} needs source, total and columns (see docs/service.md)."
            )
        source = str(spec["source"])
        if "://" not in source and not Path(source).is_absolute():
            source = str(base / source)
        datasets[str(name)] = DatasetConfig(
            name=str(name),
            source=source,
            privacy_unit=_unit(spec.get("privacy_unit"), f"dataset {name!r}"),
            total=parse_budget(spec["total"], f"dataset {name!r} total"),
            schema=_columns(str(name), spec.get("columns")),
            table=spec.get("table"),
        )
    if not datasets:
        raise InvalidParameterError("the service config registers no datasets.")
    analysts: dict[str, dict[str, Budget]] = {}
    for analyst, grants in (data.get("analysts") or {}).items():
        caps: dict[str, Budget] = {}
        for dataset, budget in (grants or {}).items():
            if dataset not in datasets:
                raise InvalidParameterError(
                    f"analyst {analyst!r} is granted unknown dataset {dataset!r}; "
                    f"registered: {sorted(datasets)}."
                )
            cap = parse_budget(budget, f"analyst {analyst!r} on {dataset!r}")
            total = datasets[dataset].total
            if type(cap) is not type(total) or not cap <= total:
                raise InvalidParameterError(
                    f"analyst {analyst!r}'s budget {cap} on {dataset!r} must be of the "
                    f"dataset's kind and within its total {total}."
                )
            caps[str(dataset)] = cap
        analysts[str(analyst)] = caps
    custodians = tuple(str(c) for c in (data.get("custodians") or ()))
    clash = set(custodians) & set(analysts)
    if clash:
        raise InvalidParameterError(f"{sorted(clash)} are both custodians and analysts.")
    confidence = float(data.get("confidence", 0.95))
    rate_limits = _rate_limits(data.get("rate_limits"), set(analysts) | set(custodians))
    threads = _positive(
        data.get("engine_threads"),
        "engine_threads must be a positive integer (DuckDB threads per query)",
        "omit it for one thread per core",
    )
    slots = _positive(
        data.get("concurrent_releases", 4),
        "concurrent_releases must be a positive integer (releases run at once; the others queue)",
        "omit it for 4",
    )
    floor = _release_seconds(data.get("release_seconds"))
    return ServiceConfig(
        datasets=datasets,
        analysts=analysts,
        custodians=custodians,
        ledger=base / str(data.get("ledger", "ledger.sqlite3")),
        store=base / str(data.get("store", "service.sqlite3")),
        confidence=confidence,
        path=path,
        rate_limits=rate_limits,
        engine_threads=threads,
        release_seconds=floor,
        concurrent_releases=slots or 4,
    )


def _positive(value: object, what: str, fix: str) -> int | None:
    """``value`` if ``None`` or a positive integer, else an error saying ``what`` and ``fix``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidParameterError(f"{what}, got {value!r}; {fix}.")
    return value


def _release_seconds(value: object) -> float | None:
    """The timing floor of a release (``None``: answered as soon as ready)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise InvalidParameterError(
            f"release_seconds must be a number of seconds in (0, 600], got {value!r}; choose it "
            "above the slowest release (e.g. 5), or omit it to answer as soon as ready."
        )
    return float(value)


def _rate_limits(value: object, principals: set[str]) -> dict[str, float]:
    """``{default: n, name: n}``: requests per minute, positive numbers, known names."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            "rate_limits maps 'default' or a principal's name to requests per minute, e.g. "
            f"{{default: 600, alice: 60}}; got {value!r}."
        )
    out: dict[str, float] = {}
    for name, limit in value.items():
        if name != "default" and name not in principals:
            raise InvalidParameterError(
                f"rate_limits names {name!r}, who is neither an analyst nor a custodian; "
                f"known: {sorted(principals)} (or 'default')."
            )
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
            raise InvalidParameterError(
                f"rate_limits[{name!r}] must be a positive number of requests per minute, "
                f"got {limit!r}."
            )
        out[str(name)] = float(limit)
    return out
