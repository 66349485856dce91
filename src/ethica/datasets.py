"""Real data sets shipped with ethica (compressed copies of public UCI data, CC BY 4.0).

- :func:`load_adult` — UCI Adult (Census Income), 1994 US Current Population Survey
  extract, Kohavi and Becker (1996); ``split="train"`` (32,561 rows) or ``"test"``
  (16,281 rows).
- :func:`load_german` — UCI Statlog (German Credit Data), Hofmann; 1,000 applicants,
  decoded into readable values with derived ``sex`` and ``credit`` (``"good"``/``"bad"``).

Both come from the UCI Machine Learning Repository under the Creative Commons
Attribution 4.0 licence; see ``docs/datasets.md`` for provenance and the exact changes.
"""

from __future__ import annotations

from ethica.data._datasets import load_adult, load_german

__all__ = ["load_adult", "load_german"]
