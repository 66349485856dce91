"""Exact real arithmetic for samplers: rigorous fixed-point intervals and lazy comparison.

A real number ``v`` is handled through an *interval function* ``f(prec) -> (lo, hi)`` of
Python integers with ``lo <= v * 2**prec <= hi``, where ``hi - lo`` stays bounded as
``prec`` grows. :func:`lazy_below` decides ``W < v`` for a uniform real ``W`` whose leading
bits are known, drawing more bits from the OS CSPRNG until the interval decides it; since
``P(W = v) = 0`` this is an exact Bernoulli(``v``) trial (the idea behind Knuth & Yao 1976
and every exact sampler since). No floating point is used anywhere.

Proof obligations: :func:`exp_neg_interval` returns integers bracketing ``exp(-x) 2**prec``
(alternating Taylor series with explicit truncation and rounding bounds, then exact
repeated squaring with outward rounding); :func:`lazy_below` returns ``[W < v]`` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from ethica.privacy.noise._random import uniform_bits

__all__ = [
    "IntervalFn",
    "div_interval",
    "exp_neg_interval",
    "lazy_below",
    "lazy_compare",
    "mul_interval",
]

IntervalFn = Callable[[int], tuple[int, int]]

_EXTEND_BITS = 64


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def mul_interval(a: tuple[int, int], b: tuple[int, int], prec: int) -> tuple[int, int]:
    """Product of two non-negative fixed-point intervals at ``prec`` bits, rounded outward."""
    return (a[0] * b[0]) >> prec, _ceil_div(a[1] * b[1], 1 << prec)


def div_interval(a: tuple[int, int], b: tuple[int, int], prec: int) -> tuple[int, int]:
    """Quotient ``a / b`` of non-negative fixed-point intervals (``b[0] > 0``), outward."""
    return (a[0] << prec) // b[1], _ceil_div(a[1] << prec, b[0])


def _exp_neg_small(y: Fraction, prec: int) -> tuple[int, int]:
    """``exp(-y) * 2**prec`` for ``0 <= y <= 1``: Taylor series, error <= i**2 + 4 i + 4 units."""
    a, b = y.numerator, y.denominator
    term = 1 << prec
    total = term
    i = 0
    while term:
        i += 1
        term = term * a // (b * i)
        total += -term if i % 2 else term
    slack = i * i + 4 * i + 4
    return max(total - slack, 0), total + slack


def exp_neg_interval(x: Fraction, prec: int) -> tuple[int, int]:
    """Integers ``(lo, hi)`` with ``lo <= exp(-x) * 2**prec <= hi`` for rational ``x >= 0``.

    The width ``hi - lo`` is at most a few units for every ``prec``.
    """
    if x < 0:
        raise ValueError(f"exp_neg_interval needs x >= 0, got {x}")
    one = 1 << prec
    if x == 0:
        return one, one
    if x >= prec:  # exp(-x) <= e**-prec < 2**-prec
        return 0, 1
    n = math.ceil(x)
    guard = 2 * n.bit_length() + 40
    work = prec + guard
    base = _exp_neg_small(x / n, work)
    result = (1 << work, 1 << work)
    while n:
        if n & 1:
            result = mul_interval(result, base, work)
        n >>= 1
        if n:
            base = mul_interval(base, base, work)
    lo = max(result[0] >> guard, 0)
    hi = min(_ceil_div(result[1], 1 << guard), one)
    return lo, hi


def lazy_compare(prefix: int, bits: int, value: IntervalFn) -> tuple[bool, int, int]:
    """Decide ``W < v`` exactly, where ``W`` is uniform on ``[prefix, prefix + 1) / 2**bits``.

    More uniform bits of ``W`` are drawn from the OS CSPRNG until the interval of ``v``
    at the current precision lies entirely on one side of ``W``'s dyadic interval. Returns
    the decision and the (possibly longer) prefix of ``W``, so that several comparisons of
    the same ``W`` stay consistent.
    """
    while True:
        lo, hi = value(bits)
        if prefix + 1 <= lo:
            return True, prefix, bits
        if prefix >= hi:
            return False, prefix, bits
        prefix = (prefix << _EXTEND_BITS) | uniform_bits(_EXTEND_BITS)
        bits += _EXTEND_BITS


def lazy_below(prefix: int, bits: int, value: IntervalFn) -> bool:
    """Exact ``[W < v]`` for ``W`` uniform on ``[prefix, prefix + 1) / 2**bits``."""
    return lazy_compare(prefix, bits, value)[0]
