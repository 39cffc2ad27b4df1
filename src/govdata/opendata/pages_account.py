"""Pages of public accounts and conditional opening.

Public side (``/open/...``, the open-data portal's layout): register, verify, sign in and
out, the account page (applications, API keys) and the application form of a conditional
dataset. Their forms use the anonymous double-submit CSRF (``AnyForm``); the signed-in
public account comes from its own cookie (``public_session``). Government side
(``/opendata/applications``): the officers' and operators' queue, one application and the
decision form.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from fastapi import Response
from fastapi.responses import RedirectResponse

from govdata.catalog.models import EntryVersion
from govdata.core import i18n
from govdata.core.errors import GovDataError, InvalidInput
from govdata.opendata import access, accounts, apikeys, applications, public_session
from govdata.opendata.account_models import PublicAccount
from govdata.opendata.accounts import KIND_LABELS, AccountKind, RegisterIn, VerifyIn
from govdata.opendata.applications import ApplyIn, DecideIn
from govdata.opendata.public_web import PublicPage, render
from govdata.opendata.vocab import label
from govdata.security.context import Caller
from govdata.security.context_types import Actor
from govdata.web import limits
from govdata.web.deps import client_addr
from govdata.web.portal import AnyForm, Page, PortalRouter, UserForm, UserPage, safe_next
from govdata.web.templating import N_

router = PortalRouter()

DONE: dict[str, str] = {
    "registered": N_("We sent a six-digit code to your address. Enter it to verify the account."),
    "resent": N_("A new code was sent."),
    "verified": N_("Your account is verified. You can sign in now."),
    "applied": N_(
        "Your application was submitted. The publisher will decide it before its deadline."
    ),
    "revoked": N_("The key was revoked."),
    "decided": N_("The decision was recorded."),
    "quota": N_("The key's quota was saved."),
}


def _notice(page: Page) -> str | None:
    done = page.request.query_params.get("done")
    i18n.set_locale(page.locale)
    return i18n.gettext(DONE[done]) if done in DONE else None


def _go(url: str, **query: str) -> Response:
    target = url + ("?" + urlencode(query, quote_via=quote) if query else "")
    return RedirectResponse(target, status_code=303)


def _public_caller(page: Page) -> Caller | None:
    user = public_session.current_public_user(page.request)
    if user is None:
        return None
    actor = Actor(kind="public", id=user.id, name=user.display_name)
    return Caller(page.caller.db, page.caller.settings, actor, client_addr(page.request))


def _to_login(page: Page) -> Response:
    path = page.request.url.path
    return _go("/open/login", next=path)


def _kinds(page: Page) -> list[tuple[str, str]]:
    return [(k.value, label(KIND_LABELS, k.value, page.locale)) for k in AccountKind]


def _status(exc: GovDataError) -> int:
    return exc.status if exc.status < 500 else 400


# --- register, verify, sign in / out -------------------------------------------------


@router.get("/open/register")
def register_form(page: PublicPage) -> Response:
    return render(page, "opendata/account_register.html", form={}, kinds=_kinds(page))


@router.post("/open/register")
def register(page: AnyForm) -> Response:
    form = {
        "account": page.field("account"),
        "display_name": page.field("display_name"),
        "kind": page.field("kind") or AccountKind.PERSON.value,
        "organisation": page.field("organisation"),
    }
    try:
        kind = AccountKind(form["kind"]) if form["kind"] in set(AccountKind) else None
        if kind is None:
            raise InvalidInput("账号类型无效", "Unknown account kind", code="invalid_input")
        data = RegisterIn(
            account=form["account"][:254],
            display_name=form["display_name"][:64] or " ",
            password=page.form_raw("password")[:256] or " ",
            kind=kind,
            organisation=form["organisation"][:128] or None,
        )
        with page.act() as ctx:
            accounts.register(ctx, data)
    except GovDataError as exc:
        return render(
            page,
            "opendata/account_register.html",
            status=_status(exc),
            error=page.message(exc),
            form=form,
            kinds=_kinds(page),
        )
    return _go("/open/verify", account=form["account"], done="registered")


@router.get("/open/verify")
def verify_form(page: PublicPage) -> Response:
    account = page.request.query_params.get("account", "")
    return render(page, "opendata/account_verify.html", account=account, notice=_notice(page))


@router.post("/open/verify")
def verify(page: AnyForm) -> Response:
    account = page.field("account")
    try:
        accounts.verify(page.caller, VerifyIn(account=account[:254], code=page.field("code")[:16]))
    except GovDataError as exc:
        return render(
            page,
            "opendata/account_verify.html",
            status=_status(exc),
            error=page.message(exc),
            account=account,
        )
    return _go("/open/login", account=account, done="verified")


@router.post("/open/verify/resend")
def resend(page: AnyForm) -> Response:
    account = page.field("account")
    try:
        with page.act() as ctx:
            accounts.resend_code(ctx, account)
    except GovDataError as exc:
        response = render(
            page,
            "opendata/account_verify.html",
            status=_status(exc),
            error=page.message(exc),
            account=account,
        )
        retry = (exc.details or {}).get("retry_after") if isinstance(exc.details, dict) else None
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response
    return _go("/open/verify", account=account, done="resent")


@router.get("/open/login")
def login_form(page: PublicPage) -> Response:
    q = page.request.query_params
    return render(
        page,
        "opendata/account_login.html",
        account=q.get("account", ""),
        next=safe_next(q.get("next"), "/open/account"),
        notice=_notice(page),
    )


@router.post("/open/login")
def login(page: AnyForm) -> Response:
    account, next_url = page.field("account"), safe_next(page.field("next"), "/open/account")
    try:
        limits.check_login(page.request, "open:" + account)
        token, _ = accounts.login(page.caller, account, page.form_raw("password"))
    except GovDataError as exc:
        response = render(
            page,
            "opendata/account_login.html",
            status=_status(exc),
            error=page.message(exc),
            account=account,
            next=next_url,
        )
        return limits.with_retry_after(response, exc)
    done = _go(next_url)
    hours = page.caller.settings.opendata_session_hours
    public_session.set_cookie(page.request, done, token, int(hours * 3600))
    return done


@router.post("/open/logout")
def logout(page: AnyForm) -> Response:
    token = page.request.cookies.get(public_session.COOKIE)
    if token:
        accounts.logout(page.caller.db, token)
    response = _go("/open")
    public_session.clear_cookie(response)
    return response


# --- the account page and its keys -----------------------------------------------------


def _account_page(page: Page, caller: Caller, *, status: int = 200, **extra: object) -> Response:
    with caller.act() as ctx:
        account = ctx.session.get(PublicAccount, ctx.actor.id)
        assert account is not None
        mine = applications.my_applications(ctx)
        keys = apikeys.keys_of(ctx, account.id)
        eligible = bool(apikeys.granted_datasets(ctx.session, account.id))
        info = accounts.out(account)
    extra.setdefault("notice", _notice(page))
    response = render(
        page,
        "opendata/account_home.html",
        status=status,
        account=info,
        kind_label=label(KIND_LABELS, info.kind, page.locale),
        applications=mine,
        keys=keys,
        may_issue=eligible and not any(k.revoked_at is None for k in keys),
        **extra,
    )
    # The page may carry a key shown once: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/open/account")
def account_home(page: PublicPage) -> Response:
    caller = _public_caller(page)
    if caller is None:
        return _to_login(page)
    return _account_page(page, caller)


@router.post("/open/account/keys/{key_id}/{op}")
def key_action(page: AnyForm, key_id: str, op: str) -> Response:
    caller = _public_caller(page)
    if caller is None:
        return _go("/open/login", next="/open/account")
    try:
        with caller.act() as ctx:
            if op == "reveal":
                secret = apikeys.reveal(ctx, key_id)
            elif op == "rotate":
                secret = apikeys.rotate(ctx, key_id)
            elif op == "revoke":
                apikeys.revoke(ctx, key_id)
                secret = None
            else:
                raise InvalidInput("未知操作", "Unknown operation", code="invalid_input")
    except GovDataError as exc:
        return _account_page(page, caller, status=_status(exc), error=page.message(exc))
    if secret is None:
        return _go("/open/account", done="revoked")
    return _account_page(page, caller, secret=secret)


@router.post("/open/account/keys")
def key_issue(page: AnyForm) -> Response:
    caller = _public_caller(page)
    if caller is None:
        return _go("/open/login", next="/open/account")
    try:
        with caller.act() as ctx:
            secret = apikeys.issue(ctx)
    except GovDataError as exc:
        return _account_page(page, caller, status=_status(exc), error=page.message(exc))
    return _account_page(page, caller, secret=secret)


# --- applying for a conditional dataset ------------------------------------------------


def _apply_page(page: Page, name: str, *, status: int = 200, **extra: object) -> Response:
    with page.act() as ctx:
        ds, entry = access.public_dataset(ctx.session, name)
        dataset = {"name": ds.name, "title": entry.name, "publisher": entry.provider_name}
        conditional = entry.open_type == "conditional"
        version = ctx.session.get(EntryVersion, entry.published_version_id)
        condition = version.open_condition if version is not None else None
    extra.setdefault("form", {})
    return render(
        page,
        "opendata/apply.html",
        status=status,
        dataset=dataset,
        conditional=conditional,
        condition=condition,
        **extra,
    )


@router.get("/open/datasets/{name}/apply")
def apply_form(page: PublicPage, name: str) -> Response:
    if public_session.current_public_user(page.request) is None:
        return _to_login(page)
    return _apply_page(page, name)


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "日期格式应为 YYYY-MM-DD", "Dates are YYYY-MM-DD", code="opendata_period_invalid"
        ) from None


@router.post("/open/datasets/{name}/apply")
def apply(page: AnyForm, name: str) -> Response:
    caller = _public_caller(page)
    if caller is None:
        return _go("/open/login", next=f"/open/datasets/{name}/apply")
    form = {
        k: page.field(k) for k in ("purpose", "use_from", "use_until", "commitments", "contact")
    }
    form["committed"] = page.field("committed")
    try:
        data = ApplyIn(
            purpose=form["purpose"][:2000],
            use_from=_date(form["use_from"]),
            use_until=_date(form["use_until"]),
            committed=form["committed"] in ("1", "on", "true"),
            commitments=form["commitments"][:2000] or None,
            contact=form["contact"][:128],
        )
        with caller.act() as ctx:
            applications.submit(ctx, name, data)
    except GovDataError as exc:
        if exc.status == 404:
            raise
        return _apply_page(page, name, status=_status(exc), error=page.message(exc), form=form)
    return _go("/open/account", done="applied")


# --- the government side: queue, detail, decision ------------------------------------


@router.get("/opendata/applications")
def queue(page: UserPage) -> Response:
    q = page.request.query_params
    status = q.get("status") or None
    if status not in (None, "pending", "approved", "rejected"):
        status = None
    overdue = {"1": True, "0": False}.get(q.get("overdue", ""))
    with page.act() as ctx:
        rows = applications.list_applications(ctx, status=status, overdue=overdue, limit=200)
    return page.render(
        "opendata/applications.html",
        rows=rows,
        filters={"status": status or "", "overdue": q.get("overdue", "")},
        notice=_notice(page),
    )


def _detail(page: Page, app_id: str, *, status: int = 200, error: str | None = None) -> Response:
    with page.act() as ctx:
        app = applications.get_application(ctx, app_id)
    return page.render(
        "opendata/applications_detail.html",
        status=status,
        app=app,
        error=error,
        notice=_notice(page),
    )


@router.get("/opendata/applications/{app_id}")
def detail(page: UserPage, app_id: str) -> Response:
    return _detail(page, app_id)


@router.post("/opendata/applications/{app_id}/decide")
def decide(page: UserForm, app_id: str) -> Response:
    try:
        if page.field("decision") not in ("approve", "reject"):
            raise InvalidInput("请选择审核结论", "Choose a decision", code="invalid_input")
        data = DecideIn(
            approve=page.field("decision") == "approve",
            comment=page.field("comment")[:2000] or None,
            valid_until=_date(page.field("valid_until")),
        )
        with page.act() as ctx:
            applications.decide(ctx, app_id, data)
    except GovDataError as exc:
        if exc.status in (403, 404):
            raise
        return _detail(page, app_id, status=_status(exc), error=page.message(exc))
    return page.redirect(f"/opendata/applications/{app_id}?done=decided")


def _quota(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InvalidInput(
            "配额须为正整数", "A quota is a positive whole number", code="invalid_input"
        )
    return int(value)


@router.post("/opendata/applications/{app_id}/quota")
def set_quota(page: UserForm, app_id: str) -> Response:
    """The operator's quota form on an application's page (its applicant's key)."""
    try:
        with page.act() as ctx:
            app = applications.get_application(ctx, app_id)
            if app.key_id is None:
                raise InvalidInput(
                    "该申请人尚无密钥", "The applicant has no key", code="invalid_input"
                )
            apikeys.set_quota(
                ctx,
                app.key_id,
                apikeys.QuotaIn(
                    per_minute=_quota(page.field("per_minute")),
                    per_day=_quota(page.field("per_day")),
                ),
            )
    except GovDataError as exc:
        if exc.status in (403, 404):
            raise
        return _detail(page, app_id, status=_status(exc), error=page.message(exc))
    return page.redirect(f"/opendata/applications/{app_id}?done=quota")
