"""Serialisation shared by the fair-learning result objects (frontier, proxies, subgroups)."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = ["LEARNING_SCHEMA_VERSION", "LearningResult"]

#: Version of the JSON documents produced by the learning results' ``to_dict``.
LEARNING_SCHEMA_VERSION = "1.0"


def _plain(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (tuples to lists, numpy scalars to Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class LearningResult:
    """Mixin for frozen result dataclasses: ``to_dict``, ``to_frame``, ``_repr_html_``.

    ``to_dict`` holds every field except those named in ``_not_serialised`` (e.g. fitted
    models), plus ``kind`` and ``schema_version``. ``to_frame`` is one row per
    :meth:`_rows` entry (by default a single row of the scalar fields).
    """

    kind: ClassVar[str] = "result"
    _not_serialised: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable document with ``kind`` and ``schema_version``."""
        assert dataclasses.is_dataclass(self)
        body = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in self._not_serialised
        }
        return {"kind": self.kind, "schema_version": LEARNING_SCHEMA_VERSION, **body}

    def _rows(self) -> list[dict[str, Any]]:
        document = self.to_dict()
        return [{k: v for k, v in document.items() if not isinstance(v, list | dict)}]

    def to_frame(self) -> pd.DataFrame:
        """The result as a table."""
        return pd.DataFrame(self._rows())

    def _repr_html_(self) -> str:
        title = html.escape(type(self).__name__)
        table: str = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return f"<div><strong>{title}</strong>{table}</div>"
