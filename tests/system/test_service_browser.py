"""The analyst's page in a real headless Chromium: it submits a query and shows the release.

uvicorn serves the app on 127.0.0.1 in a thread; Chromium loads the query page with a link
that pre-fills the key, the SQL and the budget and presses "Run query"; the page's own
script posts to the API and renders the released table. Any request outside loopback goes to
a closed proxy port, so the page works with no external assets.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from ethica.service import build_app
from tests.system._chromium import run_chromium
from tests.system._service_setup import REGIONS, running_server, write_service

pytestmark = pytest.mark.browser


def _dom(tmp_path: Path, url: str) -> str:
    # Only the service itself (127.0.0.1) is reachable.
    return run_chromium(
        tmp_path, "--virtual-time-budget=20000", "--dump-dom", url, bypass="127.0.0.1"
    ).stdout


def test_query_page_submits_a_query_and_shows_values_with_intervals(tmp_path: Path) -> None:
    app, core = build_app(str(write_service(tmp_path)))
    key, _ = core.store.create_key("alice")
    carol, _ = core.store.create_key("carol")
    sql = "SELECT region, COUNT(*) FROM visits WHERE age >= 18 GROUP BY region"
    try:
        with running_server(app) as url:
            page = f"{url}/#key={quote(key)}&sql={quote(sql)}&budget={quote('epsilon=0.5')}&run"
            dom = _dom(tmp_path, page)
            dashboard = _dom(tmp_path / "c", f"{url}/custodian#key={quote(carol)}")
        assert "signed in as alice (analyst)" in dom
        table = re.search(r'<table class="released">(.*?)</table>', dom, re.S)
        assert table, dom[-3000:]
        rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
        cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows[1:]]
        assert [c[0] for c in cells] == REGIONS
        for _, value, low, high in cells:
            assert float(low) <= float(value) <= float(high)
        assert "Budget left: epsilon=0.5" in dom  # alice's grant 1 minus 0.5
        released = core.ledgers["alice"].history("visits")
        assert [r.status for r in released] == ["released"]
        assert released[0].output["tables"][0]["values"] == [float(c[1]) for c in cells]
        # The custodian's dashboard shows the spend.
        assert "alice" in dashboard and "epsilon=0.5" in dashboard
        assert "<svg" in dashboard  # the spend-per-day bars
    finally:
        core.close()
