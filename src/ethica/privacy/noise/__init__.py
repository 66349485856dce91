"""Exact noise: samplers on the integers from OS CSPRNG bits, and private selection.

:func:`discrete_laplace`, :func:`discrete_gaussian`, :func:`bernoulli_exp` (integer and
fixed-point interval arithmetic, no floating-point inversion: Mironov 2012; Canonne, Kamath
& Steinke 2020); :func:`permute_and_flip`, :func:`exponential_mechanism`,
:func:`private_quantile` (McKenna & Sheldon 2020; McSherry & Talwar 2007).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ethica._lazy import lazy_attributes

if TYPE_CHECKING:
    from ethica.privacy.noise._bernoulli import bernoulli_exp
    from ethica.privacy.noise._gaussian import discrete_gaussian
    from ethica.privacy.noise._laplace import discrete_laplace
    from ethica.privacy.noise._selection import (
        exponential_mechanism,
        permute_and_flip,
        private_quantile,
    )

#: Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "bernoulli_exp": "ethica.privacy.noise._bernoulli",
    "discrete_gaussian": "ethica.privacy.noise._gaussian",
    "discrete_laplace": "ethica.privacy.noise._laplace",
    "exponential_mechanism": "ethica.privacy.noise._selection",
    "permute_and_flip": "ethica.privacy.noise._selection",
    "private_quantile": "ethica.privacy.noise._selection",
}

__getattr__, __dir__ = lazy_attributes("ethica.privacy.noise", globals(), _LAZY)

__all__ = [
    "bernoulli_exp",
    "discrete_gaussian",
    "discrete_laplace",
    "exponential_mechanism",
    "permute_and_flip",
    "private_quantile",
]
