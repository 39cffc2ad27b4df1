"""Named counters for human codes (application numbers, ticket numbers): they only grow."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.db import Base


class Counter(Base):
    __tablename__ = "core_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def next_value(s: Session, name: str) -> int:
    """The next value of counter ``name`` (1 first), taken inside the caller's transaction."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Counter)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    return int(s.execute(stmt).scalar_one())


def daily_code(s: Session, prefix: str) -> str:
    """``<prefix><yyyymmdd><4+ digits>`` numbered per prefix and Beijing day: SQ202612060001."""
    day = now().astimezone(DISPLAY_TZ).strftime("%Y%m%d")
    return f"{prefix}{day}{next_value(s, f'{prefix}:{day}'):04d}"
