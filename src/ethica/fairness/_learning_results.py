"""The base of the fair-learning result objects (frontier, proxies, subgroups)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ethica._results import Result

__all__ = ["LearningResult"]


class LearningResult(Result):
    """A :class:`~ethica._results.Result` whose document also names its ``kind``.

    ``to_dict`` holds every field except those named in ``_not_serialised`` (e.g. fitted
    models), plus ``kind`` and ``schema_version``. ``to_frame`` is one row per
    :meth:`_rows` entry (by default a single row of the scalar fields).
    """

    kind: ClassVar[str] = "result"

    def _document(self) -> Mapping[str, Any]:
        return {"kind": self.kind, **super()._document()}
