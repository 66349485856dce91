"""Review C, area 3: public-key text columns stored as DuckDB ENUMs at load (commit b21d6ee).

Reproduction of a finding, expected to fail until fixed (``xfail(strict=True)``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ethica.service._config import load_config
from ethica.service._engines import EnginePool


@pytest.mark.xfail(strict=True, reason="finding 3.1: ENUM type names collide across datasets")
def test_enum_type_names_do_not_collide_across_datasets(tmp_path: Path) -> None:
    """The type is named ``__ethica_enum_{table}_{column}``: dataset 'a_b' column 'c' and
    dataset 'a' column 'b_c' both make ``__ethica_enum_a_b_c``, and the service fails to
    start (DuckDB CatalogException). Whether it fails depends on the data: a column is only
    encoded with 1 to 65,536 distinct values."""
    (tmp_path / "x.csv").write_text("b_c,c\nn,n\ns,s\n", encoding="utf-8")
    keyed = {"type": "text", "keys": ["n", "s"]}
    config = {
        "ledger": "l.sqlite3",
        "store": "s.sqlite3",
        "custodians": ["carol"],
        "datasets": {
            "a_b": {"source": "x.csv", "privacy_unit": "rows", "total": {"epsilon": 1},
                    "columns": {"c": keyed}},
            "a": {"source": "x.csv", "privacy_unit": "rows", "total": {"epsilon": 1},
                  "columns": {"b_c": keyed}},
        },
        "analysts": {"alice": {"a": {"epsilon": 1}}},
    }  # fmt: skip
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    pool = EnginePool(load_config(str(path)).datasets)
    try:
        assert pool.rows == {"a_b": 2, "a": 2}
    finally:
        pool.close()
