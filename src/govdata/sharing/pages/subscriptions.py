"""Subscription pages (订阅): what the department subscribes to and what others subscribe to
from it; the form that starts a subscription from a held grant; one subscription with its
freshness, delivery history and delivered files, and what the consumer may do with it (sync
now, pause, resume, delete). The provider sees the same page read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Response
from fastapi.responses import FileResponse

from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.exchange.vocab import RUN_LABELS
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Scope
from govdata.sharing import grants, subscriptions
from govdata.sharing.delivery import ACTIVE_RUNS
from govdata.sharing.pages.common import (
    PAGE_SIZE,
    context,
    done_notice,
    refusal,
    scopes,
    values_of,
)
from govdata.sharing.schemas import GrantOut, SubscriptionCreate, SubscriptionOut
from govdata.sharing.vocab import GrantStatus, SubscriptionMode, SubscriptionState
from govdata.sources import actions as source_actions
from govdata.sources.schemas import SourceOut
from govdata.web.portal import Page, PortalRouter, UserForm, UserPage, parse
from govdata.web.templating import N_

router = PortalRouter()

FORMATS = ("csv", "parquet")
# What sharing.delivery can write a table into.
TARGET_KINDS = ("mariadb", "postgresql", "sqlite")
SOURCES_SHOWN = 200
RUNS_SHOWN = 50
# While a delivery is queued or running, the page asks for fresh figures this often.
POLL_SECONDS = 3
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
FIELDS = ("name", "mode", "target_source_id", "target_table", "file_format", "schedule")
CREATE_LABELS = {
    "name": N_("Name"),
    "mode": N_("Delivery mode"),
    "target_source_id": N_("Target database"),
    "target_table": N_("Target table"),
    "file_format": N_("File format"),
    "schedule": N_("Schedule"),
}
MODE_LABELS = {
    SubscriptionMode.TABLE.value: N_("Database table"),
    SubscriptionMode.FILE.value: N_("Files"),
}
RUN_NAMES = {str(status): pair for status, pair in RUN_LABELS.items()}
STATE_TONE = {"active": "green", "paused": "amber", "ended": "gray"}
RUN_TONE = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "gray",
}
DONE = {
    "created": N_("Subscription created. The first delivery is queued."),
    "run_queued": N_("Delivery queued."),
    "paused": N_("Subscription paused."),
    "resumed": N_("Subscription resumed. A delivery is queued to catch up."),
    "deleted": N_("Subscription deleted."),
}


# -- shared by the pages --------------------------------------------------------------------


def lag_text(seconds: float | None, locale: str) -> str:
    """How old the delivered data was on arrival, in its largest whole unit ("3 秒")."""
    if seconds is None:
        return "—"
    tr = i18n.translations(locale)
    n = int(seconds)
    if n < 60:
        text = tr.ngettext("%(num)d second", "%(num)d seconds", n)
    elif n < 3600:
        n //= 60
        text = tr.ngettext("%(num)d minute", "%(num)d minutes", n)
    elif n < 86400:
        n //= 3600
        text = tr.ngettext("%(num)d hour", "%(num)d hours", n)
    else:
        n //= 86400
        text = tr.ngettext("%(num)d day", "%(num)d days", n)
    return text % {"num": n}


def fmt_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def helpers(page: Page) -> dict[str, Any]:
    locale = page.locale

    def tone(tones: dict[str, str]) -> Callable[[object], str]:
        return lambda value: tones.get(str(value), "gray")

    def run_label(status: object) -> str:
        pair = RUN_NAMES.get(str(status))
        return str(status) if pair is None else pair[1] if locale == "en" else pair[0]

    return {
        **context(page),
        "lag": lambda seconds: lag_text(seconds, locale),
        "mode_label": lambda mode: MODE_LABELS.get(str(mode), str(mode)),
        "run_label": run_label,
        "run_tone": tone(RUN_TONE),
        "state_tone": tone(STATE_TONE),
        "fmt_size": fmt_size,
        "active_runs": ACTIVE_RUNS,
        "poll_seconds": POLL_SECONDS,
    }


def target_names(page: Page, subs: list[SubscriptionOut]) -> dict[str, str]:
    """Names of the target databases the viewer may read about; others show by table only."""
    wanted = {s.target_source_id: s.consumer_department_id for s in subs if s.target_source_id}
    if not wanted:
        return {}
    departments = sorted(set(wanted.values()))
    readable = {
        d
        for d, scope in zip(departments, scopes(page, *departments), strict=True)
        if page.actor.can(Perm.SOURCE_READ, scope)
    }
    names: dict[str, str] = {}
    with page.act() as ctx:
        for source_id, department_id in wanted.items():
            if department_id not in readable:
                continue
            try:
                names[source_id] = source_actions.get_source(ctx, source_id).name
            except GovDataError:
                continue  # removed since: the table name still says where data went
    return names


# -- lists ----------------------------------------------------------------------------------


def _sides(page: Page) -> list[str]:
    if not page.actor.department_id:
        return ["all"]
    return ["held", "given"] + (["all"] if page.can(Perm.SHARING_MANAGE) else [])


@router.get("/sharing/subscriptions")
def subscriptions_page(page: UserPage, side: str = "", cursor: str = "") -> Response:
    """我订阅的 (held) and 向我订阅的 (given); the operator sees every side in its scope."""
    sides = _sides(page)
    chosen = side if side in sides else sides[0]
    with page.act() as ctx:
        result = subscriptions.list_subscriptions(
            ctx, side=None if chosen == "all" else chosen, limit=PAGE_SIZE, cursor=cursor or None
        )
    return page.render(
        "sharing/subscriptions.html",
        result=result,
        sides=sides,
        side=chosen,
        targets=target_names(page, result.items),
        base_query=urlencode({"side": chosen}),
        cursor=cursor,
        notice=done_notice(page, DONE),
        **helpers(page),
    )


# -- subscribing ----------------------------------------------------------------------------


def _grant_to_subscribe(page: Page, grant_id: str) -> tuple[GrantOut, Scope]:
    with page.act() as ctx:
        grant = grants.get_grant(ctx, grant_id)
    (consumer,) = scopes(page, grant.consumer_department_id)
    with page.act() as ctx:
        ctx.require(Perm.SHARING_APPLY, consumer, target_id=grant.id)
    return grant, consumer


def offered_modes(grant: GrantOut) -> list[str]:
    """The subscription modes an active grant's delivery modes allow."""
    if grant.status != GrantStatus.ACTIVE:
        return []
    return [
        mode.value
        for mode, needs in subscriptions.MODE_NEEDS.items()
        if needs.value in grant.delivery_modes
    ]


