"""Portal pages of the annual open list and of reuses (优秀应用).

Public (``/open/…``, any visitor): the approved open list with its progress, the reuse
showcase and one reuse's page (views counted, rating for signed-in public accounts), the
submission form (public accounts; others are sent to ``/open/login``) and screenshots.
Workbench (``/opendata/…``): officers propose list items and the operator reviews and
approves; the operator's reuse queue (review, feature, unpublish). Thin shells over
``opendata.openlist`` and ``opendata.reuses``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Response
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from govdata.catalog import vocab as catalog_vocab
from govdata.core import i18n
from govdata.core.errors import GovDataError, NotFound
from govdata.identity import actions as identity_actions
from govdata.opendata import openlist, reuses
from govdata.opendata.access import OPENABLE_TYPES
from govdata.opendata.openlist import ItemIn, ItemReviewIn, LinkEntryIn
from govdata.opendata.public_session import current_public_user
from govdata.opendata.public_web import PublicPage, render
from govdata.opendata.reuses import (
    RatingIn,
    ReuseFeatureIn,
    ReuseIn,
    ReuseReviewIn,
    ReuseUnpublishIn,
    Upload,
)
from govdata.opendata.vocab import label
from govdata.security.context import Caller
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm
from govdata.sharing.pages.common import refusal
from govdata.web.portal import AnyForm, Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

PAGE_SIZE = 12
TONE = {
    "opened": "green",
    "overdue": "red",
    "planned": "blue",
    "proposed": "amber",
    "accepted": "green",
    "rejected": "gray",
    "pending": "amber",
    "approved": "green",
    "unpublished": "gray",
    "draft": "amber",
}
LIST_LABELS = {
    "entry": N_("Catalog entry"),
    "name": N_("Planned dataset name"),
    "description": N_("Description"),
    "planned_date": N_("Planned opening date"),
    "open_type": N_("Open type"),
    "department_id": N_("Department"),
    "reason": N_("Reason"),
}
REUSE_LABELS = {
    "name": N_("Application name"),
    "description": N_("Description"),
    "url": N_("Application link"),
    "datasets": N_("Datasets used"),
    "stars": N_("User rating"),
    "reason": N_("Reason"),
}
DONE = {
    "proposed": N_("Item proposed: the operator reviews it."),
    "added": N_("Item added to the list."),
    "reviewed": N_("Review recorded."),
    "linked": N_("Catalog entry linked."),
    "withdrawn": N_("Item withdrawn."),
    "approved": N_("The list is approved and public."),
    "created": N_("The year's list was started."),
    "submitted": N_("Thank you: your application awaits review."),
    "rated": N_("Your rating was saved."),
    "featured": N_("Featuring changed."),
    "unpublished": N_("The application was unpublished."),
}


def _notice(page: Page) -> str | None:
    message = DONE.get(page.request.query_params.get("done", ""))
    return i18n.translations(page.locale).gettext(message) if message else None


def _tone(value: object) -> str:
    return TONE.get(str(value), "gray")


def public_caller(page: Page) -> Caller | None:
    """The signed-in public account as an actor of kind ``public``, if any."""
    user = current_public_user(page.request)
    if user is None:
        return None
    actor = Actor(kind="public", id=user.id, name=user.display_name, locale=page.locale)
    return Caller(page.caller.db, page.caller.settings, actor, page.caller.client_addr)


def login_url(next_path: str) -> str:
    return "/open/login?" + urlencode({"next": next_path}, quote_via=quote)


# -- the public open list ------------------------------------------------------------------


def _open_list(page: Page, year: int | None) -> Response:
    with page.caller.db.sessions() as s:
        years = openlist.public_years(s, page.locale)
        try:
            lst = openlist.public_list(s, year, page.locale)
        except NotFound:
            if year is not None:
                raise
            lst = None
    return render(page, "opendata/openlist.html", lst=lst, years=years, tone=_tone)


@router.get("/open/open-list")
def open_list_latest(page: PublicPage) -> Response:
    return _open_list(page, None)


@router.get("/open/open-list/{year}")
def open_list_year(page: PublicPage, year: int) -> Response:
    return _open_list(page, year)


# -- the public showcase -------------------------------------------------------------------


@router.get("/open/reuses")
def showcase(page: PublicPage, dataset: str = "", topic: str = "", p: int = 1) -> Response:
    p = max(1, p)
    error = None
    with page.caller.db.sessions() as s:
        facets = reuses.showcase_facets(s)
        try:
            result = reuses.list_public(
                s,
                dataset=dataset.strip() or None,
                topic=topic.strip()[:20] or None,
                limit=PAGE_SIZE,
                offset=(p - 1) * PAGE_SIZE,
                locale=page.locale,
            )
        except NotFound as exc:
            error = page.message(exc)
            result = reuses.ReusePage(items=[], total=0, offset=0, limit=PAGE_SIZE)
    query = urlencode({k: v for k, v in (("dataset", dataset), ("topic", topic)) if v})
    return render(
        page,
        "opendata/showcase.html",
        result=result,
        facets=facets,
        filters={"dataset": dataset, "topic": topic},
        error=error,
        page_no=p,
        pages=max(1, -(-result.total // PAGE_SIZE)),
        base_query=query,
        signed_in=current_public_user(page.request) is not None,
        tone=_tone,
    )


def _new_form(
    page: Page, *, error: str | None = None, status: int = 200, typed: dict[str, Any] | None = None
) -> Response:
    with page.caller.db.sessions() as s:
        choices = reuses.dataset_choices(s)
    return render(
        page,
        "opendata/reuse_new.html",
        status=status,
        error=error,
        typed=typed or {"datasets": [page.request.query_params.get("dataset", "")]},
        choices=choices,
        max_shots=reuses.MAX_SCREENSHOTS,
    )


@router.get("/open/reuses/new")
def reuse_new(page: PublicPage) -> Response:
    if current_public_user(page.request) is None:
        return page.redirect(login_url("/open/reuses/new"))
    return _new_form(page)


def _uploads(page: Page) -> list[Upload]:
    out = []
    for value in page.form.getlist("screenshots") if page.form is not None else []:
        if isinstance(value, UploadFile) and value.filename:
            # One byte over the limit is enough to refuse: never read a huge file whole.
            out.append(Upload(value.filename, value.file.read(reuses.MAX_SCREENSHOT_BYTES + 1)))
    return out


@router.post("/open/reuses/new")
def reuse_submit(page: AnyForm) -> Response:
    who = public_caller(page)
    if who is None:
        return page.redirect(login_url("/open/reuses/new"))
    raw = {
        "name": page.field("name"),
        "description": page.field("description"),
        "url": page.field("url"),
        "datasets": [d for d in page.fields("datasets") if d.strip()],
    }
    try:
        data = parse(ReuseIn, raw, REUSE_LABELS)
        with who.act() as ctx:
            out = reuses.submit_reuse(ctx, data, _uploads(page))
    except GovDataError as exc:
        return _new_form(page, error=exc.message(page.locale), status=exc.status, typed=raw)
    return page.redirect(f"/open/reuses/{out.id}?done=submitted")


@router.get("/open/reuses/{reuse_id}")
def reuse_page(page: PublicPage, reuse_id: str) -> Response:
    return _reuse_detail(page, reuse_id)


def _reuse_detail(
    page: Page, reuse_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    who = public_caller(page)
    with (who or page.caller).act() as ctx:
        r = reuses.view_reuse(ctx, reuse_id, page.locale)
    return render(
        page,
        "opendata/reuse.html",
        status=status,
        r=r,
        error=error,
        signed_in=who is not None,
        login=login_url(f"/open/reuses/{reuse_id}"),
        notice=_notice(page),
        tone=_tone,
    )


@router.post("/open/reuses/{reuse_id}/rate")
def reuse_rate(page: AnyForm, reuse_id: str) -> Response:
    who = public_caller(page)
    if who is None:
        return page.redirect(login_url(f"/open/reuses/{reuse_id}"))
    try:
        data = parse(RatingIn, {"stars": page.field("stars")}, REUSE_LABELS)
        with who.act() as ctx:
            reuses.rate_reuse(ctx, reuse_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _reuse_detail(page, reuse_id, error=exc.message(page.locale), status=exc.status)
    return page.redirect(f"/open/reuses/{reuse_id}?done=rated")


@router.get("/open/reuses/{reuse_id}/screenshots/{shot_id}")
def reuse_screenshot(page: PublicPage, reuse_id: str, shot_id: str) -> Response:
    who = public_caller(page)
    actor = who.actor if who is not None else page.actor
    with page.caller.db.sessions() as s:
        path, media = reuses.screenshot_file(s, page.caller.settings, actor, reuse_id, shot_id)
    private = "public, max-age=600" if actor.kind == "anonymous" else "private, no-store"
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": private, "X-Content-Type-Options": "nosniff"},
    )


# -- the workbench: the open list ----------------------------------------------------------


def _departments(page: Page) -> list[tuple[str, str]]:
    if not page.can(Perm.OPENDATA_MANAGE):
        return []
    with page.act() as ctx:
        found = identity_actions.list_departments(ctx, limit=200)
    return [(d.id, d.name) for d in found.items]


def _manage_list(
    page: Page,
    year: int | None,
    *,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    with page.act() as ctx:
        years = openlist.list_years(ctx)
        chosen = year or (years[0].year if years else openlist.today().year)
        try:
            lst = openlist.get_list(ctx, chosen)
        except NotFound:
            lst = None
        entries = openlist.proposable_entries(ctx)
    operator = page.can(Perm.OPENDATA_MANAGE)
    locked = lst is not None and lst.status == "approved"
    return page.render(
        "opendata/openlist_manage.html",
        status=status,
        lst=lst,
        year=chosen,
        years=years,
        entries=entries,
        departments=_departments(page),
        operator=operator,
        may_propose=operator or not locked,
        open_types=[(v, catalog_vocab.label("open_type", v, page.locale)) for v in OPENABLE_TYPES],
        error=error,
        typed=typed or {},
        notice=_notice(page),
        tone=_tone,
    )


@router.get("/opendata/open-list")
def manage_list(page: UserPage, year: int | None = None) -> Response:
    return _manage_list(page, year)


@router.post("/opendata/open-list/create")
def manage_create(page: UserForm) -> Response:
    year_text = page.field("year")
    try:
        with page.act() as ctx:
            out = openlist.create_list(ctx, int(year_text) if year_text.isdigit() else 0)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _manage_list(page, None, error=page.message(exc), status=exc.status)
    return page.redirect(f"/opendata/open-list?year={out.year}&done=created")


@router.post("/opendata/open-list/{year}/items")
def manage_propose(page: UserForm, year: int) -> Response:
    raw = {
        "entry": page.field("entry") or None,
        "name": page.field("name") or None,
        "description": page.field("description") or None,
        "planned_date": page.field("planned_date"),
        "open_type": page.field("open_type") or None,
        "department_id": page.field("department_id") or None,
    }
    typed = {k: v or "" for k, v in raw.items()}
    try:
        data = parse(ItemIn, raw, LIST_LABELS)
        with page.act() as ctx:
            out = openlist.propose_item(ctx, year, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _manage_list(page, year, error=page.message(exc), status=exc.status, typed=typed)
    done = "added" if out.status == "accepted" else "proposed"
    return page.redirect(f"/opendata/open-list?year={year}&done={done}")


@router.post("/opendata/open-list/{year}/approve")
def manage_approve(page: UserForm, year: int) -> Response:
    try:
        with page.act() as ctx:
            openlist.approve_list(ctx, year)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _manage_list(page, year, error=page.message(exc), status=exc.status)
    return page.redirect(f"/opendata/open-list?year={year}&done=approved")


ItemStep = tuple[type[BaseModel] | None, Callable[..., Any], Callable[[Page], dict[str, Any]], str]
ITEM_STEPS: dict[str, ItemStep] = {
    "review": (
        ItemReviewIn,
        openlist.review_item,
        lambda p: {"accept": p.field("verdict") == "accept", "reason": p.field("reason") or None},
        "reviewed",
    ),
    "link": (LinkEntryIn, openlist.link_entry, lambda p: {"entry": p.field("entry")}, "linked"),
    "withdraw": (None, openlist.withdraw_item, lambda p: {}, "withdrawn"),
}


@router.post("/opendata/open-list/items/{item_id}/{step}")
def manage_item(page: UserForm, item_id: str, step: str) -> Response:
    year_text = page.field("year")
    year = int(year_text) if year_text.isdigit() else None
    found = ITEM_STEPS.get(step)
    if found is None:
        raise NotFound("页面不存在", "Page not found")
    model, action, read, done = found
    try:
        with page.act() as ctx:
            if model is None:
                action(ctx, item_id)
            else:
                action(ctx, item_id, parse(model, read(page), LIST_LABELS))
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _manage_list(page, year, error=page.message(exc), status=exc.status)
    return page.redirect(f"/opendata/open-list?year={year or ''}&done={done}")


# -- the workbench: the reuse queue --------------------------------------------------------

STATUSES = tuple(s.value for s in reuses.ReuseStatus)


def _queue(page: Page, status: str = "", *, error: str | None = None, code: int = 200) -> Response:
    chosen = status if status in STATUSES else ""
    with page.act() as ctx:
        result = reuses.list_admin(ctx, status=chosen or None, limit=100)
    return page.render(
        "opendata/reuse_manage.html",
        status=code,
        result=result,
        statuses=[(s, label(reuses.LABELS, s, page.locale)) for s in STATUSES],
        chosen=chosen,
        error=error,
        notice=_notice(page),
        tone=_tone,
    )


@router.get("/opendata/reuses")
def reuse_queue(page: UserPage, status: str = "") -> Response:
    return _queue(page, status)


REUSE_STEPS: dict[
    str, tuple[type[BaseModel], Callable[..., Any], Callable[[Page], dict[str, Any]], str]
] = {
    "review": (
        ReuseReviewIn,
        reuses.review_reuse,
        lambda p: {"approve": p.field("verdict") == "approve", "reason": p.field("reason") or None},
        "reviewed",
    ),
    "feature": (
        ReuseFeatureIn,
        reuses.feature_reuse,
        lambda p: {"featured": p.field("featured") == "1"},
        "featured",
    ),
    "unpublish": (
        ReuseUnpublishIn,
        reuses.unpublish_reuse,
        lambda p: {"reason": p.field("reason")},
        "unpublished",
    ),
}


@router.post("/opendata/reuses/{reuse_id}/{step}")
def reuse_step(page: UserForm, reuse_id: str, step: str) -> Response:
    found = REUSE_STEPS.get(step)
    if found is None:
        raise NotFound("页面不存在", "Page not found")
    model, action, read, done = found
    try:
        data = parse(model, read(page), REUSE_LABELS)
        with page.act() as ctx:
            action(ctx, reuse_id, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _queue(page, error=page.message(exc), code=exc.status)
    return page.redirect(f"/opendata/reuses?done={done}")
