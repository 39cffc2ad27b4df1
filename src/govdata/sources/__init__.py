"""Source connectors: reach a department's system, discover its tables, read them as Arrow."""

from govdata.sources.base import ColumnInfo, Filter, SourceConnector, TableInfo
from govdata.sources.files import FileConnector
from govdata.sources.http import HttpConnector
from govdata.sources.sql import MariaDBConnector, PostgresConnector, SQLiteConnector

__all__ = [
    "ColumnInfo",
    "FileConnector",
    "Filter",
    "HttpConnector",
    "MariaDBConnector",
    "PostgresConnector",
    "SQLiteConnector",
    "SourceConnector",
    "TableInfo",
]
