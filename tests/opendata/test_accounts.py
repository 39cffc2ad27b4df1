"""Public accounts: register with e-mail or mobile, verify with the code the log gateway
writes, sign in; every refusal (duplicate, bad format, wrong, expired, exhausted or too
early code, wrong password, unverified account) changes nothing it should not."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from govdata.core import clock
from govdata.core.errors import GovDataError
from govdata.opendata import accounts, gateway
from govdata.opendata.account_models import PublicAccount, PublicCode, PublicSession
from govdata.opendata.accounts import RegisterIn, VerifyIn
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS
from tests.identity.conftest import Org, audit_rows
from tests.opendata.conftest import org, settings

__all__ = ["org", "settings"]

PASSWORD = "Kaifang@2026x"
CODE_RE = re.compile(r"code is (\d{6})")


def anon(org: Org) -> Caller:
    return Caller(org.db, org.settings, ANONYMOUS, "127.0.0.1")


def last_code(caplog: pytest.LogCaptureFixture, address: str) -> str:
    lines = [r.getMessage() for r in caplog.records if r.name == "govdata.opendata.gateway"]
    mine = [line for line in lines if f" to {address}:" in line]
    assert mine, lines
    match = CODE_RE.search(mine[-1])
    assert match, mine[-1]
    return match.group(1)


def register(org: Org, address: str, name: str = "张三", **kw: Any) -> accounts.AccountOut:
    with anon(org).act() as ctx:
        return accounts.register(
            ctx, RegisterIn(account=address, display_name=name, password=PASSWORD, **kw)
        )


def verified_account(
    org: Org, caplog: pytest.LogCaptureFixture, address: str = "zhang@example.cn", **kw: Any
) -> accounts.AccountOut:
    """A registered, verified account (the code read from the log gateway)."""
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    out = register(org, address, **kw)
    accounts.verify(anon(org), VerifyIn(account=address, code=last_code(caplog, address)))
    return out


def public_caller(org: Org, account_id: str) -> Caller:
    with org.db.transaction() as s:
        account = s.get(PublicAccount, account_id)
        assert account is not None
        actor = accounts.actor_of(account)
    return Caller(org.db, org.settings, actor, "127.0.0.1")


def _count(org: Org, model: Any) -> int:
    with org.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _refused(fn: Any, code: str) -> GovDataError:
    with pytest.raises(GovDataError) as info:
        fn()
    assert info.value.code == code, (info.value.code, info.value.details)
    return info.value


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Move the clock the accounts code reads forward by a timedelta."""
    shift = [timedelta(0)]
    real = clock.now

    def fake() -> datetime:
        return real() + shift[0]

    monkeypatch.setattr(clock, "now", fake)

    def move(by: timedelta) -> None:
        shift[0] += by

    yield move


