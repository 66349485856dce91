"""Typed privacy budgets with exact rational arithmetic.

Three kinds, each a frozen dataclass holding exact :class:`fractions.Fraction` values:

* ``PureDP(epsilon)``: ``P(M(x) in S) <= exp(epsilon) P(M(x') in S)`` for all neighbours
  ``x, x'`` and events ``S`` (Dwork, McSherry, Nissim & Smith 2006).
* ``ZCDP(rho)``: ``D_alpha(M(x) || M(x')) <= rho alpha`` for every Rényi order
  ``alpha > 1`` (Bun & Steinke 2016, zero-concentrated DP).
* ``ApproxDP(epsilon, delta)``: ``P(M(x) in S) <= exp(epsilon) P(M(x') in S) + delta``.

``a + b`` is basic sequential composition within one kind (epsilons, rhos and deltas add:
Dwork et al. 2006; Bun & Steinke 2016, Lemma 2.3); adding different kinds raises
``TypeError``: convert explicitly with :mod:`._accounting`. ``a - b`` is the budget left
after spending ``b`` and ``a <= b`` compares componentwise. Proof obligation: every
operation is exact (no floating point) and stays inside its kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Self

from ethica._exceptions import InvalidParameterError
from ethica.privacy._params import to_delta, to_rational

__all__ = ["ZCDP", "ApproxDP", "Budget", "PureDP", "budget_from_dict", "zero_like"]

SCHEMA_VERSION = 1


class _BudgetMixin:
    """Arithmetic shared by the budget kinds (values in ``_parts`` order)."""

    _fields: tuple[str, ...] = ()

    def _parts(self) -> tuple[Fraction, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def _same_kind(self, other: object, op: str) -> tuple[Fraction, ...]:
        if type(other) is not type(self):
            raise TypeError(
                f"cannot {op} {type(self).__name__} and {type(other).__name__}: budgets of "
                "different kinds do not compose directly; convert one explicitly first "
                "(e.g. pure_to_zcdp, zcdp_to_approx)."
            )
        parts: tuple[Fraction, ...] = other._parts()
        return parts

    def _rebuild(self, parts: tuple[Fraction, ...]) -> Self:
        rebuilt: Self = type(self)(*parts)
        return rebuilt

    def __add__(self, other: object) -> Self:
        theirs = self._same_kind(other, "add")
        return self._rebuild(tuple(a + b for a, b in zip(self._parts(), theirs, strict=True)))

    def __sub__(self, other: object) -> Self:
        """What is left after spending ``other``: zero is a valid (empty) budget, a negative
        part is refused, so every result is a budget that could exist."""
        theirs = self._same_kind(other, "subtract")
        parts = tuple(a - b for a, b in zip(self._parts(), theirs, strict=True))
        if any(part < 0 for part in parts):
            raise InvalidParameterError(
                f"{self} - {other} would leave a negative budget; a budget can only be spent "
                "down to zero. Compare first (spent <= total)."
            )
        left: Self = _remaining(self, parts)
        return left

    def __le__(self, other: object) -> bool:
        theirs = self._same_kind(other, "compare")
        return all(a <= b for a, b in zip(self._parts(), theirs, strict=True))

    def __lt__(self, other: object) -> bool:
        return self <= other and self != other

    def __ge__(self, other: object) -> bool:
        theirs = self._same_kind(other, "compare")
        return all(a >= b for a, b in zip(self._parts(), theirs, strict=True))

    def __gt__(self, other: object) -> bool:
        return self >= other and self != other

    def fraction(self, part: Fraction) -> Self:
        """``part`` of this budget (every parameter scaled by ``0 < part <= 1``), same kind."""
        if not 0 < part <= 1:
            raise InvalidParameterError(f"a share of a budget lies in (0, 1], got {part}.")
        return self._rebuild(tuple(value * part for value in self._parts()))

    def minimum(self, other: object) -> Self:
        """The componentwise smaller of two budgets of one kind (zero parts allowed): what
        two caps together leave."""
        theirs = self._same_kind(other, "compare")
        least: Self = _remaining(
            self, tuple(min(a, b) for a, b in zip(self._parts(), theirs, strict=True))
        )
        return least

    def scale(self, factor: int) -> Self:
        """``factor``-fold sequential composition of this budget."""
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise InvalidParameterError(f"factor must be an integer >= 1, got {factor!r}.")
        return self._rebuild(tuple(part * factor for part in self._parts()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the kind, each parameter as an exact ``"p/q"`` string and a float."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": type(self).__name__}
        for name, value in zip(self._fields, self._parts(), strict=True):
            out[name] = str(value)
            out[f"{name}_float"] = float(value)
        return out

    def __str__(self) -> str:
        inner = ", ".join(
            f"{n}={_show(v)}" for n, v in zip(self._fields, self._parts(), strict=True)
        )
        return f"{type(self).__name__}({inner})"


def _show(value: Fraction) -> str:
    """A budget parameter as text that is never rounded up: short exact decimals as decimals
    (``0.25``, ``0.000000001``), small fractions as ``p/q`` (``1/3``), anything else truncated
    to eight significant digits with ``…`` (``0.099999999…``; a float ``0.1`` is a hair over
    1/10 and shows as ``0.10000000…``), so a refusal never shows more than is left."""
    if value.denominator == 1:
        return str(value)
    twos, fives, rest = 0, 0, value.denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest == 1:
        with localcontext() as context:
            context.prec = max(twos, fives) + len(str(abs(value.numerator))) + 2
            exact = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
        if len(exact.as_tuple().digits) <= 12:
            return f"{exact:f}" if exact.adjusted() >= -12 else str(exact)
    if value.denominator <= 10**6:
        return f"{value.numerator}/{value.denominator}"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    digits = 7 - (len(str(magnitude.numerator // magnitude.denominator)) - 1)
    if magnitude < 1:  # leading zeros: count them exactly
        digits = 7
        while magnitude * 10 ** (digits - 7) < 1:
            digits += 1
    truncated = math.floor(magnitude * 10**digits)
    return f"{sign}{Decimal(truncated).scaleb(-digits):.8g}…"


def zero_like(budget: Budget) -> Budget:
    """The empty budget of ``budget``'s kind (nothing spent yet)."""
    return _remaining(budget, tuple(Fraction(0) for _ in budget._fields))  # type: ignore[no-any-return]


