"""The service's two pages: self-contained HTML (inline CSS and JS, no external assets)."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["dashboard_page", "query_page"]


@cache
def _template(name: str) -> str:
    return resources.files("ethica.service").joinpath("templates", name).read_text("utf-8")


@cache
def _page(name: str, title: str) -> str:
    """The shared head (``_head.html``, titled ``title``) followed by page ``name``."""
    return _template("_head.html").replace("{title}", title) + _template(name)


def query_page() -> str:
    """The analyst's page: key, datasets, SQL box, plan, results with intervals, history."""
    return _page("query.html", "DP query")


def dashboard_page() -> str:
    """The custodian's dashboard: datasets, analysts, spend per day, keys, audit log."""
    return _page("dashboard.html", "custodian dashboard")
