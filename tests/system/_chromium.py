"""One headless Chromium for the browser tests: no network beyond what the test allows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(
    tmp_path: Path, *args: str, bypass: str = "<-loopback>"
) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args``; every request goes to a closed proxy port except
    hosts on ``bypass`` (the default ``<-loopback>`` bypasses nothing, not even loopback)."""
    assert CHROMIUM, "Debian's chromium is required: `make test` installs it (apt chromium)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--proxy-server=127.0.0.1:9",
            f"--proxy-bypass-list={bypass}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
