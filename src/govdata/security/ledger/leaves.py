"""What a leaf is: the audit record's stored content and its place in the ledger, as bytes.

The bytes are canonical JSON (sorted keys, no spaces, UTF-8) of every column of the
record plus its sequence number, so moving a record to another place in the ledger
changes its leaf as surely as editing it does. They are built from what the store
returns, both when a record is sealed and when it is verified, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from govdata.core.clock import as_utc
from govdata.security.models import AuditRecord

COLUMNS = tuple(c.name for c in AuditRecord.__table__.columns)


def leaf_content(seq: int, record: Mapping[str, Any]) -> dict[str, Any]:
    content = {c: record[c] for c in COLUMNS}
    # The only non-JSON column; microseconds always, so the text never changes shape.
    content["at"] = as_utc(record["at"]).isoformat(timespec="microseconds")
    content["seq"] = seq
    return content


def leaf_bytes(seq: int, record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        leaf_content(seq, record), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()
