"""Plumbing shared by every portal page: who is asking, CSRF, rendering, and friendly failures.

Page routes use ``PortalRouter`` and take a ``Page`` from one of the
dependencies below; the route class turns "not signed in" into a redirect to
the login page and refusals into a 403 page, instead of the API's JSON errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput, NotAuthenticated
from govdata.identity import actions as identity_actions
from govdata.identity import auth
from govdata.identity.schemas import MeOut
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import Actor
from govdata.security.permissions import Perm
from govdata.web import csrf
from govdata.web.deps import SESSION_COOKIE, optional_caller
from govdata.web.middleware import LOCALE_COOKIE
from govdata.web.templating import N_, render_template

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

FLASH_COOKIE = "govdata_flash"


# Notices shown once after a redirect; the cookie carries only the key.
NOTICES: dict[str, str] = {
    "signed_out": N_("You have signed out."),
    "session_expired": N_("Your session has expired. Please sign in again."),
    "locale_changed": N_("Language changed."),
    "region_created": N_("Region created."),
    "department_created": N_("Department created."),
    "department_updated": N_("Department updated."),
    "user_created": N_("User created."),
    "user_disabled": N_("User disabled."),
    "user_enabled": N_("User enabled."),
    "user_unlocked": N_("User unlocked."),
    "role_assigned": N_("Role assigned."),
    "role_revoked": N_("Role revoked."),
    "credential_revoked": N_("Credential revoked."),
    "password_changed": N_("Password changed."),
    "totp_enabled": N_("Two-factor authentication is now on."),
    "job_cancel_requested": N_("Cancellation requested."),
    "entry_created": N_("Catalog entry created as a draft."),
    "entry_saved": N_("Changes saved."),
    "entry_submitted": N_("Submitted for review."),
    "entry_published": N_("Entry published."),
    "entry_returned": N_("Entry returned for correction."),
    "entry_withdrawn": N_("Entry withdrawn from the catalog."),
    "entry_version_opened": N_("A new version was opened as a draft."),
    "notifications_read": N_("All notifications marked as read."),
    "class_created": N_("Classification node added."),
    "class_updated": N_("Classification node updated."),
    "class_deactivated": N_("Classification node deactivated."),
    "class_reactivated": N_("Classification node reactivated."),
    "synonyms_saved": N_("Synonyms saved."),
    "synonyms_deleted": N_("Synonyms deleted."),
    "source_created": N_("Source system registered."),
    "source_saved": N_("Source system saved."),
    "source_deleted": N_("Source system removed."),
    "source_file_uploaded": N_("File uploaded."),
    "mount_created": N_("Data mounted on the entry."),
    "mount_deleted": N_("Mount removed."),
    "pipeline_created": N_("Pipeline created."),
    "pipeline_deleted": N_("Pipeline removed."),
    "pipeline_run_queued": N_("Run queued."),
    "pipeline_paused": N_("Pipeline paused."),
    "pipeline_resumed": N_("Pipeline resumed."),
    "ledger_verify_started": N_("Verification started: the result shows here when it ends."),
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    icon: str
    # Shown when the actor holds this permission (or any one of these) somewhere.
    perm: Perm | tuple[Perm, ...] | None = None


@dataclass(frozen=True)
class NavSection:
    label: str
    items: tuple[NavItem, ...]


NAVIGATION: tuple[NavSection, ...] = (
    NavSection(
        N_("Overview"),
        (
            NavItem("/workbench", N_("Workbench"), "grid"),
            NavItem("/notifications", N_("Notifications"), "activity", Perm.NOTIFICATION_READ),
        ),
    ),
    NavSection(
        N_("Data catalog"),
        (
            NavItem("/catalog", N_("Catalog home"), "database", Perm.CATALOG_READ),
            NavItem("/catalog/search", N_("Catalog search"), "search", Perm.CATALOG_READ),
            NavItem("/catalog/mine", N_("My department's catalog"), "file", Perm.CATALOG_EDIT),
            NavItem("/catalog/review", N_("Review queue"), "shield", Perm.CATALOG_REVIEW),
            NavItem("/catalog/import", N_("Bulk import"), "plus", Perm.CATALOG_EDIT),
            NavItem(
                "/catalog/admin/classes",
                N_("Classification management"),
                "map",
                Perm.CATALOG_MANAGE,
            ),
            NavItem(
                "/catalog/admin/synonyms", N_("Search synonyms"), "search", Perm.CATALOG_MANAGE
            ),
            NavItem("/standards/data-elements", N_("Data elements"), "key", Perm.STANDARD_READ),
            NavItem("/standards/code-sets", N_("Code sets"), "grid", Perm.STANDARD_READ),
        ),
    ),
    NavSection(
        N_("Data collection"),
        (
            NavItem("/sources", N_("Source systems"), "database", Perm.SOURCE_READ),
            NavItem("/exchange/mounts", N_("Mounts"), "file", Perm.EXCHANGE_READ),
            NavItem("/exchange/pipelines", N_("Pipelines"), "activity", Perm.EXCHANGE_READ),
            NavItem("/exchange/lake", N_("Lake tables"), "grid", Perm.EXCHANGE_READ),
            NavItem("/exchange/report", N_("Collection report"), "map", Perm.EXCHANGE_READ),
        ),
    ),
    NavSection(
        N_("Data sharing"),
        (
            NavItem("/sharing/applications", N_("Sharing applications"), "file", Perm.SHARING_READ),
            NavItem(
                "/sharing/review",
                N_("Reviews to do"),
                "shield",
                (Perm.SHARING_DECIDE, Perm.SHARING_MANAGE),
            ),
            NavItem("/sharing/grants", N_("My grants"), "key", Perm.SHARING_APPLY),
            NavItem("/sharing/grants/given", N_("Grants given"), "key", Perm.SHARING_DECIDE),
            NavItem("/sharing/grants/all", N_("All grants"), "key", Perm.SHARING_MANAGE),
            NavItem("/sharing/demands", N_("Data demands"), "search", Perm.SHARING_READ),
            NavItem("/sharing/objections", N_("Data objections"), "activity", Perm.SHARING_READ),
            NavItem("/sharing/subscriptions", N_("Subscriptions"), "database", Perm.SHARING_READ),
            NavItem("/sharing/policy", N_("Sharing rules"), "map", Perm.SHARING_MANAGE),
        ),
    ),
    NavSection(
        N_("Data governance"),
        (
            NavItem("/quality", N_("Data quality"), "activity", Perm.QUALITY_READ),
            NavItem("/governance/tickets", N_("Problem-data tickets"), "shield", Perm.SHARING_READ),
            NavItem(
                "/governance/accountability",
                N_("Accountability report"),
                "map",
                Perm.SHARING_READ,
            ),
            NavItem("/governance/crosscheck", N_("Cross-source checks"), "grid", Perm.QUALITY_READ),
            NavItem("/governance/baselibs", N_("Base libraries"), "database", Perm.QUALITY_READ),
        ),
    ),
    NavSection(
        N_("Open data"),
        (
            NavItem("/open", N_("Open Data Portal"), "globe", None),
            NavItem(
                "/opendata/manage",
                N_("Opening review"),
                "shield",
                (Perm.OPENDATA_PUBLISH, Perm.OPENDATA_MANAGE),
            ),
            NavItem(
                "/opendata/applications",
                N_("Open-data applications"),
                "file",
                (Perm.OPENDATA_PUBLISH, Perm.OPENDATA_MANAGE),
            ),
            NavItem(
                "/opendata/open-list",
                N_("Annual open list"),
                "map",
                (Perm.OPENDATA_PUBLISH, Perm.OPENDATA_MANAGE),
            ),
            NavItem("/opendata/reuses", N_("Reuse review"), "grid", Perm.OPENDATA_MANAGE),
            NavItem(
                "/opendata/stats",
                N_("Open data statistics"),
                "activity",
                (Perm.OPENDATA_PUBLISH, Perm.OPENDATA_MANAGE),
            ),
        ),
    ),
    NavSection(
        N_("Organisation"),
        (
            NavItem("/admin/regions", N_("Regions"), "map", Perm.REGION_READ),
            NavItem(
                "/admin/departments",
                N_("Department management"),
                "building",
                Perm.DEPARTMENT_READ,
            ),
        ),
    ),
    NavSection(
        N_("Users and access"),
        (
            NavItem("/admin/users", N_("User management"), "users", Perm.USER_READ),
            NavItem("/roles", N_("Role definitions"), "shield", Perm.USER_READ),
            NavItem("/admin/credentials", N_("App credentials"), "key", Perm.CREDENTIAL_READ),
        ),
    ),
    NavSection(
        N_("Security and audit"),
        (
            NavItem("/audit", N_("Audit trail"), "shield", Perm.AUDIT_READ),
            NavItem("/audit/trace", N_("Trace a data record"), "search", Perm.AUDIT_READ),
            NavItem("/audit/ledger", N_("Ledger verification"), "key", Perm.AUDIT_READ),
            NavItem(
                "/security/posture",
                N_("Security posture"),
                "activity",
                (Perm.SECURITY_READ, Perm.SECURITY_MANAGE, Perm.AUDIT_READ),
            ),
            NavItem(
                "/security/alerts",
                N_("Security alerts"),
                "shield",
                (Perm.SECURITY_MANAGE, Perm.AUDIT_READ),
            ),
            NavItem(
                "/security/alert-rules",
                N_("Alert rules"),
                "key",
                (Perm.SECURITY_MANAGE, Perm.AUDIT_READ),
            ),
            NavItem(
                "/security/classification",
                N_("Classification policy"),
                "lock",
                Perm.SECURITY_MANAGE,
            ),
            NavItem(
                "/security/discovery",
                N_("Sensitive-data discovery"),
                "search",
                (Perm.DATA_PREVIEW, Perm.SECURITY_MANAGE),
            ),
            NavItem(
                "/security/destructions",
                N_("Secure destruction"),
                "shield",
                (Perm.EXCHANGE_MANAGE, Perm.SECURITY_MANAGE, Perm.AUDIT_READ),
            ),
            NavItem("/security/keys", N_("Key management"), "key", Perm.SECURITY_MANAGE),
        ),
    ),
    NavSection(
        N_("Operations"),
        (NavItem("/jobs", N_("Jobs"), "activity", Perm.JOB_READ),),
    ),
)


def _shown(actor: Actor, perm: Perm | tuple[Perm, ...] | None) -> bool:
    if perm is None:
        return True
    return any(actor.can(p) for p in (perm if isinstance(perm, tuple) else (perm,)))


def navigation_for(actor: Actor) -> list[NavSection]:
    """Only what the actor's roles allow somewhere in their scope."""
    sections = []
    for section in NAVIGATION:
        # can() without a target asks whether any grant holds the permission, whatever its scope.
        items = tuple(i for i in section.items if _shown(actor, i.perm))
        if items:
            sections.append(NavSection(section.label, items))
    return sections


