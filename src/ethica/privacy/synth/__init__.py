"""Differentially private synthetic data: select, measure (in the engine), generate.

:func:`synthesize` fits MST (McKenna, Miklau & Sheldon 2021) or AIM (McKenna et al. 2022) on
noisy marginals, each a GROUP BY pushed down to the engine, with exact discrete Gaussian noise
and zCDP accounting; MST's model is a forest fitted exactly (:mod:`._model`), AIM's a
junction-tree graphical model fitted by mirror descent (:mod:`._graphical`); both sampled i.i.d.
:func:`report_card` scores a synthetic copy against the real data (for the custodian only).
"""

from __future__ import annotations

from ethica.privacy.synth._domain import OTHER, Column, Domain
from ethica.privacy.synth._report import SynthReport, report_card, tv_distance
from ethica.privacy.synth._synthesize import SynthResult, parse_workload, rho_of, synthesize

__all__ = [
    "OTHER",
    "Column",
    "Domain",
    "SynthReport",
    "SynthResult",
    "parse_workload",
    "report_card",
    "rho_of",
    "synthesize",
    "tv_distance",
]
