"""The one-time-code step of a login: a signed token stands in for the password."""

from __future__ import annotations

import time

import pyotp
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import text

from govdata.app import create_app
from govdata.core.errors import GovDataError, NotAuthenticated
from govdata.identity import actions, auth
from govdata.identity.schemas import LoginResult, PasswordChange, TotpConfirm
from tests.identity.conftest import PASSWORD, Org, audit_rows

WRONG = "12345x"


def enrol(org: Org, username: str) -> pyotp.TOTP:
    with org.as_(username).act() as ctx:
        code = pyotp.TOTP(actions.enrol_totp(ctx).secret)
        actions.confirm_totp(ctx, TotpConfirm(code=code.now()))
    return code


def next_code(code: pyotp.TOTP) -> str:
    # The current step's code confirmed the enrolment and cannot be used again.
    return code.at(time.time() + code.interval)


def otp_step(org: Org, username: str) -> str:
    """The password alone: the OTP-step token."""
    with pytest.raises(auth.OtpStep) as exc:
        auth.authenticate(org.db, org.settings, username.upper(), PASSWORD, None, "10.0.0.1")
    assert exc.value.code == "otp_required" and exc.value.username == username
    assert exc.value.otp_token is not None
    return exc.value.otp_token


def finish(org: Org, token: str, otp: str) -> LoginResult:
    return auth.complete_otp_login(org.db, org.settings, token, otp, "10.0.0.1")


def user_row(org: Org, username: str) -> dict[str, object]:
    with org.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM users WHERE username = :u"), {"u": username}).one()
        return dict(row._mapping)


def reasons(org: Org) -> list[object]:
    return [
        r["details"]["reason"] if r["details"] else None for r in audit_rows(org.db, "auth.login")
    ]


def serializer(
    org: Org, salt: str = auth.OTP_STEP_SALT, signer: type[TimestampSigner] = TimestampSigner
) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(org.settings.resolved_secret_key(), salt=salt, signer=signer)


def signed_ago(org: Org, token: str, seconds: int) -> str:
    """The same claims, signed as if ``seconds`` ago."""

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    return serializer(org, signer=Earlier).dumps(serializer(org).loads(token))


def test_the_token_logs_in_once(org: Org) -> None:
    code = enrol(org, "xn_clerk")
    token = otp_step(org, "xn_clerk")
    assert PASSWORD not in token
    result = finish(org, token, next_code(code))
    assert result.username == "xn_clerk" and not result.mfa_enrollment_required
    assert user_row(org, "xn_clerk")["last_login_at"] is not None
    assert reasons(org)[-2:] == ["otp_required", None]
    assert audit_rows(org.db, "auth.login")[-1]["outcome"] == "success"
    # Replayed, the token is refused before any code is looked at.
    with pytest.raises(NotAuthenticated) as exc:
        finish(org, token, WRONG)
    assert exc.value.code == "otp_step_expired"
    assert reasons(org)[-1] == "otp_step_stale"
    assert user_row(org, "xn_clerk")["failed_logins"] == 0


def test_tampered_foreign_and_expired_tokens_are_refused(org: Org) -> None:
    code = enrol(org, "xn_clerk")
    token = otp_step(org, "xn_clerk")
    claims = serializer(org).loads(token)
    # The first character is payload (the last may be base64 padding bits).
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    foreign = serializer(org, salt="another-purpose").dumps(claims)
    expired = signed_ago(org, token, auth.OTP_STEP_SECONDS + 5)
    for bad in (flipped, foreign, expired, "junk"):
        with pytest.raises(NotAuthenticated) as exc:
            finish(org, bad, next_code(code))
        assert exc.value.code == "otp_step_expired"
    assert reasons(org)[-4:] == [
        "otp_step_invalid",
        "otp_step_invalid",
        "otp_step_expired",
        "otp_step_invalid",
    ]
    # An expired token still names its user; a forged one names nobody.
    names = [r["actor_name"] for r in audit_rows(org.db, "auth.login")[-4:]]
    assert names == ["anonymous", "anonymous", "xn_clerk", "anonymous"]
    row = user_row(org, "xn_clerk")
    assert row["last_login_at"] is None and row["failed_logins"] == 0
    # Within its age the same claims still log in: the refusals above were the token's.
    late = signed_ago(org, token, auth.OTP_STEP_SECONDS - 30)
    assert finish(org, late, next_code(code)).username == "xn_clerk"


def test_wrong_codes_count_towards_the_lockout(org: Org) -> None:
    org.settings = org.settings.model_copy(update={"login_max_failures": 3})
    code = enrol(org, "xn_clerk")
    token = otp_step(org, "xn_clerk")
    for attempt in (1, 2, 3):
        with pytest.raises(auth.OtpStep) as exc:
            finish(org, token, WRONG)
        assert exc.value.code == "invalid_otp"
        assert user_row(org, "xn_clerk")["failed_logins"] == attempt
        if attempt < 3:
            # The used token is stale now; the fresh one lets the user try again.
            with pytest.raises(NotAuthenticated, match="otp_step_expired"):
                finish(org, token, next_code(code))
            assert exc.value.otp_token and exc.value.otp_token != token
            token = exc.value.otp_token
    assert exc.value.otp_token is None
    assert user_row(org, "xn_clerk")["locked_until"] is not None
    with pytest.raises(GovDataError) as locked:
        finish(org, token, next_code(code))
    assert (locked.value.code, locked.value.status) == ("account_locked", 423)
    assert reasons(org)[-1] == "locked"
    assert reasons(org).count("invalid_otp") == 3
    assert user_row(org, "xn_clerk")["last_login_at"] is None


def test_a_password_change_or_failed_password_ends_the_token(org: Org) -> None:
    code = enrol(org, "xn_clerk")
    token = otp_step(org, "xn_clerk")
    with pytest.raises(NotAuthenticated, match="invalid_credentials"):
        auth.authenticate(org.db, org.settings, "xn_clerk", "Wrong!passw0rd", None, None)
    with pytest.raises(NotAuthenticated, match="otp_step_expired"):
        finish(org, token, next_code(code))

    token = otp_step(org, "xn_clerk")
    with org.as_("xn_clerk").act() as ctx:
        actions.change_own_password(
            ctx, PasswordChange(current_password=PASSWORD, new_password="Changed!pw99")
        )
    with pytest.raises(NotAuthenticated, match="otp_step_expired"):
        finish(org, token, next_code(code))
    assert user_row(org, "xn_clerk")["last_login_at"] is None


def test_the_api_takes_password_and_code_in_one_call(org: Org) -> None:
    code = enrol(org, "xn_clerk")
    with TestClient(create_app(org.settings)) as client:
        r = client.post("/api/v1/auth/token", json={"username": "xn_clerk", "password": PASSWORD})
        assert r.status_code == 401
        # The OTP-step token is for the portal only; the API error carries nothing to reuse.
        assert r.json()["error"]["code"] == "otp_required"
        assert r.json()["error"]["details"] is None
        r = client.post(
            "/api/v1/auth/token",
            json={"username": "xn_clerk", "password": PASSWORD, "otp": next_code(code)},
        )
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert client.get("/api/v1/me", headers=headers).json()["username"] == "xn_clerk"
