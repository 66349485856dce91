"""Noise calibration for DP-SGD with Google's ``dp-accounting`` (RDP accountant).

The accountant is used, not re-derived: :class:`dp_accounting.rdp.RdpAccountant` composes a
``ZCDpEvent`` (the noisy row count) with ``T`` Poisson-sampled Gaussian steps and converts
the Rényi curve to ``(epsilon, delta)``; the noise multiplier is bisected until the target
is met. Only **integer** Rényi orders are used, for the reason given in
:class:`~ethica.privacy.learning.DPLogisticRegression` (the discrete Gaussian's moments at
integer orders equal the continuous Gaussian's).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ethica._exceptions import InvalidParameterError, MissingExtraError

__all__ = ["ORDERS", "epsilon_of", "noise_multiplier"]

#: Integer Rényi orders only (see the module docstring).
ORDERS: tuple[int, ...] = (*range(2, 65), 80, 96, 128, 192, 256, 512, 1024)


def _dp_accounting() -> Any:
    try:
        import dp_accounting
        from dp_accounting.rdp import rdp_privacy_accountant
    except ImportError as error:  # pragma: no cover - the extra is part of dev
        raise MissingExtraError(
            "DP-SGD's accountant needs Google's dp-accounting: pip install 'ethica[learning]'."
        ) from error
    return dp_accounting, rdp_privacy_accountant


def epsilon_of(
    noise_multiplier: float, sampling_rate: float, steps: int, count_rho: float, delta: float
) -> float:
    """``epsilon`` at ``delta`` of a noisy count (``count_rho``-zCDP) followed by ``steps``
    Poisson-sampled Gaussian steps (add/remove one row), by the RDP accountant."""
    dp, rdp = _dp_accounting()
    step = dp.GaussianDpEvent(noise_multiplier)
    if sampling_rate < 1:
        step = dp.PoissonSampledDpEvent(sampling_rate, step)
    event = dp.ComposedDpEvent([dp.ZCDpEvent(count_rho), dp.SelfComposedDpEvent(step, steps)])
    accountant = rdp.RdpAccountant(list(ORDERS))
    accountant.compose(event)
    return float(accountant.get_epsilon(delta))


def noise_multiplier(
    epsilon: float, delta: float, sampling_rate: float, steps: int, count_rho: float
) -> Fraction:
    """A noise multiplier (bisected to a relative ``2**-24`` of its bracket, rounded up to
    ``2**-20``) whose composition with the count is within ``(epsilon, delta)``."""
    if epsilon_of(1e6, sampling_rate, steps, count_rho, delta) > epsilon:
        raise InvalidParameterError(
            f"epsilon={epsilon} at delta={delta} is too small for {steps} DP-SGD steps at "
            f"sampling rate {sampling_rate}; raise epsilon or delta, or take fewer steps."
        )
    low, high = 0.0, 1.0
    while epsilon_of(high, sampling_rate, steps, count_rho, delta) > epsilon:
        low, high = high, high * 2
    for _ in range(24):
        mid = (low + high) / 2
        if epsilon_of(mid, sampling_rate, steps, count_rho, delta) > epsilon:
            low = mid
        else:
            high = mid
    return Fraction(math.ceil(high * (1 << 20)), 1 << 20)
