"""Time: aware UTC in storage, Asia/Shanghai on screen. One place to read the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value: datetime | None) -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S")
