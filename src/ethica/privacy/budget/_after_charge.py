"""Work that runs after a budget was charged: its failure must not carry the data out.

After the charge, an error's text, values or chained exceptions could depend on the private
data (an engine message naming a record, a count in a refusal). :func:`after_charge` runs the
work, and on any :class:`Exception` calls ``on_failure`` (mark the charge ``failed``) and raises
one :class:`~ethica.ReleaseFailedError` with the caller's generic message, raised *outside* the
handler, so that neither ``__cause__`` nor ``__context__`` holds the original (``raise ... from
None`` inside an ``except`` block still keeps it in ``__context__``). ``KeyboardInterrupt`` and
``SystemExit`` call ``on_failure`` and propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ethica._exceptions import ReleaseFailedError

__all__ = ["after_charge"]

_T = TypeVar("_T")


def after_charge(work: Callable[[], _T], *, on_failure: Callable[[], None], message: str) -> _T:
    """``work()``, or a generic :class:`ReleaseFailedError` (no chained exception) if it fails."""
    try:
        result = work()
    except Exception:
        failed = True
    except BaseException:
        on_failure()
        raise
    else:
        failed = False
    if failed:
        on_failure()
        raise ReleaseFailedError(message)
    return result
