"""A reproducible sample of a table's rows (or of its users' rows), drawn in the engine.

Used where a workflow needs a small base of the custodian's data in memory (``ethica
verify``): the engine ranks rows (or user ids) by a seeded hash and keeps the first
``size`` — a top-N that streams, so the whole table never reaches pandas. The hash of a
value is deterministic, so the same seed gives the same sample however many threads the
engine runs. This is not privacy randomness (nothing drawn here is released).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from ethica.data._engine import to_arrow
from ethica.data._sources import open_source

__all__ = ["sample_rows"]

#: Separates the fields of a row in the text its rank is hashed from.
_SEP = "\x1f"
#: Stands for a missing field in that text.
_NULL = "\x00"


def _rank(seed: int, values: list[ir.Value]) -> ir.IntegerValue:
    text = ibis.literal(f"{seed}{_SEP}")
    for value in values:
        text = text.concat(value.cast("string").fill_null(_NULL), _SEP)
    return text.hash()


def sample_rows(
    table: ir.Table, *, size: int, seed: int, user_column: str | None = None
) -> pd.DataFrame:
    """At most ``size`` rows of ``table``, or every row of at most ``size`` of its users.

    Parameters
    ----------
    table
        An Ibis table (any backend).
    size
        Rows to keep (row level), or users to keep (``user_column`` given).
    seed
        Fixes the draw: the rows (users) kept are those with the smallest hash of the seed
        and their values.
    user_column
        Keep whole users: every row of each chosen user id (rows whose id is missing are
        kept only when the table has at most ``size`` users, as all rows are then).
    """
    src = open_source(table)
    t = src.table
    if user_column is None:
        chosen = t.order_by(_rank(seed, [t[c] for c in t.columns])).limit(size)
    else:
        users = t.select(t[user_column]).filter(t[user_column].notnull()).distinct()
        n_users = int(to_arrow(users.count().as_table(), src.backend).column(0)[0].as_py())
        if n_users <= size:
            chosen = t
        else:
            kept = users.order_by(_rank(seed, [users[user_column]])).limit(size)
            chosen = t.semi_join(kept, user_column)
    frame: pd.DataFrame = to_arrow(chosen, src.backend).to_pandas()
    return frame