def safe_next(target: str | None, default: str = "/workbench") -> str:
    """Only same-site paths: never an absolute or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


class LoginRequired(Exception):
    def __init__(self, next_url: str, *, expired: bool) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.expired = expired


@dataclass
class Page:
    """One portal request: the caller, its locale, its CSRF token and the submitted form."""

    request: Request
    caller: Caller
    form: FormData | None = None
    _csrf: str | None = field(default=None, repr=False)
    _me: MeOut | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        return self.caller.actor

    @property
    def signed_in(self) -> bool:
        return self.actor.kind == "user"

    @property
    def locale(self) -> str:
        if self.signed_in:
            return i18n.normalize(self.actor.locale)
        return i18n.normalize(
            self.request.cookies.get(LOCALE_COOKIE) or self.caller.settings.default_locale
        )

    @property
    def csrf_token(self) -> str:
        """The session's token for signed-in pages, else the pre-session cookie's."""
        if self._csrf is None:
            cookie = self.request.cookies.get(SESSION_COOKIE)
            if self.signed_in and cookie:
                self._csrf = auth.session_csrf_token(self.caller.db, cookie) or ""
            else:
                self._csrf = self.request.cookies.get(csrf.PRESESSION_COOKIE) or ""
        return self._csrf

    def use_presession_token(self, token: str) -> None:
        """The login page hands out its double-submit token before the cookie exists."""
        self._csrf = token

    @property
    def me(self) -> MeOut | None:
        """The signed-in user's own account, for the user menu."""
        if not self.signed_in:
            return None
        if self._me is None:
            with self.caller.act() as ctx:
                self._me = identity_actions.get_me(ctx)
        return self._me

    @contextmanager
    def act(self) -> Iterator[ActionContext]:
        with self.caller.act() as ctx:
            yield ctx

    def can(self, perm: Perm) -> bool:
        return self.actor.can(perm)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def form_raw(self, name: str) -> str:
        """A field as typed, for passwords: surrounding spaces may be part of them."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v for v in self.form.getlist(name) if isinstance(v, str)]

    def message(self, error: GovDataError) -> str:
        return error.message(self.locale)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        i18n.set_locale(self.locale)
        # Fragments (``_row.html``) have no user menu: spare the polling requests the lookup.
        me = None if template.rsplit("/", 1)[-1].startswith("_") else self.me
        flash = self.request.cookies.get(FLASH_COOKIE)
        notice = context.pop("notice", None) or (
            i18n.gettext(NOTICES[flash]) if flash in NOTICES else None
        )
        body = render_template(
            template,
            {
                "page": self,
                "actor": self.actor,
                "nav": navigation_for(self.actor) if self.signed_in else [],
                "path": self.request.url.path,
                "csrf_token": self.csrf_token,
                "notice": notice,
                "department_name": me.department.name if me and me.department else None,
                "Perm": Perm,
                **context,
            },
        )
        response = HTMLResponse(body, status_code=status)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(self, url: str, notice: str | None = None) -> Response:
        return redirect(self.request, url, notice)


def parse(model: type[M], data: dict[str, Any], labels: dict[str, str]) -> M:
    """Build an action's input from form fields; bad fields become one readable InvalidInput.

    ``labels`` names the form's fields (English message ids) for the message.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        names = []
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else ""
            if loc and loc not in names:
                names.append(loc)

        def message(locale: str) -> str:
            tr = i18n.translations(locale)
            fields = [tr.gettext(labels[n]) for n in names if n in labels]
            if not fields:
                return tr.gettext("Please check the form.")
            sep = ", " if locale == "en" else "、"
            return tr.gettext("Please check: %(fields)s") % {"fields": sep.join(fields)}

        raise InvalidInput(
            message("zh_CN"), message("en"), code="invalid_input", details=exc.errors()
        ) from exc