def _targets(page: Page, consumer: Scope) -> list[SourceOut]:
    """The consumer department's databases a table subscription may write into."""
    actor = page.actor
    if not (actor.can(Perm.EXCHANGE_MANAGE, consumer) and actor.can(Perm.SOURCE_READ, consumer)):
        return []
    with page.act() as ctx:
        found = source_actions.list_sources(
            ctx, department_id=consumer.department_id, limit=SOURCES_SHOWN
        )
    return [s for s in found.items if s.kind in TARGET_KINDS]


def _new_page(
    page: Page,
    grant: GrantOut,
    consumer: Scope,
    typed: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "sharing/subscription_new.html",
        status=status,
        grant=grant,
        modes=offered_modes(grant),
        # A table target writes into the department's own system: officers only.
        table_allowed=page.actor.can(Perm.EXCHANGE_MANAGE, consumer),
        targets=_targets(page, consumer),
        formats=FORMATS,
        typed=typed,
        error=error,
        **helpers(page),
    )


@router.get("/sharing/subscriptions/new")
def new_subscription(page: UserPage, grant_id: str) -> Response:
    grant, consumer = _grant_to_subscribe(page, grant_id)
    usable = [
        m
        for m in offered_modes(grant)
        if m != SubscriptionMode.TABLE or page.actor.can(Perm.EXCHANGE_MANAGE, consumer)
    ]
    typed = {
        "name": grant.entry_name[:128],
        "mode": usable[0] if usable else "",
        "file_format": "csv",
    }
    return _new_page(page, grant, consumer, typed)


@router.post("/sharing/subscriptions/new")
def create_subscription(page: UserForm, grant_id: str) -> Response:
    grant, consumer = _grant_to_subscribe(page, grant_id)
    typed = values_of(page, *FIELDS)
    # Both halves of the form are posted; only the chosen mode's fields are the input.
    table = typed["mode"] == SubscriptionMode.TABLE
    try:
        data = parse(
            SubscriptionCreate,
            {
                "grant_id": grant.id,
                "name": typed["name"],
                "mode": typed["mode"],
                "target_source_id": (typed["target_source_id"] or None) if table else None,
                "target_table": (typed["target_table"] or None) if table else None,
                "file_format": None if table else (typed["file_format"] or None),
                "schedule": typed["schedule"] or None,
            },
            CREATE_LABELS,
        )
        with page.act() as ctx:
            out = subscriptions.create_subscription(ctx, data)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return _new_page(page, grant, consumer, typed, error=page.message(exc), status=exc.status)
    return page.redirect(f"/sharing/subscriptions/{out.id}?done=created")