def _remaining(budget: Any, parts: tuple[Fraction, ...]) -> Any:
    """A difference of budgets may reach zero (nothing left), so bypass the > 0 check."""
    out = object.__new__(type(budget))
    for name, value in zip(budget._fields, parts, strict=True):
        object.__setattr__(out, name, value)
    return out


@dataclass(frozen=True, init=False, eq=True, order=False)
class PureDP(_BudgetMixin):
    """Pure ``epsilon``-differential privacy (Dwork, McSherry, Nissim & Smith 2006)."""

    epsilon: Fraction
    _fields = ("epsilon",)

    def __init__(self, epsilon: object) -> None:
        object.__setattr__(self, "epsilon", to_rational(epsilon, "epsilon"))


@dataclass(frozen=True, init=False, eq=True, order=False)
class ZCDP(_BudgetMixin):
    """``rho``-zero-concentrated differential privacy (Bun & Steinke 2016)."""

    rho: Fraction
    _fields = ("rho",)

    def __init__(self, rho: object) -> None:
        object.__setattr__(self, "rho", to_rational(rho, "rho"))


@dataclass(frozen=True, init=False, eq=True, order=False)
class ApproxDP(_BudgetMixin):
    """Approximate ``(epsilon, delta)``-differential privacy (Dwork et al. 2006)."""

    epsilon: Fraction
    delta: Fraction
    _fields = ("epsilon", "delta")

    def __init__(self, epsilon: object, delta: object) -> None:
        object.__setattr__(self, "epsilon", to_rational(epsilon, "epsilon"))
        object.__setattr__(self, "delta", to_delta(delta))

    def __add__(self, other: object) -> ApproxDP:
        total = super().__add__(other)
        if total.delta >= 1:
            raise InvalidParameterError(
                f"composed delta {float(total.delta):.3g} reaches 1: the guarantee is void; "
                "spend smaller deltas."
            )
        return total


Budget = PureDP | ZCDP | ApproxDP


def budget_from_dict(data: dict[str, Any]) -> Budget:
    """Rebuild a budget from :meth:`to_dict` output (exact ``"p/q"`` strings)."""
    kind = data.get("kind")
    if kind == "PureDP":
        return PureDP(Fraction(data["epsilon"]))
    if kind == "ZCDP":
        return ZCDP(Fraction(data["rho"]))
    if kind == "ApproxDP":
        return ApproxDP(Fraction(data["epsilon"]), Fraction(data["delta"]))
    raise InvalidParameterError(
        f"unknown budget kind {kind!r}; expected 'PureDP', 'ZCDP' or 'ApproxDP'."
    )
