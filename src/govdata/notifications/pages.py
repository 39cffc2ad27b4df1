"""Portal page of the signed-in user's notifications, and marking them read."""

from __future__ import annotations

from fastapi import Response

from govdata.notifications import actions
from govdata.web.portal import PortalRouter, UserForm, UserPage, safe_next

router = PortalRouter()

PAGE_SIZE = 20


@router.get("/notifications")
def notifications(page: UserPage, unread: str = "", cursor: str = "") -> Response:
    with page.act() as ctx:
        result = actions.list_notifications(
            ctx, unread_only=bool(unread), limit=PAGE_SIZE, cursor=cursor or None
        )
    return page.render(
        "notifications/notifications.html",
        result=result,
        unread_only=bool(unread),
        cursor=cursor,
        base_query="unread=1" if unread else "",
    )


@router.post("/notifications/read-all")
def read_all(page: UserForm) -> Response:
    with page.act() as ctx:
        actions.mark_all_read(ctx)
    return page.redirect("/notifications", notice="notifications_read")


@router.post("/notifications/{notification_id}/open")
def open_notification(page: UserForm, notification_id: str) -> Response:
    """Mark one read and go where it points (its link, else back to the list)."""
    with page.act() as ctx:
        note = actions.mark_read(ctx, notification_id)
    return page.redirect(safe_next(note.link, "/notifications"))


@router.get("/notifications/badge")
def badge(page: UserPage) -> Response:
    """The unread count for the header's bell; fetched after the page loads, so pages never wait
    for it."""
    with page.act() as ctx:
        count = actions.unread_count(ctx)
    return page.render("notifications/_badge.html", count=count)
