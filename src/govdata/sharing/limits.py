"""Per-app rate limits and daily quotas on the data-service API.

Counted in the metadata store (``sharing_api_usage``: one row per caller per minute and per
day), so every web process of a node shares the count. Each process counts its own calls in
memory and adds them to the store at most once a second (``flush``, inside the call's audit
transaction): a count row updated by every call of a busy app would make its calls wait on
each other's row lock. So a process sees the other processes' calls up to a second late,
and a crash forgets at most a second of calls — slack a rate limit can afford. A refused
call is not counted. Apps without a limit of their own get the node's defaults.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.identity import queries as org
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing.common import department_scope
from govdata.sharing.models import ApiUsage, AppLimit
from govdata.sharing.schemas import AppLimitIn, AppLimitOut


class RateLimited(GovDataError):
    code = "rate_limited"
    status = 429
    message_zh = "调用过于频繁，请稍后再试"
    message_en = "Too many requests; try again later"


class QuotaExceeded(RateLimited):
    code = "quota_exceeded"
    message_zh = "今日调用次数已用完"
    message_en = "The daily quota is used up"


def _windows() -> tuple[str, str]:
    at = now().astimezone(DISPLAY_TZ)
    return "m:" + at.strftime("%Y%m%d%H%M"), "d:" + at.strftime("%Y%m%d")


def _add(s: Session, caller_id: str, window: str, calls: int) -> int:
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(ApiUsage)
        .values(caller_id=caller_id, window=window, calls=calls, rows=0)
        .on_conflict_do_update(
            index_elements=[ApiUsage.caller_id, ApiUsage.window],
            set_={"calls": ApiUsage.calls + calls},
        )
        .returning(ApiUsage.calls)
    )
    return int(s.execute(stmt).scalar_one())


class _Meter:
    """This process's calls not yet in the store, and the store's counts as last seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: Counter[tuple[str, str]] = Counter()
        self.known: dict[tuple[str, str], int] = {}
        self.synced = 0.0

    def take(self, caller_id: str, per_minute: int, per_day: int) -> None:
        minute, day = _windows()
        with self.lock:
            used = {
                w: self.known.get((caller_id, w), 0) + self.pending[(caller_id, w)]
                for w in (minute, day)
            }
            if used[minute] + 1 > per_minute:
                seconds = 60 - now().astimezone(DISPLAY_TZ).second
                raise RateLimited(details={"limit_per_minute": per_minute, "retry_after": seconds})
            if used[day] + 1 > per_day:
                raise QuotaExceeded(details={"limit_per_day": per_day})
            self.pending[(caller_id, minute)] += 1
            self.pending[(caller_id, day)] += 1

    def flush(self, s: Session, *, force: bool = False) -> None:
        with self.lock:
            if not force and time.monotonic() - self.synced < FLUSH_SECONDS:
                return
            batch, self.pending = self.pending, Counter()
            self.synced = time.monotonic()
            current = set(_windows())
            # Windows that have passed are no longer checked against.
            self.known = {k: v for k, v in self.known.items() if k[1] in current}
        for (caller_id, window), calls in sorted(batch.items()):
            total = _add(s, caller_id, window, calls)
            if window in current:
                with self.lock:
                    # The store's total now holds this batch; calls taken since are pending.
                    self.known[(caller_id, window)] = total


FLUSH_SECONDS = 1.0
_METER = _Meter()


def limits_of(s: Session, settings: Settings, credential_id: str) -> tuple[int, int]:
    row = s.get(AppLimit, credential_id)
    if row is None:
        return settings.data_api_per_minute, settings.data_api_per_day
    return row.per_minute, row.per_day


def consume(s: Session, settings: Settings, caller_id: str, *, is_app: bool) -> None:
    """Count one call; raise ``rate_limited`` / ``quota_exceeded`` when over. Call it last,
    once the call is known to be served: a refused call must not count."""
    per_minute, per_day = (
        limits_of(s, settings, caller_id)
        if is_app
        else (settings.data_api_per_minute, settings.data_api_per_day)
    )
    _METER.take(caller_id, per_minute, per_day)


def flush(s: Session, *, force: bool = False) -> None:
    """Add this process's counted calls to the store if a second has passed (or ``force``)."""
    _METER.flush(s, force=force)


def _usage(s: Session, caller_id: str) -> tuple[int, int]:
    minute, day = _windows()
    rows = dict(
        s.execute(
            select(ApiUsage.window, ApiUsage.calls).where(
                ApiUsage.caller_id == caller_id, ApiUsage.window.in_([minute, day])
            )
        ).all()
    )
    return int(rows.get(minute, 0)), int(rows.get(day, 0))


def _credential_department(ctx: ActionContext, credential_id: str) -> str:
    dept = org.credential_department(ctx.session, credential_id)
    if dept is None:
        raise InvalidInput(
            "应用凭证不存在",
            "Unknown app credential",
            code="credential_not_found",
            details={"credential_id": credential_id},
        )
    return dept


def get_limit(ctx: ActionContext, credential_id: str) -> AppLimitOut:
    """An app's limits and what it used this minute and today (its department or operator)."""
    ctx.require(Perm.CREDENTIAL_READ)
    dept = _credential_department(ctx, credential_id)
    ctx.require(Perm.CREDENTIAL_READ, department_scope(ctx.session, dept), target_id=credential_id)
    per_minute, per_day = limits_of(ctx.session, ctx.settings, credential_id)
    flush(ctx.session, force=True)
    minute, day = _usage(ctx.session, credential_id)
    return AppLimitOut(
        credential_id=credential_id,
        per_minute=per_minute,
        per_day=per_day,
        used_this_minute=minute,
        used_today=day,
    )


def set_limit(ctx: ActionContext, credential_id: str, data: AppLimitIn) -> AppLimitOut:
    """The operator sets an app's rate limit and daily quota."""
    ctx.require(Perm.SHARING_MANAGE)
    _credential_department(ctx, credential_id)
    row = ctx.session.get(AppLimit, credential_id)
    if row is None:
        row = AppLimit(credential_id=credential_id)
        ctx.session.add(row)
    row.per_minute = data.per_minute
    row.per_day = data.per_day
    row.updated_at = now()
    ctx.audit(
        "sharing.app_limit.set",
        target_type="credential",
        target_id=credential_id,
        details=data.model_dump(),
    )
    ctx.session.flush()
    return get_limit(ctx, credential_id)
