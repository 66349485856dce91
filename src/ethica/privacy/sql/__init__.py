"""DP SQL: parse one ``SELECT`` with sqlglot, allow-list its nodes, plan it into ethica queries.

See :mod:`ethica.privacy.sql._plan` for the accepted language.
"""

from __future__ import annotations

from ethica.privacy.sql._plan import (
    MAX_DEPTH,
    MAX_IN_LIST,
    MAX_SQL_CHARS,
    Aggregate,
    SqlQuery,
    SqlRefusedError,
    plan_sql,
)
from ethica.privacy.sql._predicates import (
    And,
    Between,
    Compare,
    InList,
    IsNull,
    Not,
    Or,
    Predicate,
)
from ethica.privacy.sql._schema import ColumnSpec, TableSchema

__all__ = [
    "MAX_DEPTH",
    "MAX_IN_LIST",
    "MAX_SQL_CHARS",
    "Aggregate",
    "And",
    "Between",
    "ColumnSpec",
    "Compare",
    "InList",
    "IsNull",
    "Not",
    "Or",
    "Predicate",
    "SqlQuery",
    "SqlRefusedError",
    "TableSchema",
    "plan_sql",
]
