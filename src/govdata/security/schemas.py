"""Shapes the security layer returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    # Acts of the department's users and apps.
    department_id: str | None = None
    # A catalog entry by id or resource code: records about it, data reads of it included.
    entry: str | None = None
    # One data record's key: the data-service reads and checks that handed it out.
    key: str | None = Field(None, max_length=128)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # People type times as they read them: in Beijing time.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=DISPLAY_TZ)
        return value