def test_register_verify_sign_in_and_out(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    out = register(org, " Zhang@Example.CN ", kind="researcher", organisation="青海大学")
    assert out.email == "zhang@example.cn" and out.mobile is None and not out.verified
    # The password and the code are never stored in clear.
    with org.db.transaction() as s:
        acc = s.get(PublicAccount, out.id)
        code_row = s.get(PublicCode, out.id)
        assert acc is not None and code_row is not None
        assert PASSWORD not in acc.password_hash and acc.password_hash.startswith("$argon2")
    code = last_code(caplog, "zhang@example.cn")
    assert code not in code_row.code_hash
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    # Unverified: no sign-in.
    _refused(
        lambda: accounts.login(anon(org), "zhang@example.cn", PASSWORD),
        "opendata_account_unverified",
    )
    verified = accounts.verify(anon(org), VerifyIn(account="ZHANG@example.cn", code=code))
    assert verified.verified
    assert _count(org, PublicCode) == 0  # a used code is gone
    token, me = accounts.login(anon(org), "zhang@example.cn", PASSWORD)
    assert me.id == out.id and len(token) > 30
    with org.db.transaction() as s:
        assert accounts.session_account(s, token) is not None
        stored = s.scalars(select(PublicSession.token_hash)).one()
        assert stored != token and stored == accounts.token_hash(token)
    accounts.logout(org.db, token)
    with org.db.transaction() as s:
        assert accounts.session_account(s, token) is None
    actions = [r["action"] for r in audit_rows(org.db, "opendata.account.login")]
    assert actions == ["opendata.account.login"]
    assert len(audit_rows(org.db, "opendata.account.register")) == 1


def test_mobile_account_and_format_and_duplicates(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    out = register(org, "+86 139-0971-0001", kind="company", organisation="青海数科有限公司")
    assert out.mobile == "13909710001" and out.email is None
    assert last_code(caplog, "13909710001")
    before = _count(org, PublicAccount)
    _refused(lambda: register(org, "13909710001"), "opendata_account_exists")
    for bad in ("12345", "23909710001", "not-an-address", "a@b", ""):
        _refused(lambda bad=bad: register(org, bad), "opendata_account_format")
    _refused(
        lambda: register(org, "li@example.cn", kind="company"), "opendata_organisation_required"
    )
    _refused(
        lambda: anon_register_weak(org, "wang@example.cn"),
        "weak_password",
    )
    assert _count(org, PublicAccount) == before
    assert _count(org, PublicCode) == 1


def anon_register_weak(org: Org, address: str) -> None:
    with anon(org).act() as ctx:
        accounts.register(ctx, RegisterIn(account=address, display_name="王五", password="abc"))


def test_wrong_expired_and_exhausted_codes(
    org: Org, caplog: pytest.LogCaptureFixture, later: Any
) -> None:
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    address = "li@example.cn"
    register(org, address)
    code = last_code(caplog, address)
    wrong = "000000" if code != "000000" else "111111"
    err = _refused(
        lambda: accounts.verify(anon(org), VerifyIn(account=address, code=wrong)),
        "opendata_code_invalid",
    )
    assert err.details == {"attempts_left": 4}
    _refused(
        lambda: accounts.verify(anon(org), VerifyIn(account="nobody@example.cn", code=code)),
        "opendata_account_unknown",
    )
    # Too early for a new code: the old one stays valid.
    _refused(lambda: resend(org, address), "opendata_code_too_soon")
    # Expired after ten minutes, even the right code.
    later(timedelta(minutes=11))
    err = _refused(
        lambda: accounts.verify(anon(org), VerifyIn(account=address, code=code)),
        "opendata_code_expired",
    )
    with org.db.transaction() as s:
        acc = s.scalars(select(PublicAccount)).one()
        assert acc.verified_at is None
    # A new code voids the old one; five wrong tries end it.
    resend(org, address)
    fresh = last_code(caplog, address)
    if fresh != code:
        _refused(
            lambda: accounts.verify(anon(org), VerifyIn(account=address, code=code)),
            "opendata_code_invalid",
        )
    wrong = "000000" if fresh != "000000" else "111111"
    while True:
        e = _refused_any(lambda: accounts.verify(anon(org), VerifyIn(account=address, code=wrong)))
        if e.code == "opendata_code_expired":
            break
        assert e.code == "opendata_code_invalid"
    _refused(
        lambda: accounts.verify(anon(org), VerifyIn(account=address, code=fresh)),
        "opendata_code_expired",
    )
    # One wrong try of the first code, then the old code and four wrong ones on the second.
    assert len(audit_rows(org.db, "opendata.account.verify")) == 6
    # After the pause a third code works.
    later(timedelta(seconds=61))
    resend(org, address)
    accounts.verify(anon(org), VerifyIn(account=address, code=last_code(caplog, address)))
    _refused(lambda: resend(org, address), "opendata_account_unknown")


def _refused_any(fn: Any) -> GovDataError:
    with pytest.raises(GovDataError) as info:
        fn()
    return info.value


def resend(org: Org, address: str) -> None:
    with anon(org).act() as ctx:
        accounts.resend_code(ctx, address)


def test_sign_in_refusals(org: Org, caplog: pytest.LogCaptureFixture, later: Any) -> None:
    verified_account(org, caplog, "13800000077")
    _refused(
        lambda: accounts.login(anon(org), "13800000077", "Wrong@2026x"), "opendata_login_failed"
    )
    _refused(lambda: accounts.login(anon(org), "13800000078", PASSWORD), "opendata_login_failed")
    _refused(lambda: accounts.login(anon(org), "garbage", PASSWORD), "opendata_login_failed")
    assert _count(org, PublicSession) == 0
    failures = audit_rows(org.db, "opendata.account.login")
    assert [r["outcome"] for r in failures] == ["failure"]
    token, _ = accounts.login(anon(org), "13800000077", PASSWORD)
    # Sessions expire.
    later(timedelta(hours=13))
    with org.db.transaction() as s:
        assert accounts.session_account(s, token) is None
        assert accounts.purge_sessions(s) == 1


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[int, list[tuple[str, list[str], bytes]]]]:
    """A real SMTP server (aiosmtpd) on a free port in its own thread; yields the port and
    the messages it received."""
    received: list[tuple[str, list[str], bytes]] = []

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_smtp_gateway_delivers_the_code(
    org: Org, smtp_inbox: tuple[int, list[tuple[str, list[str], bytes]]]
) -> None:
    port, received = smtp_inbox
    settings = org.settings.model_copy(
        update={
            "opendata_mail_gateway": "smtp",
            "opendata_smtp_host": "127.0.0.1",
            "opendata_smtp_port": port,
            "opendata_smtp_from": "noreply@data.qh.gov.cn",
        }
    )
    with Caller(org.db, settings, ANONYMOUS).act() as ctx:
        accounts.register(
            ctx, RegisterIn(account="qian@example.cn", display_name="钱", password=PASSWORD)
        )
    assert len(received) == 1
    mailfrom, rcpttos, data = received[0]
    assert mailfrom == "noreply@data.qh.gov.cn" and rcpttos == ["qian@example.cn"]
    body = email.message_from_bytes(data, policy=email.policy.default)
    text = body.get_body().get_content()  # type: ignore[union-attr]
    code = CODE_RE.search(text)
    assert code is not None
    accounts.verify(
        Caller(org.db, settings, ANONYMOUS), VerifyIn(account="qian@example.cn", code=code[1])
    )


def test_smtp_gateway_builds_the_message_and_reports_failure(org: Org) -> None:
    settings = org.settings.model_copy(
        update={
            "opendata_mail_gateway": "smtp",
            "opendata_smtp_host": "127.0.0.1",
            "opendata_smtp_port": _closed_port(),
            "opendata_smtp_from": "noreply@data.qh.gov.cn",
            "opendata_smtp_timeout": 2.0,
        }
    )
    gw = gateway.for_address(settings, "zhao@example.cn")
    assert isinstance(gw, gateway.SmtpGateway)
    msg = gw.build(gateway.Outgoing("zhao@example.cn", "验证码", "Your code is 123456"))
    assert msg["From"] == "noreply@data.qh.gov.cn" and msg["To"] == "zhao@example.cn"
    assert "123456" in msg.get_content()
    # No server: registration fails with the gateway's error and nothing is stored.
    with pytest.raises(GovDataError) as info, Caller(org.db, settings, ANONYMOUS).act() as ctx:
        accounts.register(
            ctx, RegisterIn(account="zhao@example.cn", display_name="赵", password=PASSWORD)
        )
    assert info.value.code == "opendata_gateway_failed" and info.value.status == 503
    assert _count(org, PublicAccount) == 0
    assert isinstance(gateway.for_address(settings, "13900000000"), gateway.LogGateway)


def test_sms_gateway_posts_json_with_the_token(org: Org) -> None:
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    settings = org.settings.model_copy(
        update={
            "opendata_sms_gateway": "http",
            "opendata_sms_url": "https://sms.example.invalid/send",
            "opendata_sms_token": "tok-1",
        }
    )
    gw = gateway.HttpSmsGateway(settings, transport=httpx.MockTransport(handler))
    gw.send(gateway.Outgoing("13900000001", "验证码", "Your code is 654321"))
    assert seen[0].headers["authorization"] == "Bearer tok-1"
    assert b'"mobile":"13900000001"' in seen[0].content.replace(b" ", b"")
    failing = gateway.HttpSmsGateway(
        settings, transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    with pytest.raises(GovDataError) as info:
        failing.send(gateway.Outgoing("13900000001", "x", "y"))
    assert info.value.code == "opendata_gateway_failed"


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_lapsed_registration_does_not_hold_the_address(
    org: Org, caplog: pytest.LogCaptureFixture, later: Any
) -> None:
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    first = register(org, "13900000055", name="冒名者")
    _refused(lambda: register(org, "13900000055"), "opendata_account_exists")
    later(timedelta(minutes=11))
    second = register(org, "13900000055", name="真正的机主")
    assert second.id != first.id and _count(org, PublicAccount) == 1
    accounts.verify(
        anon(org), VerifyIn(account="13900000055", code=last_code(caplog, "13900000055"))
    )
    # A verified account always holds its address.
    later(timedelta(days=1))
    _refused(lambda: register(org, "13900000055"), "opendata_account_exists")


def test_the_operator_disables_and_enables_an_account(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    acc = verified_account(org, caplog, "ma@example.cn", name="马")
    token, _ = accounts.login(anon(org), "ma@example.cn", PASSWORD)
    with org.as_("xn_officer").act() as ctx:
        _refused(lambda: accounts.set_disabled(ctx, acc.id, True), "permission_denied")
    with org.as_("operator").act() as ctx:
        listed = accounts.list_accounts(ctx, q="MA@")
        assert [a.id for a in listed] == [acc.id] and not listed[0].disabled
        assert accounts.set_disabled(ctx, acc.id, True).disabled
    with org.db.transaction() as s:
        assert accounts.session_account(s, token) is None
    _refused(
        lambda: accounts.login(anon(org), "ma@example.cn", PASSWORD), "opendata_account_disabled"
    )
    with org.as_("operator").act() as ctx:
        assert not accounts.set_disabled(ctx, acc.id, False).disabled
    accounts.login(anon(org), "ma@example.cn", PASSWORD)
    assert [r["action"] for r in audit_rows(org.db, "opendata.account.disable")] == [
        "opendata.account.disable"
    ]
