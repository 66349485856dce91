"""One engine helper for every query of the data layer: ``ethica.data._engine.run``."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from ethica._exceptions import DataSourceError
from ethica.data._engine import run
from ethica.data._sources import open_source


def test_an_engine_failure_names_the_action_and_the_source() -> None:
    src = open_source(pd.DataFrame({"s": ["1", "x"]}))
    failing = src.table.select(n=src.table.s.cast("int64"))
    with pytest.raises(DataSourceError, match=r"the engine could not count .*Conversion"):
        run(src, failing, action="count")
    assert run(src, src.table.count().as_table(), action="count").num_rows == 1


def test_the_fallback_runs_only_when_the_engine_cannot_translate() -> None:
    src = open_source(pd.DataFrame({"s": ["1", "x"]}))
    failing = src.table.select(n=src.table.s.cast("int64"))
    fallback = src.table.select(n=ibis.literal(1))
    with pytest.raises(DataSourceError, match="could not aggregate"):  # not a translation error
        run(src, failing, action="aggregate", fallback=fallback)
