"""The data lake: Delta tables with change data feed, and read-only SQL over them.

See docs/lake.md for the layout, naming, versions, change feed, vacuum and query rules.
"""

from govdata.lake.names import TableName, entry_table_name, parse_table_name
from govdata.lake.query import check_select, run_select
from govdata.lake.tables import (
    DEFAULT_RETENTION,
    ENTRY_KEY,
    MIN_RETENTION,
    ArrowData,
    Lake,
    TableInfo,
    WriteResult,
)

__all__ = [
    "DEFAULT_RETENTION",
    "ENTRY_KEY",
    "MIN_RETENTION",
    "ArrowData",
    "Lake",
    "TableInfo",
    "TableName",
    "WriteResult",
    "check_select",
    "entry_table_name",
    "parse_table_name",
    "run_select",
]
