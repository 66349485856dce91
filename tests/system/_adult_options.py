"""Command-line options that point the fair-learning commands at Adult's columns."""

from __future__ import annotations

ADULT = [
    "--label",
    "income",
    "--positive-label",
    ">50K",
    "--protected",
    "sex",
    "--exclude",
    "fnlwgt",
]
