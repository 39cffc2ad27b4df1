"""Who is calling: password login with lockout and TOTP, portal sessions, bearer tokens.

These functions run before there is an actor, so they open their own
transactions and write their own audit records; a failed login commits its
failure counter and audit record before the error is raised.

The portal asks for the one-time code on a second page. Between the two steps
it holds a short-lived signed token (``OtpStep.otp_token``) that stands for
"the password was right", so the password itself never goes back to the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

import jwt
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.clock import as_utc, now
from govdata.core.db import Database
from govdata.core.errors import GovDataError, NotAuthenticated, PermissionDenied
from govdata.identity import passwords, totp
from govdata.identity.actions import (
    TOKEN_PREFIX,
    credential_status,
    finish_totp_enrolment,
    hash_token,
    is_locked,
    start_totp_enrolment,
)
from govdata.identity.models import AppCredential, User, WebSession
from govdata.identity.schemas import LoginResult, TokenOut, TokenRequest, TotpEnrolment
from govdata.security.audit import DENIED, FAILURE, SUCCESS, write_audit
from govdata.security.context_types import Actor
from govdata.security.permissions import PRIVILEGED_ROLES, Role, RoleGrant

ALGORITHM = "HS256"
ACCESS = "access"
MFA_ENROL = "mfa_enrol"
ENROLMENT_MINUTES = 10
OTP_STEP_SALT = "govdata-otp-step"
OTP_STEP_SECONDS = 5 * 60
# Writing last_seen_at / last_used_at on every request would turn reads into writes.
TOUCH_INTERVAL = timedelta(minutes=1)
# Bearer-token refusals that mean a once-valid credential is still in use.
AUDITED_REFUSALS = frozenset({"credential_revoked", "credential_expired", "token_revoked"})


class AccountLocked(GovDataError):
    code = "account_locked"
    status = 423
    message_zh = "登录失败次数过多，账号已临时锁定"
    message_en = "Too many failed logins; the account is temporarily locked"


class OtpStep(NotAuthenticated):
    """The password was right; the login now waits for a one-time code.

    ``otp_token`` continues the login in ``complete_otp_login``. It is an
    attribute, not ``details``, so API error bodies never carry it: API clients
    send the code together with the password instead.
    """

    code = "otp_required"
    message_zh = "请输入动态口令"
    message_en = "One-time code required"

    def __init__(
        self,
        otp_token: str | None,
        username: str,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(message_zh, message_en, code=code)
        self.otp_token = otp_token
        self.username = username


def _bad_credentials() -> NotAuthenticated:
    return NotAuthenticated(
        "用户名或密码错误", "Wrong username or password", code="invalid_credentials"
    )


def actor_for_user(user: User) -> Actor:
    grants = tuple(
        RoleGrant(
            Role(a.role),
            region_path=a.region.path if a.region else None,
            department_id=a.department_id,
        )
        for a in user.roles
    )
    dept = user.department
    return Actor(
        kind="user",
        id=user.id,
        name=user.username,
        grants=grants,
        department_id=dept.id if dept else None,
        region_path=dept.region.path if dept else None,
        locale=user.locale,
    )


def actor_for_credential(cred: AppCredential) -> Actor:
    dept = cred.department
    return Actor(
        kind="app",
        id=cred.id,
        name=f"app:{cred.name}",
        grants=(RoleGrant(Role.DEPT_USER, department_id=dept.id),),
        department_id=dept.id,
        region_path=dept.region.path,
        token_scopes=frozenset(cred.scopes),
    )


def needs_mfa_enrolment(settings: Settings, user: User) -> bool:
    """Privileged roles need a second factor, except on demo instances."""
    if settings.demo_mode or user.totp_enabled:
        return False
    return any(Role(a.role) in PRIVILEGED_ROLES for a in user.roles)


# Password login --------------------------------------------------------------------------


def _audit_login(
    s: Session,
    user: User | None,
    attempted: str,
    outcome: str,
    client_addr: str | None,
    reason: str | None = None,
    action: str = "auth.login",
) -> None:
    actor = actor_for_user(user) if user else Actor(kind="anonymous", id=None, name=attempted[:128])
    write_audit(
        s,
        actor,
        action,
        target_type="user",
        target_id=user.id if user else None,
        outcome=outcome,
        client_addr=client_addr,
        details={"reason": reason} if reason else None,
    )


def _count_failure(settings: Settings, user: User) -> None:
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = now() + timedelta(minutes=settings.login_lockout_minutes)


def _accept_otp(settings: Settings, user: User, secret: str, otp: str) -> bool:
    """A wrong or replayed code counts towards the lockout like a wrong password."""
    step = totp.matching_step(secret, otp, user.totp_last_step)
    if step is None:
        _count_failure(settings, user)
        return False
    user.totp_last_step = step
    return True


def _login_result(settings: Settings, user: User, *, enrol: bool) -> LoginResult:
    return LoginResult(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        locale=user.locale,  # type: ignore[arg-type]
        mfa_enrollment_required=enrol,
        enrolment_token=_enrolment_token(settings, user) if enrol else None,
        token_epoch=user.token_epoch,
    )


def _check_login(
    s: Session,
    settings: Settings,
    user: User,
    password: str,
    otp: str | None,
    client_addr: str | None,
) -> LoginResult:
    """Raises on refusal; the caller commits what this changed before re-raising."""

    def refuse(error: GovDataError, reason: str) -> GovDataError:
        _audit_login(s, user, user.username, FAILURE, client_addr, reason)
        return error

    if is_locked(user):
        until = as_utc(user.locked_until).isoformat() if user.locked_until else None
        raise refuse(AccountLocked(details={"locked_until": until}), "locked")
    if user.locked_until is not None:
        # A lockout that has run out starts a fresh count.
        user.locked_until = None
        user.failed_logins = 0
    if not passwords.verify_password(settings, user.password_hash, password):
        _count_failure(settings, user)
        raise refuse(_bad_credentials(), "wrong_password")
    if not user.is_active:
        raise refuse(
            PermissionDenied("账号已停用", "The account is disabled", code="account_disabled"),
            "disabled",
        )
    if user.totp_enabled and user.totp_secret:
        if not otp:
            raise refuse(OtpStep(_otp_token(settings, user), user.username), "otp_required")
        if not _accept_otp(settings, user, user.totp_secret, otp):
            raise refuse(
                NotAuthenticated("动态口令不正确", "Wrong one-time code", code="invalid_otp"),
                "invalid_otp",
            )
    if passwords.needs_rehash(settings, user.password_hash):
        user.password_hash = passwords.hash_password(settings, password)
    return _logged_in(s, settings, user, client_addr)


def _logged_in(s: Session, settings: Settings, user: User, client_addr: str | None) -> LoginResult:
    """Every check passed: reset the failure count and record the login."""
    user.failed_logins = 0
    if needs_mfa_enrolment(settings, user):
        _audit_login(s, user, user.username, FAILURE, client_addr, "mfa_enrollment_required")
        return _login_result(settings, user, enrol=True)
    user.last_login_at = now()
    _audit_login(s, user, user.username, SUCCESS, client_addr)
    return _login_result(settings, user, enrol=False)


def authenticate(
    db: Database,
    settings: Settings,
    username: str,
    password: str,
    otp: str | None,
    client_addr: str | None,
) -> LoginResult:
    """Check a password (and one-time code); audit the attempt either way.

    Raises NotAuthenticated (``invalid_credentials``, ``invalid_otp``),
    OtpStep ``otp_required`` (the password was right; its ``otp_token``
    continues the login in ``complete_otp_login``), PermissionDenied
    ``account_disabled``, AccountLocked ``account_locked`` (423). A privileged
    user without a second factor gets a result with ``mfa_enrollment_required``
    set instead of a login.
    """
    attempted = username.strip().lower()
    error: GovDataError | None = None
    result: LoginResult | None = None
    with db.transaction(immediate=True) as s:
        # Locked so concurrent attempts cannot lose failure counts on PostgreSQL.
        user = s.scalars(
            select(User).where(User.username == attempted).with_for_update(of=User)
        ).one_or_none()
        if user is None:
            passwords.burn_time(settings, password)
            _audit_login(s, None, attempted, FAILURE, client_addr, "unknown_user")
            error = _bad_credentials()
        else:
            try:
                result = _check_login(s, settings, user, password, otp, client_addr)
            except GovDataError as exc:
                # Keep the counter and the audit record: commit, then raise.
                error = exc
    if error is not None:
        raise error
    assert result is not None
    return result


# The one-time-code step of a portal login -----------------------------------------------


def _otp_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=OTP_STEP_SALT)


def _otp_state(user: User) -> str:
    """What the password check vouched for. A counted failure, a lockout, a new password,
    ended sessions or a used code all change it, and so end the OTP-step token."""
    parts = (
        user.id,
        str(user.token_epoch),
        str(user.failed_logins),
        as_utc(user.locked_until).isoformat() if user.locked_until else "",
        str(user.totp_last_step),
        user.password_hash,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _otp_token(settings: Settings, user: User) -> str:
    return _otp_serializer(settings).dumps({"sub": user.id, "state": _otp_state(user)})


def _otp_claims(settings: Settings, otp_token: str) -> tuple[dict[str, Any] | None, str | None]:
    """The token's claims and, when it may not be used, why. An expired token still
    names its user, so the refusal is audited against them."""
    serializer = _otp_serializer(settings)
    try:
        claims = serializer.loads(otp_token, max_age=OTP_STEP_SECONDS)
    except SignatureExpired as exc:
        try:
            claims = serializer.load_payload(exc.payload) if exc.payload is not None else None
        except BadData:
            claims = None
        return (claims if isinstance(claims, dict) else None), "otp_step_expired"
    except BadSignature:
        return None, "otp_step_invalid"
    if not isinstance(claims, dict):
        return None, "otp_step_invalid"
    return claims, None


def _check_otp_step(
    s: Session,
    settings: Settings,
    user: User,
    stale: str | None,
    otp: str,
    client_addr: str | None,
) -> LoginResult:
    """Raises on refusal (``stale`` says why the token may not be used); the caller
    commits what this changed before re-raising."""

    def refuse(error: GovDataError, reason: str) -> GovDataError:
        _audit_login(s, user, user.username, FAILURE, client_addr, reason)
        return error

    if is_locked(user):
        until = as_utc(user.locked_until).isoformat() if user.locked_until else None
        raise refuse(AccountLocked(details={"locked_until": until}), "locked")
    if not user.is_active:
        raise refuse(
            PermissionDenied("账号已停用", "The account is disabled", code="account_disabled"),
            "disabled",
        )
    if stale is not None:
        raise refuse(_otp_step_expired(), stale)
    if not (user.totp_enabled and user.totp_secret):
        raise refuse(_otp_step_expired(), "otp_step_stale")
    if not _accept_otp(settings, user, user.totp_secret, otp):
        # A fresh token lets the user retry without the password until the lockout.
        fresh = None if is_locked(user) else _otp_token(settings, user)
        raise refuse(
            OtpStep(
                fresh, user.username, "动态口令不正确", "Wrong one-time code", code="invalid_otp"
            ),
            "invalid_otp",
        )
    return _logged_in(s, settings, user, client_addr)


def _otp_step_expired() -> NotAuthenticated:
    return NotAuthenticated(
        "登录已超时，请重新输入密码",
        "The sign-in has timed out; enter your password again",
        code="otp_step_expired",
    )


def complete_otp_login(
    db: Database,
    settings: Settings,
    otp_token: str,
    otp: str,
    client_addr: str | None,
) -> LoginResult:
    """Finish a portal login with the ``otp_token`` of ``OtpStep`` and a one-time code.

    The token is good for five minutes and for one login: counting a failure,
    a lockout, a password change, ending the user's sessions or a successful
    login all make it stale. Every attempt is audited as ``auth.login``.

    Raises NotAuthenticated ``otp_step_expired`` (sign in with the password
    again), OtpStep ``invalid_otp`` (counted towards the lockout; carries a
    fresh ``otp_token`` unless the account is now locked), AccountLocked
    ``account_locked`` (423), PermissionDenied ``account_disabled``.
    """
    claims, reason = _otp_claims(settings, otp_token)
    error: GovDataError | None = None
    result: LoginResult | None = None
    with db.transaction(immediate=True) as s:
        # The row lock makes a token's single use hold on PostgreSQL too (SQLite's
        # immediate transaction already serialises).
        user = (
            s.get(User, str(claims["sub"]), with_for_update={"of": User})
            if claims and "sub" in claims
            else None
        )
        if user is None:
            _audit_login(s, None, "anonymous", FAILURE, client_addr, reason or "otp_step_stale")
            error = _otp_step_expired()
        else:
            state = str(claims.get("state", "")) if claims else ""
            if reason is None and not hmac.compare_digest(state, _otp_state(user)):
                reason = "otp_step_stale"
            try:
                result = _check_otp_step(s, settings, user, reason, otp, client_addr)
            except GovDataError as exc:
                # Keep the counter and the audit record: commit, then raise.
                error = exc
    if error is not None:
        raise error
    assert result is not None
    return result


def login_for_token(
    db: Database, settings: Settings, data: TokenRequest, client_addr: str | None
) -> TokenOut:
    """The API's password grant: a bearer token, or 403 ``mfa_enrollment_required``."""
    result = authenticate(db, settings, data.username, data.password, data.otp, client_addr)
    if result.mfa_enrollment_required:
        raise PermissionDenied(
            "特权账号须先在门户绑定动态口令",
            "Privileged accounts must enrol a second factor in the portal first",
            code="mfa_enrollment_required",
        )
    token, expires_in = issue_access_token(settings, result)
    with db.transaction(immediate=True) as s:
        user = s.get(User, result.user_id)
        assert user is not None
        _audit_login(s, user, user.username, SUCCESS, client_addr, action="auth.token_issue")
    return TokenOut(access_token=token, expires_in=expires_in)


