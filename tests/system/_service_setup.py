"""A small registered dataset and service config shared by the service tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

REGIONS = ["north", "south", "east", "west"]


def write_service(tmp: Path, *, total: float = 3.0, grants: dict[str, float] | None = None) -> Path:
    """Write visits.csv (2,000 rows) and service.yaml into ``tmp``; return the config path."""
    rng = np.random.default_rng(7)
    n = 2000
    frame = pd.DataFrame(
        {
            "region": rng.choice(REGIONS, n),
            "age": rng.integers(10, 90, n),
            "income": rng.normal(40_000, 12_000, n).round(2),
        }
    )
    frame.to_csv(tmp / "visits.csv", index=False)
    grants = grants if grants is not None else {"alice": 1.0, "bob": 2.0}
    config: dict[str, Any] = {
        "ledger": "ledger.sqlite3",
        "store": "service.sqlite3",
        "custodians": ["carol"],
        "datasets": {
            "visits": {
                "source": "visits.csv",
                "privacy_unit": "rows",
                "total": {"epsilon": total},
                "columns": {
                    "region": {"type": "text", "keys": REGIONS},
                    "age": {"type": "number", "lower": 0, "upper": 120},
                    "income": {"type": "number", "lower": 0, "upper": 200_000},
                },
            },
            "other": {
                "source": "visits.csv",
                "privacy_unit": "rows",
                "total": {"epsilon": 1},
                "columns": {"age": {"type": "number", "lower": 0, "upper": 120}},
            },
        },
        "analysts": {name: {"visits": {"epsilon": cap}} for name, cap in grants.items()},
    }
    path = tmp / "service.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
