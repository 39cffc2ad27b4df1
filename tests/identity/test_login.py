"""Login: passwords, lockout, disabled accounts, TOTP, privileged 2FA, sessions, tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt
import pyotp
import pytest
from sqlalchemy import text

from govdata.config import Settings
from govdata.core.clock import as_utc, now
from govdata.core.errors import Conflict, GovDataError, NotAuthenticated, PermissionDenied
from govdata.identity import actions, auth
from govdata.identity.models import User
from govdata.identity.schemas import (
    LocaleUpdate,
    PasswordChange,
    PasswordReset,
    RoleAssignmentIn,
    TotpConfirm,
)
from govdata.security.context import Caller
from govdata.security.permissions import Role
from tests.identity.conftest import PASSWORD, Org, audit_rows, build_org


def login(org: Org, username: str, password: str = PASSWORD, otp: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    settings = org.settings.model_copy(update=kw) if kw else org.settings
    return auth.authenticate(org.db, settings, username, password, otp, "10.0.0.1")


def user_row(org: Org, username: str) -> dict[str, object]:
    with org.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM users WHERE username = :u"), {"u": username}).one()
        return dict(row._mapping)


def set_column(org: Org, table: str, column: str, value: object, key: str, key_value: str) -> None:
    with org.db.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": value, "k": key_value}
        )


def test_login_success_is_audited(org: Org) -> None:
    result = login(org, "XN_Clerk ")
    assert result.username == "xn_clerk" and not result.mfa_enrollment_required
    assert user_row(org, "xn_clerk")["last_login_at"] is not None
    row = audit_rows(org.db, "auth.login")[-1]
    assert (row["actor_name"], row["outcome"]) == ("xn_clerk", "success")


def test_wrong_password_and_unknown_user(org: Org) -> None:
    for username in ("xn_clerk", "nobody"):
        with pytest.raises(NotAuthenticated) as exc:
            login(org, username, "Wrong!passw0rd")
        assert exc.value.code == "invalid_credentials"
    rows = audit_rows(org.db, "auth.login")
    assert [(r["actor_name"], r["outcome"]) for r in rows[-2:]] == [
        ("xn_clerk", "failure"),
        ("nobody", "failure"),
    ]
    assert rows[-1]["details"] == {"reason": "unknown_user"}


def test_lockout_after_failures_persists(org: Org) -> None:
    org.settings = org.settings.model_copy(update={"login_max_failures": 3})
    for attempt in range(1, 4):
        with pytest.raises(NotAuthenticated):
            login(org, "xn_clerk", "Wrong!passw0rd")
        # Committed although the login raised.
        assert user_row(org, "xn_clerk")["failed_logins"] == attempt
    assert user_row(org, "xn_clerk")["locked_until"] is not None
    with pytest.raises(GovDataError) as exc:
        login(org, "xn_clerk")
    assert (exc.value.code, exc.value.status) == ("account_locked", 423)
    failures = [r for r in audit_rows(org.db, "auth.login") if r["outcome"] == "failure"]
    assert len(failures) == 4 and failures[-1]["details"] == {"reason": "locked"}
    with org.system.act() as ctx:
        out = actions.unlock_user(ctx, org.users["xn_clerk"])
    assert not out.locked and out.failed_logins == 0
    assert login(org, "xn_clerk").username == "xn_clerk"


def test_lockout_runs_out(org: Org) -> None:
    org.settings = org.settings.model_copy(update={"login_max_failures": 2})
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            login(org, "xn_clerk", "Wrong!passw0rd")
    with pytest.raises(GovDataError, match="account_locked"):
        login(org, "xn_clerk")
    set_column(org, "users", "locked_until", now() - timedelta(seconds=1), "username", "xn_clerk")
    login(org, "xn_clerk")
    assert user_row(org, "xn_clerk")["failed_logins"] == 0


def test_disabled_user_cannot_log_in_or_use_old_credentials(org: Org) -> None:
    token, _ = auth.issue_access_token(org.settings, login(org, "xn_clerk"))
    cookie, _ = auth.start_session(org.db, org.settings, login(org, "xn_clerk"), None, None)
    assert auth.actor_from_bearer(org.db, org.settings, token).name == "xn_clerk"
    with org.as_("xn_admin").act() as ctx:
        actions.disable_user(ctx, org.users["xn_clerk"])
    with pytest.raises(PermissionDenied) as exc:
        login(org, "xn_clerk")
    assert exc.value.code == "account_disabled"
    with pytest.raises(NotAuthenticated) as exc2:
        auth.actor_from_bearer(org.db, org.settings, token)
    assert exc2.value.code == "account_disabled"
    assert auth.actor_from_session(org.db, org.settings, cookie) is None
    with org.system.act() as ctx:
        actions.enable_user(ctx, org.users["xn_clerk"])
    with pytest.raises(NotAuthenticated) as exc2:
        auth.actor_from_bearer(org.db, org.settings, token)
    assert exc2.value.code == "token_revoked"
    assert auth.actor_from_session(org.db, org.settings, cookie) is None
    assert {r["target_id"] for r in audit_rows(org.db, "user.disable")} == {org.users["xn_clerk"]}


def test_cannot_disable_yourself(org: Org) -> None:
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        actions.disable_user(ctx, org.users["operator"])


def _enrol(org: Org, username: str) -> pyotp.TOTP:
    with org.as_(username).act() as ctx:
        enrolment = actions.enrol_totp(ctx)
    assert enrolment.provisioning_uri.startswith("otpauth://totp/GovData:")
    code = pyotp.TOTP(enrolment.secret)
    with pytest.raises(GovDataError, match="invalid_otp"), org.as_(username).act() as ctx:
        actions.confirm_totp(
            ctx, TotpConfirm(code="000000" if code.now() != "000000" else "111111")
        )
    with org.as_(username).act() as ctx:
        assert actions.confirm_totp(ctx, TotpConfirm(code=code.now())).totp_enabled
    return code


def test_totp_flow(org: Org) -> None:
    code = _enrol(org, "xn_clerk")
    with pytest.raises(NotAuthenticated) as exc:
        login(org, "xn_clerk")
    assert exc.value.code == "otp_required"
    with pytest.raises(NotAuthenticated) as exc:
        login(org, "xn_clerk", otp="12345x")
    assert exc.value.code == "invalid_otp"
    assert user_row(org, "xn_clerk")["failed_logins"] == 1
    # The code used to confirm cannot log in again; the next step's code can, once.
    with pytest.raises(NotAuthenticated, match="invalid_otp"):
        login(org, "xn_clerk", otp=code.now())
    following = code.at(time.time() + code.interval)
    assert login(org, "xn_clerk", otp=following).username == "xn_clerk"
    with pytest.raises(NotAuthenticated, match="invalid_otp"):
        login(org, "xn_clerk", otp=following)
    with org.system.act() as ctx:
        assert not actions.reset_totp(ctx, org.users["xn_clerk"]).totp_enabled
    assert login(org, "xn_clerk").username == "xn_clerk"


def test_privileged_roles_need_a_second_factor(org: Org) -> None:
    result = login(org, "operator")
    assert result.mfa_enrollment_required and result.enrolment_token
    with pytest.raises(NotAuthenticated):
        auth.start_session(org.db, org.settings, result, None, None)
    assert audit_rows(org.db, "auth.login")[-1]["details"] == {"reason": "mfa_enrollment_required"}
    # The enrolment token is no bearer token.
    with pytest.raises(NotAuthenticated, match="invalid_token"):
        auth.actor_from_bearer(org.db, org.settings, result.enrolment_token)
    enrolment = auth.begin_mfa_enrolment(org.db, org.settings, result.enrolment_token)
    done = auth.complete_mfa_enrolment(
        org.db, org.settings, result.enrolment_token, pyotp.TOTP(enrolment.secret).now()
    )
    assert not done.mfa_enrollment_required
    cookie, _ = auth.start_session(org.db, org.settings, done, None, None)
    actor = auth.actor_from_session(org.db, org.settings, cookie)
    assert actor is not None and actor.has_role(Role.OPERATOR)


def test_demo_mode_waives_the_second_factor(org: Org) -> None:
    result = login(org, "operator", demo_mode=True)
    assert not result.mfa_enrollment_required and result.enrolment_token is None
    # Other roles never need it.
    assert not login(org, "xn_admin").mfa_enrollment_required


def test_session_lifecycle_and_idle_timeout(org: Org) -> None:
    cookie, csrf = auth.start_session(
        org.db, org.settings, login(org, "xn_clerk"), "10.0.0.1", "pytest"
    )
    assert auth.session_csrf_token(org.db, cookie) == csrf
    actor = auth.actor_from_session(org.db, org.settings, cookie)
    assert actor is not None and actor.department_id == org.dept["xn_stats"]
    assert actor.region_path == "630000/630100"
    token_hash = auth._session_hash(cookie)
    # Recent activity is not rewritten on every request...
    recent = now() - timedelta(seconds=20)
    set_column(org, "web_sessions", "last_seen_at", recent, "token_hash", token_hash)
    auth.actor_from_session(org.db, org.settings, cookie)
    with org.db.engine.connect() as conn:
        seen = conn.execute(
            text("SELECT last_seen_at FROM web_sessions WHERE token_hash = :h"), {"h": token_hash}
        ).scalar_one()
    assert abs((_aware(seen) - recent).total_seconds()) < 1
    # ...older activity slides forward.
    set_column(
        org, "web_sessions", "last_seen_at", now() - timedelta(minutes=5), "token_hash", token_hash
    )
    assert auth.actor_from_session(org.db, org.settings, cookie) is not None
    idle = now() - timedelta(minutes=org.settings.session_idle_minutes + 1)
    set_column(org, "web_sessions", "last_seen_at", idle, "token_hash", token_hash)
    assert auth.actor_from_session(org.db, org.settings, cookie) is None
    assert auth.actor_from_session(org.db, org.settings, "no-such-cookie") is None


def _aware(value: datetime | str) -> datetime:
    # Raw SQL on SQLite returns text; PostgreSQL returns datetimes.
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def test_logout_ends_the_session(org: Org) -> None:
    cookie, _ = auth.start_session(org.db, org.settings, login(org, "xn_clerk"), None, None)
    auth.end_session(org.db, cookie, "10.0.0.1")
    assert auth.actor_from_session(org.db, org.settings, cookie) is None
    assert auth.session_csrf_token(org.db, cookie) is None
    assert audit_rows(org.db, "auth.logout")[-1]["actor_name"] == "xn_clerk"


def test_bearer_token_errors(org: Org) -> None:
    key = org.settings.resolved_secret_key()
    past = int(time.time()) - 3600
    live = {"sub": org.users["xn_clerk"], "typ": "access", "ep": 0, "iat": past, "exp": past + 9999}
    assert auth.actor_from_bearer(org.db, org.settings, jwt.encode(live, key)).name == "xn_clerk"
    expired = jwt.encode({**live, "exp": past + 60}, key)
    forged = jwt.encode(live, "another-key-" + "y" * 32)
    no_epoch = jwt.encode({k: v for k, v in live.items() if k != "ep"}, key)
    for token, code in [
        (expired, "token_expired"),
        (forged, "invalid_token"),
        (no_epoch, "invalid_token"),
        ("junk", "invalid_token"),
        # Only the user's current epoch is good, not a later one either.
        (jwt.encode({**live, "ep": 1}, key), "token_revoked"),
    ]:
        with pytest.raises(NotAuthenticated) as exc:
            auth.actor_from_bearer(org.db, org.settings, token)
        assert exc.value.code == code


def test_password_change_kills_old_tokens(org: Org) -> None:
    token, expires_in = auth.issue_access_token(org.settings, login(org, "xn_clerk"))
    assert expires_in == org.settings.access_token_minutes * 60
    with org.as_("xn_clerk").act() as ctx:
        actions.change_own_password(
            ctx, PasswordChange(current_password=PASSWORD, new_password="An0ther!pass")
        )
    with pytest.raises(NotAuthenticated, match="token_revoked"):
        auth.actor_from_bearer(org.db, org.settings, token)
    fresh, _ = auth.issue_access_token(org.settings, login(org, "xn_clerk", "An0ther!pass"))
    assert auth.actor_from_bearer(org.db, org.settings, fresh).name == "xn_clerk"


def _change_password(org: Org, user_id: str) -> None:
    with org.as_("xn_clerk").act() as ctx:
        actions.change_own_password(
            ctx, PasswordChange(current_password=PASSWORD, new_password="An0ther!pass")
        )


def _reset_password(org: Org, user_id: str) -> None:
    with org.as_("xn_admin").act() as ctx:
        actions.reset_password(ctx, user_id, PasswordReset(new_password="N3w!passwd"))


def _reset_totp(org: Org, user_id: str) -> None:
    with org.as_("xn_admin").act() as ctx:
        actions.reset_totp(ctx, user_id)


def _logout_everywhere(org: Org, user_id: str) -> None:
    with org.as_("xn_clerk").act() as ctx:
        actions.logout_everywhere(ctx)


def _disable_and_enable(org: Org, user_id: str) -> None:
    # Enabling the account again must not bring its old tokens back.
    with org.as_("xn_admin").act() as ctx:
        actions.disable_user(ctx, user_id)
    with org.as_("xn_admin").act() as ctx:
        actions.enable_user(ctx, user_id)


@pytest.mark.parametrize(
    "revoke",
    [_change_password, _reset_password, _reset_totp, _logout_everywhere, _disable_and_enable],
)
def test_each_revocation_moves_the_epoch_once(org: Org, revoke: Callable[[Org, str], None]) -> None:
    user_id = org.users["xn_clerk"]
    result = login(org, "xn_clerk")
    token, _ = auth.issue_access_token(org.settings, result)
    cookie, _ = auth.start_session(org.db, org.settings, result, None, None)
    epoch = user_row(org, "xn_clerk")["token_epoch"]
    revoke(org, user_id)
    assert user_row(org, "xn_clerk")["token_epoch"] == epoch + 1
    with pytest.raises(NotAuthenticated, match="token_revoked"):
        auth.actor_from_bearer(org.db, org.settings, token)
    assert auth.actor_from_session(org.db, org.settings, cookie) is None


def test_other_changes_leave_tokens_alive(org: Org) -> None:
    user_id = org.users["xn_clerk"]
    result = login(org, "xn_clerk")
    token, _ = auth.issue_access_token(org.settings, result)
    cookie, _ = auth.start_session(org.db, org.settings, result, None, None)
    with org.as_("xn_admin").act() as ctx:
        actions.unlock_user(ctx, user_id)
    with org.as_("xn_clerk").act() as ctx:
        actions.set_own_locale(ctx, LocaleUpdate(locale="en"))
    assert user_row(org, "xn_clerk")["token_epoch"] == 0
    assert auth.actor_from_bearer(org.db, org.settings, token).id == user_id
    assert auth.actor_from_session(org.db, org.settings, cookie) is not None


def test_token_from_a_login_before_a_revocation_is_dead(org: Org) -> None:
    # The token is minted after the revocation, but from a login checked before it.
    result = login(org, "xn_clerk")
    _logout_everywhere(org, result.user_id)
    token, _ = auth.issue_access_token(org.settings, result)
    with pytest.raises(NotAuthenticated, match="token_revoked"):
        auth.actor_from_bearer(org.db, org.settings, token)
    # Nor can it open a portal session.
    with pytest.raises(NotAuthenticated):
        auth.start_session(org.db, org.settings, result, None, None)


def test_logout_everywhere(org: Org) -> None:
    token, _ = auth.issue_access_token(org.settings, login(org, "xn_clerk"))
    actor = auth.actor_from_bearer(org.db, org.settings, token)
    with Caller(org.db, org.settings, actor).act() as ctx:
        actions.logout_everywhere(ctx)
    with pytest.raises(NotAuthenticated, match="token_revoked"):
        auth.actor_from_bearer(org.db, org.settings, token)


def test_roles_reach_the_actor(db, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    org = build_org(db, settings)
    org.add_user(
        "both",
        RoleAssignmentIn(role=Role.DEPT_OFFICER),
        RoleAssignmentIn(role=Role.REGION_OPERATOR, region_code="632800"),
        department="xn_stats",
    )
    token, _ = auth.issue_access_token(settings, login(org, "both"))
    actor = auth.actor_from_bearer(db, settings, token)
    grants = {(g.role, g.region_path, g.department_id) for g in actor.grants}
    assert grants == {
        (Role.DEPT_OFFICER, None, org.dept["xn_stats"]),
        (Role.REGION_OPERATOR, "630000/632800", None),
    }


def test_revocation_right_after_issue_always_wins(org: Org) -> None:
    # A token issued in the same millisecond as a revocation is the case a clock
    # comparison gets wrong; looping without pauses makes it come up.
    user_id = org.users["xn_clerk"]
    revoker = org.as_("xn_clerk")
    for _ in range(200):
        with revoker.act() as ctx:
            # Issued from the row the revocation is about to change: as a login on another
            # connection would be just before the revocation commits.
            user = ctx.session.get(User, user_id)
            assert user is not None
            old, _ = auth.issue_access_token(org.settings, user)
            actions.logout_everywhere(ctx)
        with pytest.raises(NotAuthenticated, match="token_revoked"):
            auth.actor_from_bearer(org.db, org.settings, old)
        with org.db.sessions() as s:
            user = s.get(User, user_id)
            assert user is not None
            fresh, _ = auth.issue_access_token(org.settings, user)
        assert auth.actor_from_bearer(org.db, org.settings, fresh).id == user_id