# Bearer tokens ---------------------------------------------------------------------------


def issue_access_token(settings: Settings, user: User | LoginResult) -> tuple[str, int]:
    """A signed JWT (HS256) for ``user``; returns the token and its lifetime in seconds.

    The token carries the user's revocation epoch (claim ``ep``) as read with ``user``:
    a revocation committed after that read already kills it.
    """
    user_id = user.user_id if isinstance(user, LoginResult) else user.id
    expires_in = settings.access_token_minutes * 60
    issued = int(now().timestamp())
    claims = {
        "sub": user_id,
        "name": user.username,
        "typ": ACCESS,
        "ep": user.token_epoch,
        "iat": issued,
        "exp": issued + expires_in,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, settings.resolved_secret_key(), algorithm=ALGORITHM), expires_in


def _decode(settings: Settings, token: str, purpose: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.resolved_secret_key(),
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "typ", "ep"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticated("令牌已过期", "Token expired", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticated("令牌无效", "Invalid token", code="invalid_token") from exc
    if claims.get("typ") != purpose:
        raise NotAuthenticated("令牌无效", "Invalid token", code="invalid_token")
    return claims


def _live_user(s: Session, claims: dict[str, Any]) -> User:
    user = s.get(User, str(claims["sub"]))
    if user is None:
        raise NotAuthenticated("令牌无效", "Invalid token", code="invalid_token")
    if not user.is_active:
        raise NotAuthenticated("账号已停用", "The account is disabled", code="account_disabled")
    if claims["ep"] != user.token_epoch:
        raise NotAuthenticated("令牌已失效，请重新登录", "Token revoked", code="token_revoked")
    return user


def _actor_from_app_token(s: Session, token: str) -> tuple[Actor, str | None]:
    """The credential's actor, and its id when ``last_used_at`` is due for a touch."""
    cred = s.scalars(
        select(AppCredential).where(AppCredential.token_hash == hash_token(token))
    ).one_or_none()
    if cred is None:
        raise NotAuthenticated("令牌无效", "Invalid token", code="invalid_token")
    status = credential_status(cred)
    if status == "revoked" or not cred.department.is_active:
        raise NotAuthenticated("应用凭证已吊销", "Credential revoked", code="credential_revoked")
    if status == "expired":
        raise NotAuthenticated("应用凭证已过期", "Credential expired", code="credential_expired")
    due = cred.last_used_at is None or now() - as_utc(cred.last_used_at) >= TOUCH_INTERVAL
    return actor_for_credential(cred), cred.id if due else None


def _token_holder(s: Session, settings: Settings, token: str) -> Actor | None:
    """Whose credential a refused token is, when the token itself is genuine."""
    if token.startswith(TOKEN_PREFIX):
        cred = s.scalars(
            select(AppCredential).where(AppCredential.token_hash == hash_token(token))
        ).one_or_none()
        return actor_for_credential(cred) if cred is not None else None
    user = s.get(User, str(_decode(settings, token, ACCESS)["sub"]))
    return actor_for_user(user) if user is not None else None


def actor_from_bearer(
    db: Database, settings: Settings, token: str, client_addr: str | None = None
) -> Actor:
    """The actor behind a bearer token: a user's JWT or an app credential (``gdt_...``).

    Raises NotAuthenticated with ``invalid_token``, ``token_expired``,
    ``token_revoked``, ``account_disabled``, ``credential_revoked`` or
    ``credential_expired``. Reading takes no write lock (every API call passes here); an
    app credential's ``last_used_at`` is written at most once a minute, on its own. A
    revoked or expired credential that is still being used is audited against its holder
    (``auth.token_refused``, denied): anomaly detection watches for it.
    """
    refused: tuple[Actor, NotAuthenticated] | None = None
    with db.transaction() as s:
        try:
            if not token.startswith(TOKEN_PREFIX):
                return actor_for_user(_live_user(s, _decode(settings, token, ACCESS)))
            actor, touch = _actor_from_app_token(s, token)
        except NotAuthenticated as exc:
            holder = _token_holder(s, settings, token) if exc.code in AUDITED_REFUSALS else None
            if holder is None:
                raise
            refused = (holder, exc)
    if refused is not None:
        holder, error = refused
        with db.transaction(immediate=True) as s:
            write_audit(
                s,
                holder,
                "auth.token_refused",
                target_type="credential" if holder.kind == "app" else "user",
                target_id=holder.id,
                outcome=DENIED,
                client_addr=client_addr,
                details={"reason": error.code},
            )
        raise error
    if touch is not None:
        with db.transaction(immediate=True) as s:
            s.execute(
                update(AppCredential).where(AppCredential.id == touch).values(last_used_at=now())
            )
    return actor


# Portal sessions -------------------------------------------------------------------------


def _session_hash(cookie_token: str) -> str:
    return hashlib.sha256(cookie_token.encode()).hexdigest()


def start_session(
    db: Database,
    settings: Settings,
    login: LoginResult,
    client_addr: str | None,
    user_agent: str | None,
) -> tuple[str, str]:
    """Open a portal session after a successful login; returns (cookie token, CSRF token).

    A revocation between the login check and this call (password change, disable)
    moved the user's epoch: the login no longer counts and no session opens.
    """
    cookie_token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    with db.transaction(immediate=True) as s:
        user = s.get(User, login.user_id)
        if (
            user is None
            or not user.is_active
            or user.token_epoch != login.token_epoch
            or needs_mfa_enrolment(settings, user)
        ):
            raise NotAuthenticated()
        at = now()
        s.add(
            WebSession(
                token_hash=_session_hash(cookie_token),
                user_id=user.id,
                csrf_token=csrf_token,
                created_at=at,
                last_seen_at=at,
                client_addr=client_addr,
                user_agent=(user_agent or "")[:255] or None,
                token_epoch=user.token_epoch,
            )
        )
    return cookie_token, csrf_token


def _live_session(s: Session, settings: Settings, cookie_token: str) -> WebSession | None:
    ws = s.scalars(
        select(WebSession).where(WebSession.token_hash == _session_hash(cookie_token))
    ).one_or_none()
    if ws is None or ws.revoked_at is not None:
        return None
    if now() - as_utc(ws.last_seen_at) > timedelta(minutes=settings.session_idle_minutes):
        return None
    return ws


def actor_from_session(db: Database, settings: Settings, cookie_token: str) -> Actor | None:
    """The user behind a portal session cookie; None when it is unknown, ended, idle
    for longer than ``session_idle_minutes``, or its user was disabled since."""
    with db.transaction(immediate=True) as s:
        ws = _live_session(s, settings, cookie_token)
        if ws is None:
            return None
        user = s.get(User, ws.user_id)
        if user is None or not user.is_active or ws.token_epoch != user.token_epoch:
            return None
        at = now()
        if at - as_utc(ws.last_seen_at) >= TOUCH_INTERVAL:
            ws.last_seen_at = at
        return actor_for_user(user)


def session_csrf_token(db: Database, cookie_token: str) -> str | None:
    """The CSRF token bound to a session that has not been ended."""
    with db.transaction(immediate=True) as s:
        ws = s.scalars(
            select(WebSession).where(WebSession.token_hash == _session_hash(cookie_token))
        ).one_or_none()
        return ws.csrf_token if ws is not None and ws.revoked_at is None else None


def end_session(db: Database, cookie_token: str, client_addr: str | None = None) -> None:
    """Log out: the session cookie stops working. Unknown cookies are ignored."""
    with db.transaction(immediate=True) as s:
        ws = s.scalars(
            select(WebSession).where(WebSession.token_hash == _session_hash(cookie_token))
        ).one_or_none()
        if ws is None or ws.revoked_at is not None:
            return
        ws.revoked_at = now()
        user = s.get(User, ws.user_id)
        if user is not None:
            _audit_login(s, user, user.username, SUCCESS, client_addr, action="auth.logout")


# Second-factor enrolment during login ----------------------------------------------------


def _enrolment_token(settings: Settings, user: User) -> str:
    issued = int(now().timestamp())
    claims = {
        "sub": user.id,
        "typ": MFA_ENROL,
        "ep": user.token_epoch,
        "iat": issued,
        "exp": issued + ENROLMENT_MINUTES * 60,
    }
    return jwt.encode(claims, settings.resolved_secret_key(), algorithm=ALGORITHM)


def begin_mfa_enrolment(
    db: Database, settings: Settings, enrolment_token: str, client_addr: str | None = None
) -> TotpEnrolment:
    """For a privileged user who must enrol at login: a fresh secret and QR URI."""
    claims = _decode(settings, enrolment_token, MFA_ENROL)
    with db.transaction(immediate=True) as s:
        user = _live_user(s, claims)
        enrolment = start_totp_enrolment(user)
        _audit_login(s, user, user.username, SUCCESS, client_addr, action="user.totp_enrol")
        return enrolment


def complete_mfa_enrolment(
    db: Database,
    settings: Settings,
    enrolment_token: str,
    code: str,
    client_addr: str | None = None,
) -> LoginResult:
    """Confirm the code from the authenticator; the login then completes (start a session).
    422 ``invalid_otp``, 409 ``totp_not_enrolled``."""
    claims = _decode(settings, enrolment_token, MFA_ENROL)
    with db.transaction(immediate=True) as s:
        user = _live_user(s, claims)
        finish_totp_enrolment(user, code)
        user.last_login_at = now()
        _audit_login(s, user, user.username, SUCCESS, client_addr, action="user.totp_confirm")
        _audit_login(s, user, user.username, SUCCESS, client_addr)
        return _login_result(settings, user, enrol=False)
