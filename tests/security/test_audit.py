"""Audit records can be added, never changed or removed — not even with plain SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from govdata.core.db import Database
from govdata.security.audit import write_audit
from govdata.security.context_types import SYSTEM
from govdata.security.models import AuditRecord


def test_audit_write_keeps_fields(db: Database) -> None:
    with db.transaction() as s:
        rec = write_audit(
            s,
            SYSTEM,
            "user.create",
            target_type="user",
            target_id="u1",
            client_addr="10.0.0.1",
            fields=["name", "phone"],
            row_count=3,
            details={"k": "v"},
        )
    with db.sessions() as s:
        got = s.get(AuditRecord, rec.id)
        assert got is not None
        assert (got.actor_kind, got.action, got.target_id, got.outcome) == (
            "system",
            "user.create",
            "u1",
            "success",
        )
        assert got.fields == "name,phone" and got.row_count == 3 and got.details == {"k": "v"}
        assert got.at.tzinfo is not None


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_records SET outcome = 'denied'", "DELETE FROM audit_records"],
)
def test_audit_records_are_append_only(db: Database, sql: str) -> None:
    with db.transaction() as s:
        write_audit(s, SYSTEM, "x.y")
    with pytest.raises(DatabaseError, match="append-only"), db.transaction() as s:
        s.execute(text(sql))
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == 1
        assert s.scalar(select(AuditRecord.outcome)) == "success"