# -- one subscription -----------------------------------------------------------------------


def allowed(page: Page, sub: SubscriptionOut, consumer: Scope) -> set[str]:
    """What the viewer may do now; the actions check it again, this only picks the buttons."""
    may: set[str] = set()
    if page.actor.can(Perm.SHARING_APPLY, consumer):
        may.add("manage")
        if sub.state == SubscriptionState.ACTIVE:
            may |= {"run", "pause"}
        elif sub.state == SubscriptionState.PAUSED:
            may.add("resume")
        may.add("delete")
    if sub.mode == SubscriptionMode.FILE and page.actor.can(Perm.DATA_READ, consumer):
        may.add("files")
    return may


def delivery(page: Page, subscription_id: str) -> dict[str, Any]:
    """The part of the page that changes as deliveries run: status, history, files."""
    with page.act() as ctx:
        sub = subscriptions.get_subscription(ctx, subscription_id)
        runs = subscriptions.list_runs(ctx, subscription_id, limit=RUNS_SHOWN)
    (consumer,) = scopes(page, sub.consumer_department_id)
    may = allowed(page, sub, consumer)
    files = []
    if "files" in may:
        with page.act() as ctx:
            files = subscriptions.delivery_files(ctx, sub.id)
    return {
        "sub": sub,
        "runs": runs,
        "files": files,
        "file_names": {f.name for f in files},
        "may": may,
        "polling": any(r.status in ACTIVE_RUNS for r in runs),
    }


def detail_page(
    page: Page, subscription_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    shown = delivery(page, subscription_id)
    sub: SubscriptionOut = shown["sub"]
    with page.act() as ctx:
        grant = grants.get_grant(ctx, sub.grant_id)
    return page.render(
        "sharing/subscription.html",
        status=status,
        grant=grant,
        held=page.actor.department_id == sub.consumer_department_id,
        targets=target_names(page, [sub]),
        error=error,
        notice=done_notice(page, DONE),
        **shown,
        **helpers(page),
    )


@router.get("/sharing/subscriptions/{subscription_id}")
def subscription_page(page: UserPage, subscription_id: str) -> Response:
    return detail_page(page, subscription_id)


@router.get("/sharing/subscriptions/{subscription_id}/delivery")
def delivery_panel(page: UserPage, subscription_id: str) -> Response:
    """The live part of the page; it asks again while a delivery is queued or running."""
    return page.render(
        "sharing/_subscription_delivery.html",
        **delivery(page, subscription_id),
        **helpers(page),
    )


def _act(
    page: Page,
    subscription_id: str,
    act: Callable[[ActionContext, str], object],
    then: str,
) -> Response:
    """Run one action; errors come back on the subscription's page."""
    try:
        with page.act() as ctx:
            act(ctx, subscription_id)
    except GovDataError as exc:
        if refusal(exc):
            raise
        return detail_page(page, subscription_id, error=page.message(exc), status=exc.status)
    return page.redirect(then)


@router.post("/sharing/subscriptions/{subscription_id}/run")
def run_now(page: UserForm, subscription_id: str) -> Response:
    url = f"/sharing/subscriptions/{subscription_id}?done=run_queued"
    return _act(page, subscription_id, subscriptions.run_subscription, url)


@router.post("/sharing/subscriptions/{subscription_id}/pause")
def pause(page: UserForm, subscription_id: str) -> Response:
    url = f"/sharing/subscriptions/{subscription_id}?done=paused"
    return _act(page, subscription_id, subscriptions.pause_subscription, url)


@router.post("/sharing/subscriptions/{subscription_id}/resume")
def resume(page: UserForm, subscription_id: str) -> Response:
    url = f"/sharing/subscriptions/{subscription_id}?done=resumed"
    return _act(page, subscription_id, subscriptions.resume_subscription, url)


@router.post("/sharing/subscriptions/{subscription_id}/delete")
def delete(page: UserForm, subscription_id: str) -> Response:
    url = "/sharing/subscriptions?side=held&done=deleted"
    return _act(page, subscription_id, subscriptions.delete_subscription, url)


@router.get("/sharing/subscriptions/{subscription_id}/files/{name}")
def download(page: UserPage, subscription_id: str, name: str) -> Response:
    """One delivered file. The action audits the read (fields, rows) before it is sent."""
    with page.act() as ctx:
        path = subscriptions.open_delivery_file(ctx, subscription_id, name)
    return FileResponse(path, filename=name, media_type=MEDIA_TYPES.get(path.suffix.lstrip(".")))
