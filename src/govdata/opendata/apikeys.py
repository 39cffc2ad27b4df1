"""API keys of public accounts: issue, reveal (shown once), rotate, revoke, quotas, counting.

A key is ``gdo_`` and 43 random URL-safe characters; the store keeps its SHA-256 and a
12-character prefix for display. Approval of an account's first application issues a key
without a secret, so the operator can set its quota at once; the owner reveals it on the
account page. What a key may read is not stored on the key: it is the datasets of the
owner's approved, unexpired applications, read at every use, so an expired or revoked
approval stops access at once.

Counting: one row per key and window (minute and day, Beijing time) in the metadata store,
added to in the call's own transaction with an upsert that returns the new count. A call
over the limit raises, its transaction rolls back, and so a refused call is not counted.
Anonymous callers and signed-in accounts without a key get a per-address (per-account)
per-minute window kept in this process's memory (``web.limits.SlidingWindow``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core import clock
from govdata.core.clock import DISPLAY_TZ
from govdata.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied
from govdata.opendata.account_models import OpenApiKey, OpenApplication, OpenKeyUsage
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm
from govdata.sharing.limits import QuotaExceeded, RateLimited
from govdata.web.limits import SWEEP_EVERY, SlidingWindow

KEY_PREFIX = "gdo_"
PREFIX_LENGTH = 12
AUDIT_TARGET = "open_api_key"
APPROVED = "approved"


class QuotaIn(BaseModel):
    per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    per_day: int | None = Field(default=None, ge=1, le=100_000_000)


class KeyOut(BaseModel):
    id: str
    account_id: str
    prefix: str | None
    created_at: datetime
    revealed: bool
    revoked_at: datetime | None
    last_used_at: datetime | None
    per_minute: int
    per_day: int
    custom_quota: bool
    used_today: int


class KeySecret(BaseModel):
    """The key itself, shown once."""

    key: str
    info: KeyOut


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)


def invalid_key() -> NotAuthenticated:
    return NotAuthenticated(
        "API 密钥无效或已撤销", "The API key is invalid or revoked", code="opendata_key_invalid"
    )


def granted_datasets(s: Session, account_id: str) -> frozenset[str]:
    """Datasets of the account's approved applications whose validity has not ended."""
    rows = s.scalars(
        select(OpenApplication.dataset_id).where(
            OpenApplication.account_id == account_id,
            OpenApplication.status == APPROVED,
            or_(OpenApplication.valid_until.is_(None), OpenApplication.valid_until > clock.now()),
        )
    )
    return frozenset(rows)


def active_key(s: Session, account_id: str) -> OpenApiKey | None:
    return s.scalars(
        select(OpenApiKey)
        .where(OpenApiKey.account_id == account_id, OpenApiKey.revoked_at.is_(None))
        .order_by(OpenApiKey.created_at.desc())
    ).first()


def issue_pending(s: Session, account_id: str) -> OpenApiKey:
    """The account's live key, or a new one without a secret yet (approval calls this)."""
    key = active_key(s, account_id)
    if key is None:
        key = OpenApiKey(account_id=account_id, created_at=clock.now())
        s.add(key)
        s.flush()
    return key


def lookup(s: Session, raw: str) -> OpenApiKey | None:
    """The live key with this secret, else None."""
    if not looks_like_key(raw):
        return None
    key = s.scalars(select(OpenApiKey).where(OpenApiKey.key_hash == key_hash(raw))).one_or_none()
    return key if key is not None and key.revoked_at is None else None


def limits_of(settings: Settings, key: OpenApiKey) -> tuple[int, int]:
    return (
        key.per_minute or settings.opendata_key_per_minute,
        key.per_day or settings.opendata_key_per_day,
    )


def _windows() -> tuple[str, str, datetime]:
    at = clock.now().astimezone(DISPLAY_TZ)
    return "m:" + at.strftime("%Y%m%d%H%M"), "d:" + at.strftime("%Y%m%d"), at


def used_today(s: Session, key_id: str) -> int:
    _, day, _ = _windows()
    row = s.get(OpenKeyUsage, (key_id, day))
    return int(row.calls) if row is not None else 0


def key_out(s: Session, settings: Settings, key: OpenApiKey) -> KeyOut:
    per_minute, per_day = limits_of(settings, key)
    return KeyOut(
        id=key.id,
        account_id=key.account_id,
        prefix=key.prefix,
        created_at=key.created_at,
        revealed=key.key_hash is not None,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
        per_minute=per_minute,
        per_day=per_day,
        custom_quota=key.per_minute is not None or key.per_day is not None,
        used_today=used_today(s, key.id),
    )


def keys_of(ctx: ActionContext, account_id: str) -> list[KeyOut]:
    rows = ctx.session.scalars(
        select(OpenApiKey)
        .where(OpenApiKey.account_id == account_id)
        .order_by(OpenApiKey.created_at.desc())
    )
    return [key_out(ctx.session, ctx.settings, k) for k in rows]


def _own_key(ctx: ActionContext, key_id: str) -> OpenApiKey:
    if ctx.actor.kind != "public" or ctx.actor.id is None:
        raise NotAuthenticated()
    key = ctx.session.get(OpenApiKey, key_id)
    if key is None or key.account_id != ctx.actor.id:
        raise NotFound("API 密钥不存在", "API key not found", code="opendata_key_not_found")
    if key.revoked_at is not None:
        raise Conflict("该密钥已撤销", "The key is revoked", code="opendata_key_revoked")
    return key


