"""Registered source systems: where a department's data lives and how to reach it.

Connection settings that are not secret (host, port, database, path, URL, paging)
are kept as JSON in ``config``; passwords and tokens only ever as an SM4 envelope
in ``secret`` (see ``sources/secrets.py``), never in logs, audit records or the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class SourceSystem(IdMixin, TimestampMixin, Base):
    __tablename__ = "source_systems"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # SourceKind
    description: Mapped[str | None] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="untested")  # SourceStatus
    last_checked_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
