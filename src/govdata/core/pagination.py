"""Keyset pagination: stable pages over large tables without OFFSET scans.

The cursor is the last row's sort key and id, base64-encoded JSON; ids are
UUIDv7 so (key, id) is a total order.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from govdata.core.db import UTCDateTime
from govdata.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "分页游标无效", "Invalid pagination cursor", code="invalid_cursor"
        ) from exc
    if not isinstance(values, list):
        raise InvalidInput("分页游标无效", "Invalid pagination cursor", code="invalid_cursor")
    return values


def _restore(key: InstrumentedAttribute[Any], value: Any) -> Any:
    if isinstance(key.type, UTCDateTime) and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(
                "分页游标无效", "Invalid pagination cursor", code="invalid_cursor"
            ) from exc
    return value


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"每页条数须在 1 到 {MAX_LIMIT} 之间",
            f"limit must be between 1 and {MAX_LIMIT}",
            code="invalid_limit",
        )
    return limit


def paginate(
    session: Session,
    stmt: Select[T],
    keys: list[InstrumentedAttribute[Any]],
    *,
    limit: int = 50,
    cursor: str | None = None,
    descending: bool = False,
) -> Page[T]:
    """Run ``stmt`` one page at a time, ordered by ``keys`` (the last must be unique).

    Works for both directions; every key sorts the same way.
    """
    limit = check_limit(limit)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != len(keys):
            raise InvalidInput("分页游标无效", "Invalid pagination cursor", code="invalid_cursor")
        values = [_restore(k, v) for k, v in zip(keys, values, strict=True)]
        # (k1, k2, ...) > (v1, v2, ...) expanded, since SQLite lacks row-value
        # comparison on older builds and the planner uses the index either way.
        clauses = []
        for i, key in enumerate(keys):
            eqs = [keys[j] == values[j] for j in range(i)]
            cmp = key < values[i] if descending else key > values[i]
            clauses.append(and_(*eqs, cmp))
        stmt = stmt.where(or_(*clauses))
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_plain(getattr(last, k.key)) for k in keys])
    return Page(items=rows, next_cursor=next_cursor)