def redirect(request: Request, url: str, notice: str | None = None) -> Response:
    """See Other after a form post; htmx requests get HX-Redirect so the whole page changes."""
    if request.headers.get("HX-Request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            FLASH_COOKIE,
            notice,
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.cookie_secure,
        )
    return response


def _resolve(request: Request) -> Page:
    page = Page(request, optional_caller(request))
    request.state.portal_page = page
    return page


def any_page(request: Request) -> Page:
    """A page anyone may see (the login page)."""
    return _resolve(request)


def user_page(request: Request) -> Page:
    """A page for signed-in users; others are sent to the login page."""
    page = _resolve(request)
    if not page.signed_in:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            # A form post cannot be replayed by a redirect after sign-in.
            target = "/workbench"
        raise LoginRequired(target, expired=SESSION_COOKIE in request.cookies)
    return page


async def form_data(request: Request) -> FormData:
    return await request.form()


@csrf.checks_token
def user_form(request: Request, form: Annotated[FormData, Depends(form_data)]) -> Page:
    """A signed-in form post (or htmx request) carrying the session's CSRF token."""
    page = user_page(request)
    csrf.check(page.csrf_token, request, form)
    page.form = form
    return page


@csrf.checks_token
def any_form(request: Request, form: Annotated[FormData, Depends(form_data)]) -> Page:
    """A form post that may come before sign-in: the double-submit cookie protects it."""
    page = _resolve(request)
    csrf.check(page.csrf_token, request, form)
    page.form = form
    return page


