"""Random bits from the operating system's CSPRNG, batched into numpy arrays.

Every random bit ethica's privacy code uses comes from :func:`os.urandom` (the kernel's
CSPRNG: ``getrandom(2)`` on Linux). There is no user-space generator state, so the bits are
safe after ``fork`` and cannot be seeded or replayed. Proof obligation: each function returns
independent draws exactly uniform on its stated range (rejection sampling, never modulo bias).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["random_uint32", "random_uint64", "uniform_below", "uniform_bits"]

_TWO64 = 1 << 64
_FAST_LIMIT = 1 << 62


def random_uint64(n: int) -> NDArray[np.uint64]:
    """``n`` independent uniform 64-bit words from one ``os.urandom`` call."""
    return np.frombuffer(os.urandom(8 * n), dtype=np.uint64)


def random_uint32(n: int) -> NDArray[np.uint32]:
    """``n`` independent uniform 32-bit words from one ``os.urandom`` call."""
    return np.frombuffer(os.urandom(4 * n), dtype=np.uint32)


def uniform_bits(bits: int) -> int:
    """One uniform integer in ``[0, 2**bits)`` as a Python int."""
    return int.from_bytes(os.urandom((bits + 7) // 8), "little") >> (-bits % 8)


def uniform_below(m: int, n: int) -> NDArray[Any]:
    """``n`` independent integers uniform on ``{0, ..., m-1}``.

    For ``m <= 2**62`` the draws are an int64 array obtained by rejecting 64-bit words at
    or above the largest multiple of ``m`` (so the remainder is exactly uniform). Larger
    ``m`` returns an object array of Python ints drawn with :func:`secrets.randbelow`.
    """
    if m <= 0:
        raise ValueError(f"uniform_below needs m >= 1, got {m}")
    if m > _FAST_LIMIT:
        return np.array([secrets.randbelow(m) for _ in range(n)] + [None], dtype=object)[:n]
    if m & (m - 1) == 0:
        return (random_uint64(n) & np.uint64(m - 1)).astype(np.int64)
    limit = np.uint64((_TWO64 // m) * m - 1)  # accept words <= limit
    out = np.empty(n, dtype=np.int64)
    filled = 0
    modulus = np.uint64(m)
    while filled < n:
        need = n - filled
        words = random_uint64(need + need // 16 + 8)
        kept = words[words <= limit][:need]
        out[filled : filled + kept.size] = (kept % modulus).astype(np.int64)
        filled += kept.size
    return out
