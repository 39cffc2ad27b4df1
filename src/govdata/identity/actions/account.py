"""The signed-in user's own account (profile, locale, password) and the second factor."""

from __future__ import annotations

import hmac

from govdata.core.clock import now
from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated
from govdata.identity import passwords, totp
from govdata.identity.actions._common import _kill_sessions, _require_manage_user, _user, _user_out
from govdata.identity.models import User
from govdata.identity.schemas import (
    DepartmentRef,
    LocaleUpdate,
    MeOut,
    MeRole,
    PasswordChange,
    RegionRef,
    TotpConfirm,
    TotpEnrolment,
    UserOut,
)
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm, Role


def _require_user_actor(ctx: ActionContext) -> User:
    """Own-account actions: any signed-in person, never an app or the system."""
    if ctx.actor.kind != "user" or ctx.actor.id is None:
        raise NotAuthenticated("请以用户身份登录", "Sign in as a user", code="user_required")
    user = ctx.session.get(User, ctx.actor.id)
    if user is None or not user.is_active:
        raise NotAuthenticated()
    return user


def me_out(user: User) -> MeOut:
    dept = user.department
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[
            MeRole(
                role=Role(a.role),
                region_code=a.region.code if a.region else None,
                department_id=a.department_id,
            )
            for a in user.roles
        ],
        department=DepartmentRef(id=dept.id, code=dept.code, name=dept.name) if dept else None,
        region=RegionRef(code=dept.region.code, name=dept.region.name, path=dept.region.path)
        if dept
        else None,
        locale=user.locale,  # type: ignore[arg-type]
        totp_enabled=user.totp_enabled,
    )


def get_me(ctx: ActionContext) -> MeOut:
    """The signed-in user: roles, department, region and locale."""
    return me_out(_require_user_actor(ctx))


def set_own_locale(ctx: ActionContext, data: LocaleUpdate) -> MeOut:
    """Choose the interface language (``zh_CN`` or ``en``)."""
    user = _require_user_actor(ctx)
    if user.locale != data.locale:
        before = user.locale
        user.locale = data.locale
        ctx.session.flush()
        ctx.audit(
            "user.locale",
            target_type="user",
            target_id=user.id,
            details={"before": before, "after": data.locale},
        )
    return me_out(user)


def change_own_password(ctx: ActionContext, data: PasswordChange) -> None:
    """Change one's own password. Every session and token, including the one making this
    call, stops working: sign in again. 422 ``wrong_password`` / ``weak_password``."""
    user = _require_user_actor(ctx)
    if not passwords.verify_password(ctx.settings, user.password_hash, data.current_password):
        raise InvalidInput("当前密码不正确", "Current password is wrong", code="wrong_password")
    passwords.check_policy(ctx.settings, data.new_password, user.username)
    if hmac.compare_digest(data.new_password.encode(), data.current_password.encode()):
        raise InvalidInput(
            "新密码不能与当前密码相同",
            "The new password must differ from the current one",
            code="weak_password",
            details={"reasons": ["reused"]},
        )
    user.password_hash = passwords.hash_password(ctx.settings, data.new_password)
    user.password_changed_at = now()
    _kill_sessions(ctx.session, user)
    ctx.session.flush()
    ctx.audit("user.password_change", target_type="user", target_id=user.id)


def logout_everywhere(ctx: ActionContext) -> None:
    """End every session and bearer token of the signed-in user."""
    user = _require_user_actor(ctx)
    _kill_sessions(ctx.session, user)
    ctx.session.flush()
    ctx.audit("auth.logout_all", target_type="user", target_id=user.id)


def enrol_totp(ctx: ActionContext) -> TotpEnrolment:
    """Start TOTP enrolment for oneself; confirm with a current code to switch it on.
    409 ``totp_already_enabled``."""
    user = _require_user_actor(ctx)
    enrolment = start_totp_enrolment(user)
    ctx.session.flush()
    ctx.audit("user.totp_enrol", target_type="user", target_id=user.id)
    return enrolment


def confirm_totp(ctx: ActionContext, data: TotpConfirm) -> MeOut:
    """Switch TOTP on with a current code. 422 ``invalid_otp``, 409 ``totp_not_enrolled``."""
    user = _require_user_actor(ctx)
    finish_totp_enrolment(user, data.code)
    ctx.session.flush()
    ctx.audit("user.totp_confirm", target_type="user", target_id=user.id)
    return me_out(user)


def start_totp_enrolment(user: User) -> TotpEnrolment:
    """Give ``user`` a fresh, not yet active TOTP secret (shared with the login flow)."""
    if user.totp_enabled:
        raise Conflict("已启用动态口令", "TOTP is already enabled", code="totp_already_enabled")
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    uri = totp.provisioning_uri(user.totp_secret, user.username)
    return TotpEnrolment(secret=user.totp_secret, provisioning_uri=uri)


def finish_totp_enrolment(user: User, code: str) -> None:
    if user.totp_enabled or user.totp_secret is None:
        raise Conflict(
            "请先开始动态口令绑定", "Start TOTP enrolment first", code="totp_not_enrolled"
        )
    step = totp.matching_step(user.totp_secret, code, None)
    if step is None:
        raise InvalidInput("动态口令不正确", "Wrong one-time code", code="invalid_otp")
    user.totp_enabled = True
    user.totp_last_step = step


def reset_totp(ctx: ActionContext, user_id: str) -> UserOut:
    """Remove a user's second factor (lost phone); they enrol again at the next login.
    Ends their sessions and tokens."""
    ctx.require(Perm.USER_MANAGE)
    s = ctx.session
    user = _user(s, user_id)
    _require_manage_user(ctx, user)
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    _kill_sessions(s, user)
    s.flush()
    ctx.audit("user.totp_reset", target_type="user", target_id=user.id)
    return _user_out(user)
