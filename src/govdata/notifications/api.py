"""REST API of notifications (mounted under /api/v1): the signed-in user's own messages."""

from __future__ import annotations

from fastapi import APIRouter, Query

from govdata.notifications import actions
from govdata.notifications.schemas import NotificationOut, NotificationPage
from govdata.web.deps import CallerDep

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    caller: CallerDep,
    unread: bool = False,
    limit: int = Query(20, ge=1, le=200),
    cursor: str | None = None,
) -> NotificationPage:
    with caller.act() as ctx:
        return actions.list_notifications(ctx, unread_only=unread, limit=limit, cursor=cursor)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: str, caller: CallerDep) -> NotificationOut:
    with caller.act() as ctx:
        return actions.mark_read(ctx, notification_id)


@router.post("/notifications/read-all")
def mark_all_read(caller: CallerDep) -> dict[str, int]:
    with caller.act() as ctx:
        return {"marked": actions.mark_all_read(ctx)}
