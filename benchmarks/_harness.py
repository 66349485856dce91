"""Shared benchmark helpers: best-of-n timing, peak memory of a child run, ratio lines.

Every benchmark times ethica and its peer in the same run on the same data, and
prints the ratio (these machines are shared and noisy: absolute times mean little).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"


def best_time(function: Callable[[], object], *, repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``function()``, in seconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def run_child(code: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line.

    Adds ``peak_rss_mb``: the child's peak resident memory (VmHWM, which, unlike
    ``ru_maxrss``, does not inherit the parent's peak across fork and exec).
    """
    wrapped = (
        code
        + "\nimport json as _j, re as _re\n"
        + "_hwm = int(_re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
        + "print(_j.dumps({**RESULT, 'peak_rss_mb': _hwm / 1024}))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", wrapped], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def report(title: str, rows: list[tuple[str, float]], *, unit: str = "s") -> None:
    """Print timings and each one's ratio to the first row (the peer or the baseline)."""
    print(f"\n{title}")
    baseline = rows[0][1]
    for name, value in rows:
        print(f"  {name:<44} {value:10.4f} {unit}   x{value / baseline:8.2f} of {rows[0][0]}")