def _new_secret(ctx: ActionContext, key: OpenApiKey, action: str) -> KeySecret:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key.key_hash = key_hash(raw)
    key.prefix = raw[:PREFIX_LENGTH]
    key.revealed_at = clock.now()
    ctx.session.flush()
    ctx.audit(action, target_type=AUDIT_TARGET, target_id=key.id, details={"prefix": key.prefix})
    return KeySecret(key=raw, info=key_out(ctx.session, ctx.settings, key))


def reveal(ctx: ActionContext, key_id: str) -> KeySecret:
    """The first secret of a key issued on approval; later ones come from ``rotate``."""
    key = _own_key(ctx, key_id)
    if key.key_hash is not None:
        raise Conflict(
            "密钥已显示过，如遗失请轮换",
            "The key was shown already; rotate it if it is lost",
            code="opendata_key_revealed",
        )
    return _new_secret(ctx, key, "opendata.key.reveal")


def rotate(ctx: ActionContext, key_id: str) -> KeySecret:
    """A new secret for the same key (its quota and usage stay); the old one stops at once."""
    key = _own_key(ctx, key_id)
    return _new_secret(ctx, key, "opendata.key.rotate")


def revoke(ctx: ActionContext, key_id: str) -> KeyOut:
    key = _own_key(ctx, key_id)
    key.revoked_at = clock.now()
    ctx.audit("opendata.key.revoke", target_type=AUDIT_TARGET, target_id=key.id)
    return key_out(ctx.session, ctx.settings, key)


def issue(ctx: ActionContext) -> KeySecret:
    """A new key for an account holding an approved application but no live key (after a
    revocation); shown once."""
    if ctx.actor.kind != "public" or ctx.actor.id is None:
        raise NotAuthenticated()
    s = ctx.session
    if active_key(s, ctx.actor.id) is not None:
        raise Conflict(
            "已有可用密钥，请使用或轮换", "A live key exists already", code="opendata_key_exists"
        )
    if not granted_datasets(s, ctx.actor.id):
        raise PermissionDenied(
            "获批有条件开放申请后才能申领密钥",
            "A key is issued once an application is approved",
            code="opendata_key_not_eligible",
        )
    key = issue_pending(s, ctx.actor.id)
    return _new_secret(ctx, key, "opendata.key.issue")


def set_quota(ctx: ActionContext, key_id: str, data: QuotaIn) -> KeyOut:
    """The operator's per-key quota; empty values return the key to the node's defaults."""
    ctx.require(Perm.OPENDATA_MANAGE, target_id=key_id)
    key = ctx.session.get(OpenApiKey, key_id)
    if key is None:
        raise NotFound("API 密钥不存在", "API key not found", code="opendata_key_not_found")
    key.per_minute, key.per_day = data.per_minute, data.per_day
    ctx.audit(
        "opendata.key.quota",
        target_type=AUDIT_TARGET,
        target_id=key.id,
        details={"per_minute": data.per_minute, "per_day": data.per_day},
    )
    return key_out(ctx.session, ctx.settings, key)


def _add(s: Session, key_id: str, window: str) -> int:
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(OpenKeyUsage)
        .values(key_id=key_id, window=window, calls=1)
        .on_conflict_do_update(
            index_elements=[OpenKeyUsage.key_id, OpenKeyUsage.window],
            set_={"calls": OpenKeyUsage.calls + 1},
        )
        .returning(OpenKeyUsage.calls)
    )
    return int(s.execute(stmt).scalar_one())


def take(s: Session, settings: Settings, key_id: str) -> None:
    """Count one call of the key; raise ``rate_limited`` / ``quota_exceeded`` when over (the
    caller's transaction then rolls back with the count)."""
    key = s.get(OpenApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise invalid_key()
    per_minute, per_day = limits_of(settings, key)
    minute, day, at = _windows()
    if _add(s, key_id, minute) > per_minute:
        raise RateLimited(details={"limit_per_minute": per_minute, "retry_after": 60 - at.second})
    if _add(s, key_id, day) > per_day:
        midnight = (at + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise QuotaExceeded(
            details={
                "limit_per_day": per_day,
                "retry_after": max(1, int((midnight - at).total_seconds())),
            }
        )
    s.execute(update(OpenApiKey).where(OpenApiKey.id == key_id).values(last_used_at=clock.now()))


class _Windows:
    """Per-minute windows of callers without a key, one per limit value."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_limit: dict[int, SlidingWindow] = {}
        self.taken = 0

    def take(self, limit: int, who: str) -> None:
        with self.lock:
            window = self.by_limit.get(limit)
            if window is None:
                window = self.by_limit[limit] = SlidingWindow(limit, 60.0)
            at = time.monotonic()
            self.taken += 1
            if self.taken % SWEEP_EVERY == 0:
                # Addresses seen once must not grow the table without bound.
                for w in self.by_limit.values():
                    w.sweep(at)
            wait = window.wait(who, at)
            if wait > 0:
                raise RateLimited(
                    details={"limit_per_minute": limit, "retry_after": max(1, int(wait) + 1)}
                )
            window.record(who, at)


_KEYLESS = _Windows()


def take_keyless(settings: Settings, who: str) -> None:
    _KEYLESS.take(settings.opendata_anonymous_per_minute, who)
