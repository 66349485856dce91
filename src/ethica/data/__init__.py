"""ethica.data: the only layer that touches data sources and Ibis.

Resolves a path / URL / DataFrame / ``ibis.Table`` to an Ibis table, checks its schema,
and pushes the audit's counting down to the engine (:func:`count_outcomes`), returning
a small :class:`CountTable`. Also ships the Adult and German credit data sets.
"""

from __future__ import annotations

from ethica.data._bins import Bins
from ethica.data._count_table import MISSING_LABEL, CountTable
from ethica.data._counting import count_outcomes
from ethica.data._datasets import load_adult, load_german
from ethica.data._sources import resolve_table
from ethica.data._training import TrainingEncoding, TrainingMatrix, fit_encoding, read_rows

__all__ = [
    "MISSING_LABEL",
    "Bins",
    "CountTable",
    "TrainingEncoding",
    "TrainingMatrix",
    "count_outcomes",
    "fit_encoding",
    "load_adult",
    "load_german",
    "read_rows",
    "resolve_table",
]
