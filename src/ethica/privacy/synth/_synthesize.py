"""``synthesize``: a differentially private synthetic copy of a table, under the privacy contract.

Order (``DESIGN.md``, the privacy contract):

1. **Free checks** — the budget's kind, the method, the declared domain against the schema
   (CSV sources are read as text from the header line alone), the workload, the ledger's
   dataset (registered, same budget kind, privacy unit ``rows``). A refusal costs nothing.
2. **Reserve** — the whole budget is charged in the ledger (:meth:`Ledger.record_charge`)
   before any row is read; a replayed ``request_id`` returns the stored model, drawing nothing.
3. **Read** — marginals as GROUP BYs in the engine, noise, selection, fit. Any failure raises
   :class:`~ethica.ReleaseFailedError` with a generic message; the charge stays (``failed``).
4. **Record** — the noisy model (everything released: measurements' fit, selections, the DP
   quantile edges of ``quantile_bins`` columns) is stored with the charge, so the synthetic
   data can be re-sampled without spending again.

Columns declared with ``quantile_bins`` are binned at DP quantiles (:mod:`._binning`, the
release room's mechanism) bought with ``binning_share`` of the same charge, before any
marginal is measured; the rest of ``rho`` pays for MST or AIM.

The synthetic rows are post-processing of the fitted model and are drawn with a seeded
``numpy`` generator (post-processing needs no cryptographic randomness); the noise of the
measurements comes from ethica's exact discrete Gaussian sampler (OS CSPRNG).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError, LedgerError
from ethica.data._private_sources import private_table, source_identity
from ethica.privacy.budget._accounting import zcdp_to_approx
from ethica.privacy.budget._after_charge import after_charge
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget
from ethica.privacy.budget._ledger import Ledger
from ethica.privacy.synth._binning import DEFAULT_BINNING_SHARE, plan_binning
from ethica.privacy.synth._binning import binning_share as as_share
from ethica.privacy.synth._domain import Domain
from ethica.privacy.synth._graphical import GraphicalModel
from ethica.privacy.synth._marginals import MarginalReader, check_schema, encode
from ethica.privacy.synth._mechanisms import Fit, aim, mst
from ethica.privacy.synth._model import ForestModel

__all__ = ["SCHEMA_VERSION", "SynthResult", "parse_workload", "rho_of", "synthesize"]

SCHEMA_VERSION = 1
METHODS = ("mst", "aim")

_FAILED = (
    "the synthesis failed after its budget was charged; the charge stands (status 'failed') "
    "and nothing was released. The reason is not shown because it could depend on the "
    "private data; check the domain against the data's schema, then synthesize again."
)


def rho_of(budget: Budget) -> Fraction:
    """The zCDP ``rho`` a budget allows: ``ZCDP(rho)`` itself, or for ``ApproxDP(eps, delta)``
    a ``rho`` with ``rho``-zCDP ⇒ ``(eps, delta)``-DP (Canonne, Kamath & Steinke 2020,
    Cor. 13, via :func:`ethica.privacy.zcdp_to_approx`) within a factor ``1 - 2**-12`` of
    the largest such ``rho`` (bisection from the Bun & Steinke 2016, Prop. 1.3 bound
    ``(sqrt(log(1/delta) + eps) - sqrt(log(1/delta)))**2``, which Cor. 13 dominates)."""
    if isinstance(budget, ZCDP):
        return budget.rho
    if isinstance(budget, ApproxDP):
        if budget.delta <= 0:
            raise InvalidParameterError(
                f"synthesis adds Gaussian noise, which needs delta > 0, got {budget}; pass "
                "ApproxDP(epsilon, delta) with e.g. delta=1e-9, or a ZCDP budget."
            )
        rho = _rho_for(Fraction(budget.epsilon), Fraction(budget.delta))
        if rho is None:
            raise InvalidParameterError(f"budget {budget} is too small to synthesize anything.")
        return rho
    raise InvalidParameterError(
        f"synthesis is accounted in zCDP: pass ZCDP(rho) or ApproxDP(epsilon, delta), got "
        f"{budget!r} (pure DP cannot pay for Gaussian noise)."
    )


@functools.lru_cache(maxsize=64)
def _rho_for(epsilon: Fraction, delta: Fraction) -> Fraction | None:
    """Bisection behind :func:`rho_of` (cached: each conversion check costs milliseconds)."""

    def ok(rho: Fraction) -> bool:
        return rho > 0 and zcdp_to_approx(ZCDP(rho), delta).epsilon <= epsilon

    grid = 1 << 40
    log_inv = math.log(1 / float(delta)) if delta < 1 else 0.0
    start = (math.sqrt(log_inv + float(epsilon)) - math.sqrt(log_inv)) ** 2
    lo = Fraction(int(start * grid * (1 - 1e-9)), grid)  # rounded down: still valid
    if not ok(lo):  # guard: the bound always holds, but never trust float rounding
        lo = Fraction(0)
        while True:
            trial = Fraction(max(int(start * grid), 1), grid) / 2
            if trial * grid < 1:
                return None
            if ok(trial):
                lo = trial
                break
            start = float(trial)
    hi = lo * 2
    while ok(hi):
        lo, hi = hi, hi * 2
    while (hi - lo) > lo / 4096:
        mid = Fraction(int((lo + hi) / 2 * grid), grid)
        if mid <= lo:
            break
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def parse_workload(workload: object, domain: Domain) -> list[tuple[str, ...]]:
    """``"all-2way"``, ``"all-3way"``, a JSON file of column lists, or a list of column lists."""
    names = domain.names
    if workload in ("all-2way", "all-3way"):
        k = 2 if workload == "all-2way" else 3
        return list(itertools.combinations(names, min(k, len(names))))
    if isinstance(workload, str | Path):
        path = Path(workload)
        try:
            workload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidParameterError(
                f"workload {str(workload)!r} is neither 'all-2way', 'all-3way' nor a readable "
                f"JSON file of column lists ({exc})."
            ) from exc
    if not isinstance(workload, Sequence) or not workload:
        raise InvalidParameterError(
            f"workload must be 'all-2way', 'all-3way' or a list of column lists, got {workload!r}."
        )
    out = []
    for item in workload:
        if isinstance(item, str) or not isinstance(item, Sequence) or not item:
            raise InvalidParameterError(f"workload entry {item!r} is not a list of columns.")
        clique = tuple(str(c) for c in item)
        for c in clique:
            domain[c]  # InvalidParameterError naming the undeclared column
        if len(set(clique)) != len(clique):
            raise InvalidParameterError(f"workload entry {list(clique)} repeats a column.")
        out.append(clique)
    return out


@dataclass(frozen=True)
class SynthResult:
    """A released synthetic-data model: sample from it as often as you like (post-processing).

    Attributes
    ----------
    method, budget, rho
        The mechanism, the budget charged and the zCDP it allowed.
    domain, workload
        The declared domain and the workload the synthesis targeted.
    selected
        The cliques the mechanism selected (MST's tree edges; AIM's rounds), in order.
    total
        The model's noisy estimate of the number of rows.
    model
        The fitted model: MST's forest (node marginals and edge tables, noisy counts) or
        AIM's junction-tree graphical model (clique marginals).
    binning
        For ``quantile_bins`` columns: the share of ``rho`` spent, the epsilon per quantile
        and the released edges (also in ``domain``); empty when every domain was declared.
    """

    method: str
    budget: Budget
    rho: Fraction
    domain: Domain
    workload: tuple[tuple[str, ...], ...]
    selected: tuple[tuple[str, ...], ...]
    model: ForestModel | GraphicalModel = field(repr=False, compare=False)
    source: str = ""
    binning: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def total(self) -> float:
        """The noisy row count of the model."""
        return self.model.total

    def sample_codes(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` i.i.d. records as level indices (columns in domain order)."""
        return self.model.sample(_count(n), np.random.default_rng(seed))

    def sample(self, n: int | None = None, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` i.i.d. synthetic rows (default: the noisy row count), decoded to values.

        A categorical level becomes its category (the catch-all level: missing); a bin becomes
        a value drawn uniformly inside it (whole numbers for integer columns).
        """
        rng = np.random.default_rng(seed)
        size = round(self.total) if n is None else _count(n)
        codes = self.model.sample(size, rng)
        return decode(codes, self.domain, rng)

    def sample_chunks(
        self, n: int | None = None, *, seed: int | None = None, chunk: int = 500_000
    ) -> Iterator[pd.DataFrame]:
        """``n`` synthetic rows (default: the noisy row count) as frames of at most ``chunk``
        rows each, so that any number of rows is written in bounded memory. Reproducible for
        a given ``seed`` (each chunk has its own generator spawned from it)."""
        size = round(self.total) if n is None else _count(n)
        if chunk < 1:
            raise InvalidParameterError(f"chunk must be at least 1 row, got {chunk!r}.")
        streams = np.random.SeedSequence(seed).spawn(max(1, -(-size // chunk)))
        for index, stream in enumerate(streams):
            rows = min(chunk, size - index * chunk)
            if rows <= 0:
                break
            rng = np.random.default_rng(stream)
            yield decode(self.model.sample(rows, rng), self.domain, rng)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, model included (stable schema, versioned)."""
        m = self.model
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "synthetic_data_model",
            "method": self.method,
            "budget": self.budget.to_dict(),
            "rho": str(self.rho),
            "source": self.source,
            "binning": dict(self.binning),
            "domain": self.domain.to_dict(),
            "workload": [list(c) for c in self.workload],
            "selected": [list(c) for c in self.selected],
            "model": m.to_dict()
            if isinstance(m, GraphicalModel)
            else {
                "kind": "forest",
                "total": m.total,
                "nodes": {k: v.tolist() for k, v in m.nodes.items()},
                "edges": [[a, b, t.tolist()] for (a, b), t in m.edges.items()],
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SynthResult:
        """Rebuild a result from :meth:`to_dict` (e.g. a ledger's stored release)."""
        from ethica.privacy.budget import budget_from_dict

        domain = Domain.from_dict(data["domain"])
        m = data["model"]
        model: ForestModel | GraphicalModel
        if m.get("kind") == "junction_tree":
            model = GraphicalModel.from_dict(m, domain.names, domain.shape)
        else:
            model = ForestModel(
                domain.names,
                domain.shape,
                float(m["total"]),
                {k: np.asarray(v, dtype=np.float64) for k, v in m["nodes"].items()},
                {(a, b): np.asarray(t, dtype=np.float64) for a, b, t in m["edges"]},
            )
        return cls(
            method=str(data["method"]),
            budget=budget_from_dict(data["budget"]),
            rho=Fraction(data["rho"]),
            domain=domain,
            workload=tuple(tuple(c) for c in data["workload"]),
            selected=tuple(tuple(c) for c in data["selected"]),
            model=model,
            source=str(data.get("source", "")),
            binning=dict(data.get("binning", {})),
        )


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise InvalidParameterError(f"the number of rows must be a positive integer, got {n!r}.")
    return int(n)


def decode(codes: np.ndarray, domain: Domain, rng: np.random.Generator) -> pd.DataFrame:
    """Level indices to values (see :meth:`SynthResult.sample`)."""
    out: dict[str, Any] = {}
    for j, col in enumerate(domain.columns):
        idx = codes[:, j]
        other = col.size - 1
        if col.categories is not None:
            labels = np.array([*col.categories, None], dtype=object)
            out[col.name] = pd.Series(labels[idx], dtype="string")
        else:
            e = np.asarray(col.edges, dtype=np.float64)
            safe = np.minimum(idx, other - 1)
            low, high = e[safe], e[safe + 1]
            if col.integer:
                lo_i, hi_i = np.ceil(low), np.ceil(high) - 1
                values = np.floor(lo_i + rng.random(idx.size) * (hi_i - lo_i + 1))
                values = np.minimum(values, np.maximum(hi_i, lo_i))
            else:
                values = low + rng.random(idx.size) * (high - low)
            values = np.where(idx == other, np.nan, values)
            out[col.name] = pd.Series(values, dtype="Int64" if col.integer else "float64")
    return pd.DataFrame(out)


def _as_domain(domain: object) -> Domain:
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, Mapping):
        return Domain.from_dict(domain)
    if isinstance(domain, str | Path):
        return Domain.from_file(domain)
    raise InvalidParameterError(
        "synthesis needs a declared public domain (domain=Domain, a dict or a JSON/YAML file): "
        f"reading the values from the data would leak them; got {domain!r:.80}."
    )


def _share_for(domain: Domain, value: object) -> Fraction:
    """The binning share (free check): the default when a column asks for quantile bins."""
    if not domain.quantile_columns:
        if value is not None:
            raise InvalidParameterError(
                f"binning_share={value!r} spends budget on DP quantile edges, but no column "
                "declares quantile_bins; drop binning_share or declare quantile_bins."
            )
        return Fraction(0)
    return DEFAULT_BINNING_SHARE if value is None else as_share(value)


def _placeholder(domain: Domain) -> Domain:
    """``domain`` with each ``quantile_bins`` column cut at its range alone: the encoding's
    shape, to build it once before the charge."""
    return domain.with_edges({c.name: c.range or () for c in domain.quantile_columns})


def _check_ledger(ledger: Ledger, dataset: str | None, budget: Budget) -> str:
    if not isinstance(dataset, str) or not dataset:
        raise InvalidParameterError(
            "synthesis with a ledger needs the registered dataset's name: pass dataset='name' "
            "(register it once with `ethica budget create name --epsilon E --privacy-unit rows`)."
        )
    status = ledger.status(dataset)
    if type(status.total) is not type(budget):
        raise InvalidParameterError(
            f"dataset {dataset!r} holds a {type(status.total).__name__} budget ({status.total});"
            f" this synthesis spends {type(budget).__name__} ({budget}). Use a "
            f"{type(status.total).__name__} budget."
        )
    unit = status.privacy_unit
    if unit is None:
        raise LedgerError(
            f"dataset {dataset!r} was registered without a privacy unit; record it with "
            f"`ethica budget set-unit {dataset} --privacy-unit rows` before synthesizing."
        )
    if unit.get("kind") != "rows":
        raise InvalidParameterError(
            f"dataset {dataset!r} protects users in column {unit.get('column')!r}; ethica's "
            "synthesizer protects one row per person (privacy unit 'rows') only. Register a "
            "dataset with one row per person."
        )
    return dataset


def synthesize(
    source: object,
    *,
    domain: Domain | Mapping[str, Any] | str | Path,
    budget: Budget,
    method: str = "aim",
    workload: object = "all-2way",
    ledger: Ledger | None = None,
    dataset: str | None = None,
    request_id: str | None = None,
    table: str | None = None,
    binning_share: object = None,
) -> SynthResult:
    """Fit a differentially private synthetic-data model of ``source`` (MST or AIM).

    Parameters
    ----------
    source
        Anything :func:`ethica.data.resolve_table` accepts; a CSV is read as text (its numbers
        parsed in the engine), so no type guessed from the rows decides anything.
    domain
        The public domain of every synthesized column (:class:`Domain`, its dict, or a
        JSON/YAML file): categories or bin edges, never read from the data; or, for a
        numeric column, ``quantile_bins`` in a public ``range``: edges at DP quantiles.
    budget
        ``ZCDP(rho)`` or ``ApproxDP(epsilon, delta)``; the whole budget is charged.
    method
        ``"mst"`` (McKenna et al. 2021) or ``"aim"`` (McKenna et al. 2022; cliques of up to 3
        columns).
    workload
        ``"all-2way"``, ``"all-3way"``, a JSON file or a list of column lists: what AIM targets
        and what the report card scores.
    ledger, dataset, request_id
        Charge ``dataset`` (registered with privacy unit ``rows``) before reading; a replayed
        ``request_id`` returns the stored model.
    table
        Table name inside a ``.duckdb`` file or behind a URL.
    binning_share
        Share of the budget's ``rho`` (in ``(0, 1)``, default ``1/10``) spent on the DP
        quantile edges of the ``quantile_bins`` columns (split equally over them), inside the
        same charge; refused when no column asks for quantile bins.

    Returns
    -------
    SynthResult
        ``.sample(n)`` draws synthetic rows; :func:`ethica.privacy.synth.report_card` scores it.

    Raises
    ------
    InvalidParameterError, SchemaError, LedgerError, BudgetExceededError
        Checked before the charge; nothing was read or spent.
    ReleaseFailedError
        A failure after the charge (generic message; the charge stays).

    Notes
    -----
    Privacy unit: one row per person. Each marginal has L2 sensitivity 1 (every row is in
    exactly one cell, the catch-all levels make the encoding total).
    """
    dom = _as_domain(domain)
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}.")
    rho = rho_of(budget)
    share = _share_for(dom, binning_share)
    cliques = parse_workload(workload, dom)
    if request_id is not None and ledger is None:
        raise InvalidParameterError("request_id needs a ledger; pass ledger=Ledger(...).")
    if ledger is not None:
        dataset = _check_ledger(ledger, dataset, budget)
    t, text = private_table(source, table=table)
    check_schema(t, dom)
    binning = plan_binning(t, dom, rho, share, text=text)
    encode(t, _placeholder(dom), text=text)  # builds (reads nothing): refusals are free
    description = f"synthetic data ({method}) of {len(dom.names)} columns"
    label = str(source) if isinstance(source, str | Path) else type(source).__name__
    record = None
    if ledger is not None:
        assert dataset is not None
        fingerprint = hashlib.sha256(
            json.dumps(
                # what the synthesis reads: the source (its table and schema) as releases do
                [
                    method,
                    dom.to_dict(),
                    [list(c) for c in cliques],
                    str(share),
                    table,
                    source_identity(source, t),
                ],
                sort_keys=True,
            ).encode()
        ).hexdigest()
        record = ledger.record_charge(
            dataset, budget, description, request_id=request_id, fingerprint=fingerprint
        )
        if record.replayed:
            if record.status == "released" and isinstance(record.output, dict):
                return SynthResult.from_dict(record.output)
            raise LedgerError(
                f"request {request_id!r} was charged before (status {record.status!r}) and has "
                "no stored model; it is never run twice. Send a new request id."
            )

    def work() -> SynthResult:
        binned, facts = binning.run(t, dom)
        reader = MarginalReader(encode(t, binned, text=text), binned)
        rest = rho - binning.rho
        fit: Fit = (
            mst(binned, reader.counts, rest)
            if method == "mst"
            else aim(binned, reader.counts, rest, cliques)
        )
        if binning.cost + fit.rho_spent > rho or not math.isfinite(fit.model.total):
            raise RuntimeError("accounting")
        result = SynthResult(
            method=method,
            budget=budget,
            rho=rho,
            domain=binned,
            workload=tuple(cliques),
            selected=tuple(fit.selected),
            model=fit.model,
            source=label,
            binning=facts,
        )
        if record is not None:
            assert ledger is not None
            ledger.complete(record.id, result.to_dict(), store=True)
        return result

    def mark_failed() -> None:
        if record is not None and ledger is not None:
            ledger.fail(record.id, "synthesis failed after the charge")

    return after_charge(work, on_failure=mark_failed, message=_FAILED)
