"""Exact conversion and validation of privacy parameters.

Every privacy parameter (epsilon, rho, delta, scale, sigma, sensitivity) enters ethica
through :func:`to_rational`, which returns the *exact* rational value of an ``int``,
:class:`fractions.Fraction`, ``decimal.Decimal`` or ``float`` (a float is converted to the
dyadic rational it stores, never rounded). Proof obligation: the returned Fraction equals the
argument's mathematical value, and is finite and strictly positive when ``positive=True``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from numbers import Rational
from typing import TypeAlias

from ethica._exceptions import InvalidParameterError

__all__ = ["RationalLike", "to_delta", "to_rational"]

RationalLike: TypeAlias = "int | float | Fraction | Decimal"


def to_rational(
    value: object, name: str, *, positive: bool = True, signed: bool = False
) -> Fraction:
    """Return ``value`` as an exact Fraction, checking it is finite (and > 0 if ``positive``).

    ``signed=True`` accepts any finite value (e.g. a utility score).

    Raises
    ------
    InvalidParameterError
        If the value is not a real number, is NaN or infinite, or is not positive.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction, Decimal, Rational)):
        raise InvalidParameterError(
            f"{name} must be a real number (int, float or Fraction), got {value!r} of type "
            f"{type(value).__name__}; pass e.g. {name}=1 or {name}=Fraction(1, 2)."
        )
    if (isinstance(value, float) and not math.isfinite(value)) or (
        isinstance(value, Decimal) and not value.is_finite()
    ):
        raise InvalidParameterError(
            f"{name} must be finite, got {value!r}; pass a finite positive number."
        )
    exact = Fraction(value)
    if positive and not signed and exact <= 0:
        underflow = (
            " (a float literal below about 1e-308 underflows to 0: pass an exact "
            "Fraction, e.g. Fraction(1, 10**400))"
            if isinstance(value, float) and value == 0
            else ""
        )
        raise InvalidParameterError(
            f"{name} must be > 0, got {value!r}{underflow}; pass a strictly positive number."
        )
    if signed:
        return exact
    if not positive and exact < 0:
        raise InvalidParameterError(f"{name} must be >= 0, got {value!r}; pass a number >= 0.")
    return exact


def to_delta(value: object, name: str = "delta") -> Fraction:
    """Return a failure probability ``delta`` as an exact Fraction in the open interval (0, 1)."""
    exact = to_rational(value, name)
    if exact >= 1:
        raise InvalidParameterError(
            f"{name} must lie in (0, 1), got {value!r}; a useful delta is far below 1/n, e.g. 1e-9."
        )
    return exact
