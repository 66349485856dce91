"""One result style: the base of every public result, one JSON converter, one schema version.

Every public result of ethica (a fairness audit, a frontier, a membership attack, a DP
release, a ledger row, a privacy audit, ...) is a frozen dataclass deriving from
:class:`Result`; the pieces nested inside a result (an :class:`~ethica.fairness.Estimate`,
a :class:`~ethica.privacy.release.ReleasedTable`, ...) derive from :class:`ResultPart`.
Both give

* ``to_dict()``: a JSON-ready document. A subclass states *what* it holds in
  :meth:`ResultPart._document` (by default every dataclass field not listed in
  ``_not_serialised``); :func:`to_plain` turns it into plain JSON types, and a
  :class:`Result` adds ``"schema_version": SCHEMA_VERSION`` in front;
* ``to_json()``: that document as strict JSON text (``NaN`` and ``inf`` are never written);
* ``to_frame()``: a pandas DataFrame (by default one row of the document's scalar entries);
* ``_repr_html_()``: the frame as an HTML table under the class name, for notebooks.

Schema history (:data:`SCHEMA_VERSION`, the ``schema_version`` key of every versioned
document):

* ``"1.0"`` (string: fairness audits, fair learning, attacks) and ``1`` (integer: DP
  releases, ledger rows, privacy audits, streams, verification) until ethica 0.x: two
  spellings of the first version of each document.
* ``2``: one integer for every result. Only the type and value of ``schema_version`` changed;
  every other key is as in version 1 (``NaN`` and infinities, formerly written by some
  learning results as the non-JSON tokens ``NaN``/``Infinity``, are now ``null``). Readers
  that accept stored documents (e.g. a replayed DP release) accept both versions.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from fractions import Fraction
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCHEMA_VERSION", "Result", "ResultPart", "plain_scalar", "to_plain"]

#: Version of every result document's schema (see the module docstring for the history).
SCHEMA_VERSION: Final[int] = 2


def plain_scalar(value: object) -> object:
    """One scalar as a plain Python object: numpy scalars unwrapped, NA and NaN as ``None``.

    Other values (strings, dates, ...) are returned unchanged; use this for keys that stay
    Python objects, and :func:`to_plain` for JSON.
    """
    module = type(value).__module__
    if module == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()  # type: ignore[attr-defined]
    elif module.startswith("pandas"):
        import pandas as pd  # on use: the CLI imports result modules and must start fast

        if value is pd.NA or value is pd.NaT:
            return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_plain(value: object) -> Any:
    """``value`` as plain JSON types: the one converter every result document goes through.

    * ``None``, ``bool``, ``int``, ``str`` unchanged; floats unchanged when finite, ``None``
      for ``NaN`` and infinities (JSON has neither);
    * numpy scalars and arrays, pandas ``NA``/``NaT``: their Python values (``None`` for
      missing ones);
    * :class:`~fractions.Fraction`: its exact ``"p/q"`` string (budgets stay exact);
    * objects with a ``to_dict()`` (results, budgets, privacy units): that document;
    * other dataclasses: a dict of their fields; mappings: dicts with string keys;
      tuples, lists, sets: lists; enums: their value; dates: ISO 8601; paths and anything
      else: ``str``.
    """
    value = plain_scalar(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, Enum):
        return to_plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and type(value).__module__.startswith(("numpy", "pandas")):
        return to_plain(tolist())  # arrays and Series
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        if type(value).__module__.startswith("pandas"):  # a DataFrame: a list of row dicts
            return to_plain(to_dict(orient="records"))
        return to_plain(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    return str(value)


def _key(key: object) -> str:
    plain = to_plain(key)
    return plain if isinstance(plain, str) else json.dumps(plain)


class ResultPart:
    """Base of a frozen dataclass nested in a result: ``to_dict``, ``to_json``, tables.

    Subclasses override :meth:`_document` when their document is not simply their fields
    (renamed keys, derived values); :func:`to_plain` does every conversion to JSON types.
    """

    #: Fields left out of the default document (e.g. fitted models, cached data).
    _not_serialised: ClassVar[tuple[str, ...]] = ()

    def _document(self) -> Mapping[str, Any]:
        """What the document holds, before conversion: by default every dataclass field."""
        assert dataclasses.is_dataclass(self)
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self._not_serialised
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (plain types only: no NaN, tuples or numpy scalars)."""
        document: dict[str, Any] = to_plain(self._document())
        return document

    def to_json(self, **dumps: Any) -> str:
        """:meth:`to_dict` as strict JSON text (keyword arguments go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), allow_nan=False, **dumps)

    def _rows(self) -> list[dict[str, Any]]:
        """Rows of :meth:`to_frame`: by default one, of the document's scalar entries."""
        document = self.to_dict()
        return [
            {
                k: v
                for k, v in document.items()
                if k != "schema_version" and not isinstance(v, list | dict)
            }
        ]

    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (one row per :meth:`_rows` entry)."""
        import pandas as pd

        return pd.DataFrame(self._rows())

    def _html_title(self) -> str:
        return type(self).__name__

    def _repr_html_(self) -> str:
        """An HTML table under a title, for notebooks."""
        title = html.escape(self._html_title())
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return f"<div><strong>{title}</strong>{table}</div>"


class Result(ResultPart):
    """Base of a public result: a :class:`ResultPart` whose document is versioned.

    ``to_dict()`` starts with ``"schema_version": SCHEMA_VERSION``.
    """

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with ``schema_version`` first."""
        return {"schema_version": SCHEMA_VERSION, **super().to_dict()}
