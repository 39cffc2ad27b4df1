"""The portal shell: sign in and out, the language switch, and the workbench (工作台)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response

from govdata.config import Settings
from govdata.core import i18n
from govdata.core.errors import GovDataError
from govdata.identity import actions as identity_actions
from govdata.identity import auth
from govdata.identity.schemas import LocaleUpdate, LoginResult, TotpEnrolment
from govdata.web import csrf, limits
from govdata.web.deps import SESSION_COOKIE, client_addr
from govdata.web.middleware import LOCALE_COOKIE
from govdata.web.portal import AnyForm, AnyPage, Page, PortalRouter, UserForm, UserPage, safe_next
from govdata.web.workbench import workbench_context

router = PortalRouter()

LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


@router.get("/")
def home(page: AnyPage) -> Response:
    return RedirectResponse("/workbench" if page.signed_in else "/login", status_code=303)


def _login_form(page: Page, *, status: int = 200, **context: object) -> Response:
    """The login page, with a pre-session CSRF cookie to double-submit."""
    token = page.request.cookies.get(csrf.PRESESSION_COOKIE) or csrf.new_token()
    page.use_presession_token(token)
    context.setdefault("next", safe_next(page.request.query_params.get("next")))
    context.setdefault("username", "")
    context.setdefault("step", "password")
    response = page.render("web/login.html", status=status, request_path="/login", **context)
    response.set_cookie(
        csrf.PRESESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=page.caller.settings.cookie_secure,
        path="/",
    )
    # The OTP and enrolment steps carry short-lived login tokens: never keep this page.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login")
def login_page(page: AnyPage) -> Response:
    if page.signed_in:
        return RedirectResponse(safe_next(page.request.query_params.get("next")), 303)
    return _login_form(page, expired=page.request.query_params.get("expired") == "1")


def _start(page: Page, login: LoginResult, next_url: str) -> Response:
    settings = page.caller.settings
    cookie, _csrf = auth.start_session(
        page.caller.db,
        settings,
        login,
        client_addr=client_addr(page.request),
        user_agent=page.request.headers.get("user-agent"),
    )
    response = RedirectResponse(safe_next(next_url), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    _set_locale_cookie(response, settings, login.locale)
    return response


def _set_locale_cookie(response: Response, settings: Settings, locale: str) -> None:
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_SECONDS,
        samesite="lax",
        secure=settings.cookie_secure,
    )


@router.post("/login")
def login(page: AnyForm) -> Response:
    username, password = page.field("username"), page.form_raw("password")
    next_url = safe_next(page.field("next"))
    try:
        limits.check_login(page.request, username)
        result = auth.authenticate(
            page.caller.db,
            page.caller.settings,
            username,
            password,
            None,
            client_addr(page.request),
        )
    except auth.OtpStep as exc:
        # The password is not sent back: the next step carries the signed token instead.
        return _login_form(
            page, step="otp", username=exc.username, otp_token=exc.otp_token, next=next_url
        )
    except GovDataError as exc:
        response = _login_form(
            page,
            status=exc.status if exc.status < 500 else 400,
            error=page.message(exc),
            username=username,
            next=next_url,
        )
        return limits.with_retry_after(response, exc)
    return _signed_in(page, result, next_url)


@router.post("/login/otp")
def login_otp(page: AnyForm) -> Response:
    next_url = safe_next(page.field("next"))
    try:
        limits.check_login(page.request, None)
        result = auth.complete_otp_login(
            page.caller.db,
            page.caller.settings,
            page.field("otp_token"),
            page.field("otp"),
            client_addr(page.request),
        )
    except auth.OtpStep as exc:
        # Without a fresh token (the account has just locked) the user starts over.
        return _login_form(
            page,
            status=exc.status,
            error=page.message(exc),
            step="otp" if exc.otp_token else "password",
            username=exc.username,
            otp_token=exc.otp_token,
            next=next_url,
        )
    except GovDataError as exc:
        response = _login_form(
            page,
            status=exc.status if exc.status < 500 else 400,
            error=page.message(exc),
            next=next_url,
        )
        return limits.with_retry_after(response, exc)
    return _signed_in(page, result, next_url)


def _signed_in(page: Page, result: LoginResult, next_url: str) -> Response:
    """The checks passed: start a session, or first enrol the second factor a role needs."""
    if result.mfa_enrollment_required and result.enrolment_token:
        enrolment = auth.begin_mfa_enrolment(
            page.caller.db, page.caller.settings, result.enrolment_token, client_addr(page.request)
        )
        return _login_form(
            page,
            step="enrol",
            enrolment=enrolment,
            enrolment_token=result.enrolment_token,
            next=next_url,
        )
    return _start(page, result, next_url)


@router.post("/login/totp-enrol")
def login_totp_enrol(page: AnyForm) -> Response:
    token = page.field("enrolment_token")
    next_url = safe_next(page.field("next"))
    try:
        limits.check_login(page.request, None)
        result = auth.complete_mfa_enrolment(
            page.caller.db,
            page.caller.settings,
            token,
            page.field("code"),
            client_addr=client_addr(page.request),
        )
    except GovDataError as exc:
        if exc.code not in ("invalid_otp", "invalid_input"):
            response = _login_form(page, status=exc.status, error=page.message(exc), next=next_url)
            return limits.with_retry_after(response, exc)
        # Show the same key again: a fresh one would not match the app the user just set up.
        enrolment = TotpEnrolment(
            secret=page.field("secret"), provisioning_uri=page.field("provisioning_uri")
        )
        return _login_form(
            page,
            status=exc.status,
            step="enrol",
            error=page.message(exc),
            enrolment=enrolment,
            enrolment_token=token,
            next=next_url,
        )
    return _start(page, result, next_url)


@router.post("/logout")
def logout(page: UserForm) -> Response:
    cookie = page.request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.end_session(page.caller.db, cookie, client_addr(page.request))
    response = page.redirect("/login", notice="signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/locale")
def switch_locale(page: AnyForm) -> Response:
    """Signed-in users keep the choice in their profile; visitors in a cookie."""
    locale = i18n.normalize(page.field("locale"))
    if page.signed_in:
        with page.act() as ctx:
            identity_actions.set_own_locale(ctx, LocaleUpdate(locale=locale))  # type: ignore[arg-type]
    response = page.redirect(safe_next(page.field("next"), "/login"))
    _set_locale_cookie(response, page.caller.settings, locale)
    return response


@router.get("/workbench")
def workbench(page: UserPage) -> Response:
    return page.render("web/workbench.html", **workbench_context(page))
