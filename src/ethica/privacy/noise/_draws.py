"""Plumbing shared by the samplers: sizes, signs, rejection loops, int64 conversion.

Proof obligations: :func:`collect` returns the first ``n`` accepted proposals of i.i.d.
batches (so accepted draws stay i.i.d. with the conditional law); :func:`random_signs` is
i.i.d. fair coins from ``os.urandom``; :func:`to_int64` never wraps.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy._params import to_rational
from ethica.privacy.noise._random import random_uint32

__all__ = ["by_size", "check_size", "collect", "public_draws", "random_signs", "to_int64"]


def check_size(size: object) -> int:
    """Validate a sample count."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise InvalidParameterError(
            f"size must be a non-negative integer, got {size!r}; pass e.g. size=1000."
        )
    return int(size)


def to_int64(values: NDArray[Any]) -> NDArray[np.int64]:
    """Convert exact integers to int64, refusing (never wrapping) out-of-range values."""
    if values.dtype == object and values.size:
        biggest = max(abs(int(v)) for v in values)
        if biggest >= 1 << 63:
            raise InvalidParameterError(
                f"a noise draw of magnitude {biggest} does not fit in int64; use a smaller scale."
            )
    return values.astype(np.int64)


def random_signs(n: int) -> NDArray[np.bool_]:
    """``n`` independent fair coin flips (True = negative)."""
    return (random_uint32(n) & np.uint32(1)).astype(bool)


def collect(n: int, propose: Callable[[int], NDArray[Any]]) -> NDArray[Any]:
    """The first ``n`` accepted draws; ``propose(k)`` returns the accepted ones of ~k tries."""
    parts = []
    have = 0
    while have < n:
        accepted = propose(n - have)[: n - have]
        parts.append(accepted)
        have += accepted.size
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def public_draws(
    value: object,
    name: str,
    maximum: Fraction,
    size: object,
    raw: Callable[[Fraction, int], NDArray[Any]],
) -> NDArray[np.int64]:
    """Validate a noise parameter and a size, draw exactly, return int64."""
    exact = to_rational(value, name)
    if exact > maximum:
        raise InvalidParameterError(
            f"{name} must be at most 2**{maximum.numerator.bit_length() - 1}, got {value!r}; "
            "noise that large does not fit int64 draws: rescale the query instead."
        )
    return to_int64(raw(exact, check_size(size)))


def by_size(
    value: Fraction,
    n: int,
    limit: int,
    small: Callable[[Fraction, int], NDArray[Any]],
    large: Callable[[Fraction, int], NDArray[Any]],
) -> NDArray[Any]:
    """``n`` draws from the ``small`` path when ``value <= limit``, else the ``large`` one."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return small(value, n) if value <= limit else large(value, n)