AnyPage = Annotated[Page, Depends(any_page)]
UserPage = Annotated[Page, Depends(user_page)]
UserForm = Annotated[Page, Depends(user_form)]
AnyForm = Annotated[Page, Depends(any_form)]


def login_redirect(request: Request, next_url: str, *, expired: bool) -> Response:
    query = {"next": next_url}
    if expired:
        query["expired"] = "1"
    url = "/login?" + urlencode(query, quote_via=quote)
    response = redirect(request, url)
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def error_page(request: Request, error: GovDataError) -> HTMLResponse:
    page: Page | None = getattr(request.state, "portal_page", None)
    if page is None:
        page = Page(request, optional_caller(request))
    return page.render("error.html", status=error.status, error=error)


class PortalRoute(APIRoute):
    """Page routes answer with pages: redirects to sign in, and a friendly 403/404.

    A route that changes state must check the CSRF token; one that does not is refused
    here, when it is declared."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        csrf.require_check(self.path, self.methods, self.dependant)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return login_redirect(request, exc.next_url, expired=exc.expired)
            except NotAuthenticated:
                return login_redirect(request, safe_next(request.url.path), expired=False)
            except GovDataError as exc:
                if exc.status >= 500:
                    log.error("portal error on %s: %s", request.url.path, exc)
                # Rendering asks the store for the user menu: keep it off the event loop.
                return await run_in_threadpool(error_page, request, exc)

        return portal_handler


def PortalRouter() -> APIRouter:
    return APIRouter(route_class=PortalRoute, include_in_schema=False)
