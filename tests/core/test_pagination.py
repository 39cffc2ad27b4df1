"""Keyset pagination walks every row once, in order, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.core.db import Database
from govdata.core.errors import InvalidInput
from govdata.core.pagination import encode_cursor, paginate
from govdata.security.audit import write_audit
from govdata.security.context_types import SYSTEM
from govdata.security.models import AuditRecord


def _seed(db: Database, n: int) -> None:
    with db.transaction() as s:
        for i in range(n):
            write_audit(s, SYSTEM, f"a{i % 3}", target_id=str(i))


@pytest.mark.parametrize("descending", [False, True])
def test_pages_cover_all_rows_once(db: Database, descending: bool) -> None:
    _seed(db, 23)
    keys = [AuditRecord.action, AuditRecord.id]
    seen: list[tuple[str, str]] = []
    cursor = None
    pages = 0
    with db.sessions() as s:
        while True:
            page = paginate(
                s, select(AuditRecord), keys, limit=5, cursor=cursor, descending=descending
            )
            seen += [(r.action, r.id) for r in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert seen == sorted(seen, reverse=descending)


def test_datetime_keys_round_trip_through_the_cursor(db: Database) -> None:
    _seed(db, 7)
    keys = [AuditRecord.at, AuditRecord.id]
    with db.sessions() as s:
        first = paginate(s, select(AuditRecord), keys, limit=4)
        assert first.next_cursor
        second = paginate(s, select(AuditRecord), keys, limit=4, cursor=first.next_cursor)
    ids = [r.id for r in first.items + second.items]
    assert len(set(ids)) == 7


@pytest.mark.parametrize("cursor", ["not-base64!!", encode_cursor(["only-one"]), "e30="])
def test_bad_cursor_is_invalid_input(db: Database, cursor: str) -> None:
    with db.sessions() as s, pytest.raises(InvalidInput) as err:
        paginate(s, select(AuditRecord), [AuditRecord.action, AuditRecord.id], cursor=cursor)
    assert err.value.code == "invalid_cursor"


@pytest.mark.parametrize("limit", [0, 201])
def test_limit_bounds(db: Database, limit: int) -> None:
    with db.sessions() as s, pytest.raises(InvalidInput) as err:
        paginate(s, select(AuditRecord), [AuditRecord.id], limit=limit)
    assert err.value.code == "invalid_limit"
