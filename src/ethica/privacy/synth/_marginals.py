"""Marginals of the encoded table: the engine side lives in :mod:`ethica.data` (the only
layer that imports Ibis); re-exported here for the synthesizers."""

from __future__ import annotations

from ethica.data._level_marginals import MarginalReader, check_schema, encode

__all__ = ["MarginalReader", "check_schema", "encode"]
