"""Shapes the security layer returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from govdata.core.clock import DISPLAY_TZ


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str
    roles: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    client_addr: str | None
    fields: str | None
    row_count: int | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    total: int
    next_cursor: str | None


class AuditFilter(BaseModel):
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # People type times as they read them: in Beijing time.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=DISPLAY_TZ)
        return value
