"""Lake table names: ``<schema>.<name>``, each part a lower-case identifier, one folder each.

A table ``pop.entry_household`` lives in ``<lake_dir>/pop/entry_household/``. The same
name is what SQL over the lake uses (``SELECT * FROM pop.entry_household``), so both parts
must be identifiers DuckDB accepts unquoted and that no file system treats specially.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govdata.core.errors import InvalidInput

PART_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# DuckDB resolves these schema names itself; a lake schema of the same name would shadow
# (or be shadowed by) the engine's own catalog in queries.
RESERVED_SCHEMAS = frozenset({"main", "temp", "system", "information_schema", "pg_catalog"})


@dataclass(frozen=True, order=True)
class TableName:
    """A validated lake table name."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def _check_part(part: str, full: str) -> None:
    if not PART_RE.fullmatch(part):
        raise InvalidInput(
            f"湖表名称“{full}”不合法：每段须以小写字母开头，仅含小写字母、数字和下划线，不超过63个字符",
            f"Lake table name {full!r} is invalid: each part must match ^[a-z][a-z0-9_]{{0,62}}$",
            code="lake_table_name_invalid",
            details={"name": full},
        )


def parse_table_name(full: str) -> TableName:
    """``"pop.household"`` → ``TableName("pop", "household")``; InvalidInput otherwise."""
    parts = full.split(".")
    if len(parts) != 2:
        raise InvalidInput(
            f"湖表名称“{full}”须为“库.表”两段形式",
            f"Lake table name {full!r} must have the form <schema>.<name>",
            code="lake_table_name_invalid",
            details={"name": full},
        )
    for part in parts:
        _check_part(part, full)
    if parts[0] in RESERVED_SCHEMAS:
        raise InvalidInput(
            f"“{parts[0]}”是保留名称，不能用作湖表的库名",
            f"{parts[0]!r} is reserved and cannot be a lake schema",
            code="lake_table_name_invalid",
            details={"name": full},
        )
    return TableName(parts[0], parts[1])


def entry_table_name(schema: str, resource_code: str) -> TableName:
    """The conventional table of a physically aggregated catalog entry.

    ``entry_`` + the resource code lower-cased, every other character turned into ``_``,
    cut to the 63-character limit. Codes are unique per node, and the cut only bites on
    codes longer than 57 characters, which the catalog's coding rules do not produce.
    """
    slug = re.sub(r"[^a-z0-9_]", "_", resource_code.lower())
    return parse_table_name(f"{schema}.{('entry_' + slug)[:63]}")
