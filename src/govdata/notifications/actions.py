"""Sending and reading in-app notifications.

``notify`` is called by other domains' actions inside their transaction, so a
notification exists exactly when the change it reports was committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govdata.core.clock import now
from govdata.core.errors import NotFound
from govdata.core.pagination import paginate
from govdata.notifications.models import Notification
from govdata.notifications.schemas import NotificationOut, NotificationPage
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm


@dataclass(frozen=True)
class Message:
    kind: str
    title_zh: str
    title_en: str
    body: str | None = None
    link: str | None = None
    target_type: str | None = None
    target_id: str | None = None


def notify(s: Session, user_ids: list[str], message: Message) -> int:
    """Queue ``message`` for each user (once each); returns how many were written."""
    recipients = list(dict.fromkeys(u for u in user_ids if u))
    for user_id in recipients:
        s.add(
            Notification(
                user_id=user_id,
                kind=message.kind,
                title_zh=message.title_zh,
                title_en=message.title_en,
                body=message.body,
                link=message.link,
                target_type=message.target_type,
                target_id=message.target_id,
            )
        )
    return len(recipients)


def _out(n: Notification, locale: str) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        title=n.title_zh if locale.startswith("zh") else n.title_en,
        body=n.body,
        link=n.link,
        target_type=n.target_type,
        target_id=n.target_id,
        created_at=n.created_at,
        read_at=n.read_at,
    )


def _own_user(ctx: ActionContext) -> str:
    ctx.require(Perm.NOTIFICATION_READ)
    if ctx.actor.kind != "user" or ctx.actor.id is None:
        raise NotFound("没有通知", "Only users receive notifications", code="no_notifications")
    return ctx.actor.id


def unread_count(ctx: ActionContext) -> int:
    """How many of the signed-in user's notifications are unread."""
    user_id = _own_user(ctx)
    count = ctx.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


def list_notifications(
    ctx: ActionContext, *, unread_only: bool = False, limit: int = 20, cursor: str | None = None
) -> NotificationPage:
    """The signed-in user's notifications, newest first."""
    user_id = _own_user(ctx)
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = paginate(
        ctx.session,
        stmt,
        [Notification.created_at, Notification.id],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return NotificationPage(
        items=[_out(n, ctx.locale) for n in page.items],
        total=int(total),
        unread=unread_count(ctx),
        next_cursor=page.next_cursor,
    )


def mark_read(ctx: ActionContext, notification_id: str) -> NotificationOut:
    """Mark one of the user's own notifications read; 404 for anyone else's."""
    user_id = _own_user(ctx)
    n = ctx.session.get(Notification, notification_id)
    if n is None or n.user_id != user_id:
        raise NotFound("通知不存在", "Notification not found", code="notification_not_found")
    if n.read_at is None:
        n.read_at = now()
    return _out(n, ctx.locale)


def mark_all_read(ctx: ActionContext) -> int:
    user_id = _own_user(ctx)
    result = ctx.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
