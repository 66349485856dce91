"""Helpers shared by the attacks: parameter checks, the progress type, HTML tables."""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica._results import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Progress",
    "check_epsilon",
    "check_positive_int",
    "frame_html",
    "report_progress",
]


#: ``progress(done, total)``: called by long attacks so a front end can draw a bar.
Progress = Callable[[int, int], None]


def report_progress(progress: Progress | None, done: int, total: int) -> None:
    """Call ``progress(done, total)`` when a callback was given."""
    if progress is not None:
        progress(done, total)


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(
            f"{name} must be an integer >= {minimum}, got {value!r}; pass a whole number "
            f"of at least {minimum}."
        )
    return int(value)


def check_epsilon(epsilon: object) -> float:
    """Return ``epsilon`` as a float, or raise if it is not a finite number ``> 0``."""
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, int | float)
        or not math.isfinite(epsilon)
        or epsilon <= 0
    ):
        raise InvalidParameterError(
            f"epsilon must be a finite number > 0, got {epsilon!r}; a privacy loss of zero "
            "or less is meaningless: pass e.g. epsilon=1.0 (smaller is more private)."
        )
    return float(epsilon)


def frame_html(title: str, frame: pd.DataFrame) -> str:
    """A small self-contained HTML block: an escaped title above the frame as a table."""
    table = frame.to_html(index=False, float_format=lambda x: f"{x:.3f}", border=0)
    return f"<div class='ethica-attack'><strong>{html.escape(title)}</strong>{table}</div>"
