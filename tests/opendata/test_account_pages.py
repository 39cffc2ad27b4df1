"""The account pages through a browser-like client: register, verify with the logged code,
sign in (own cookie), apply through the form, the officer's queue and decision form, the
key shown once on the account page; refusals per role; anonymous forms need the token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.opendata.public_session import COOKIE
from tests.identity.conftest import PASSWORD, Org
from tests.opendata.conftest import org, settings
from tests.opendata.fixtures import opened_schools
from tests.opendata.test_accounts import PASSWORD as PUBLIC_PASSWORD
from tests.opendata.test_accounts import last_code, verified_account
from tests.opendata.test_applications import decide, submit
from tests.web.conftest import csrf_from, login

__all__ = ["org", "settings"]


def _client(org: Org) -> TestClient:
    app = create_app(org.settings.model_copy(update={"demo_mode": True}), migrate=False)
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def public(org: Org) -> Iterator[TestClient]:
    with _client(org) as c:
        yield c


@pytest.fixture
def officer(org: Org) -> Iterator[TestClient]:
    with _client(org) as c:
        yield c


def _post(client: TestClient, path: str, page_path: str, **data: str) -> object:
    token = csrf_from(client.get(page_path).text)
    return client.post(path, data={"csrf_token": token, **data})


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_register_apply_decide_and_the_key(
    org: Org,
    tmp_path: Path,
    public: TestClient,
    officer: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="govdata.opendata.gateway")
    ds = opened_schools(org, tmp_path, open_type="conditional")
    # The account page needs a signed-in public account.
    r = public.get("/open/account")
    assert r.status_code == 303 and r.headers["location"].startswith("/open/login?next=")
    form = public.get("/open/register")
    assert form.status_code == 200 and 'name="account"' in form.text
    # Without the double-submit token the form is refused.
    bad = public.post("/open/register", data={"account": "x@example.cn"})
    assert bad.status_code == 403
    weak = public.post(
        "/open/register",
        data={
            "csrf_token": csrf_from(form.text),
            "account": "sun@example.cn",
            "display_name": "孙研究员",
            "password": "abc",
            "kind": "researcher",
        },
    )
    assert weak.status_code == 422 and 'role="alert"' in weak.text and "sun@example.cn" in weak.text
    done = public.post(
        "/open/register",
        data={
            "csrf_token": csrf_from(form.text),
            "account": "sun@example.cn",
            "display_name": "孙研究员",
            "password": PUBLIC_PASSWORD,
            "kind": "researcher",
            "organisation": "青海大学",
        },
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/open/verify?")
    verify_page = public.get(done.headers["location"])
    assert "sun@example.cn" in verify_page.text and 'role="status"' in verify_page.text
    wrong = public.post(
        "/open/verify",
        data={"csrf_token": csrf_from(verify_page.text), "account": "sun@example.cn", "code": "x"},
    )
    assert wrong.status_code == 422
    ok = public.post(
        "/open/verify",
        data={
            "csrf_token": csrf_from(verify_page.text),
            "account": "sun@example.cn",
            "code": last_code(caplog, "sun@example.cn"),
        },
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith("/open/login?")
    login_page = public.get(ok.headers["location"])
    denied = public.post(
        "/open/login",
        data={
            "csrf_token": csrf_from(login_page.text),
            "account": "sun@example.cn",
            "password": "Wrong@2026x",
            "next": "/open/account",
        },
    )
    assert denied.status_code == 401 and COOKIE not in public.cookies
    signed = public.post(
        "/open/login",
        data={
            "csrf_token": csrf_from(login_page.text),
            "account": "sun@example.cn",
            "password": PUBLIC_PASSWORD,
            "next": f"/open/datasets/{ds.name}/apply",
        },
    )
    assert signed.status_code == 303 and signed.headers["location"].endswith("/apply")
    cookie = signed.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    apply_page = public.get(f"/open/datasets/{ds.name}/apply")
    assert apply_page.status_code == 200 and 'name="committed"' in apply_page.text
    assert "孙研究员" in apply_page.text  # the header shows the signed-in account
    fields = {"purpose": "教育资源研究", "contact": "孙 13900000003"}
    refused = public.post(
        f"/open/datasets/{ds.name}/apply",
        data={"csrf_token": csrf_from(apply_page.text), **fields},
    )
    assert refused.status_code == 422 and "教育资源研究" in refused.text
    applied = public.post(
        f"/open/datasets/{ds.name}/apply",
        data={"csrf_token": csrf_from(apply_page.text), "committed": "1", **fields},
    )
    assert (
        applied.status_code == 303 and applied.headers["location"] == "/open/account?done=applied"
    )
    account = public.get("/open/account")
    assert account.status_code == 200 and 'data-status="pending"' in account.text

    # The officer of the provider decides through the queue.
    login(officer, "xn_officer", PASSWORD)
    queue = officer.get("/opendata/applications")
    assert queue.status_code == 200 and 'id="open-applications"' in queue.text
    app_href = queue.text.split('href="/opendata/applications/', 1)[1].split('"', 1)[0]
    detail = officer.get(f"/opendata/applications/{app_href}")
    assert 'id="decide-panel"' in detail.text and "教育资源研究" in detail.text
    no_reason = officer.post(
        f"/opendata/applications/{app_href}/decide",
        data={"csrf_token": csrf_from(detail.text), "decision": "reject"},
    )
    assert no_reason.status_code == 422
    decided = officer.post(
        f"/opendata/applications/{app_href}/decide",
        data={"csrf_token": csrf_from(detail.text), "decision": "approve"},
    )
    assert decided.status_code == 303
    after = officer.get(decided.headers["location"])
    assert 'data-status="approved"' in after.text and 'id="decide-panel"' not in after.text

    # Other roles: another department's officer cannot see it, a clerk has no queue.
    officer.cookies.clear()
    login(officer, "hx_officer", PASSWORD)
    assert officer.get(f"/opendata/applications/{app_href}").status_code == 404
    assert 'data-code="' not in officer.get("/opendata/applications").text
    officer.cookies.clear()
    login(officer, "cd_clerk", PASSWORD)
    assert officer.get("/opendata/applications").status_code == 403

    # The key: shown once on the account page.
    account = public.get("/open/account")
    assert 'data-status="approved"' in account.text
    key_id = account.text.split('data-key="', 1)[1].split('"', 1)[0]
    shown = public.post(
        f"/open/account/keys/{key_id}/reveal", data={"csrf_token": csrf_from(account.text)}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    key = shown.text.split('data-testid="api-key">', 1)[1].split("<", 1)[0]
    assert key.startswith("gdo_")
    again = public.get("/open/account")
    assert key not in again.text and key[:12] in again.text
    assert (
        public.get(
            f"/open/datasets/{ds.name}/download.csv", headers={"Authorization": key}
        ).status_code
        == 200
    )
    revoked = public.post(
        f"/open/account/keys/{key_id}/revoke", data={"csrf_token": csrf_from(again.text)}
    )
    assert revoked.status_code == 303
    assert (
        public.get(
            f"/open/datasets/{ds.name}/download.csv", headers={"Authorization": key}
        ).status_code
        == 401
    )
    # Sign out ends the session.
    final = public.get("/open/account")
    out = public.post("/open/logout", data={"csrf_token": csrf_from(final.text)})
    assert out.status_code == 303
    assert public.get("/open/account").status_code == 303


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_pages_speak_chinese_and_sign_in_is_rate_limited(org: Org) -> None:
    settings = org.settings.model_copy(update={"login_rate_per_account": 2})
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as c:
        page = c.get("/open/register")
        assert "使用电子邮箱或中国大陆手机号码注册" in page.text and 'lang="zh' in page.text
        assert "验证账号" in c.get("/open/verify").text
        token = csrf_from(c.get("/open/login").text)
        codes = [
            c.post(
                "/open/login",
                data={"csrf_token": token, "account": "13900000009", "password": "x"},
            ).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]
        refused = c.post(
            "/open/login", data={"csrf_token": token, "account": "13900000009", "password": "x"}
        )
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_operator_sets_a_key_quota_on_the_application_page(
    org: Org, tmp_path: Path, officer: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    ds = opened_schools(org, tmp_path, open_type="conditional")
    acc = verified_account(org, caplog)
    app = submit(org, acc.id, ds.name)
    decide(org, "xn_officer", app.id, approve=True)
    login(officer, "xn_officer", PASSWORD)
    assert 'id="quota-panel"' not in officer.get(f"/opendata/applications/{app.id}").text
    officer.cookies.clear()
    login(officer, "operator", PASSWORD)
    page = officer.get(f"/opendata/applications/{app.id}")
    assert 'id="quota-panel"' in page.text
    bad = officer.post(
        f"/opendata/applications/{app.id}/quota",
        data={"csrf_token": csrf_from(page.text), "per_day": "-3"},
    )
    assert bad.status_code == 422
    saved = officer.post(
        f"/opendata/applications/{app.id}/quota",
        data={"csrf_token": csrf_from(page.text), "per_minute": "", "per_day": "50"},
    )
    assert saved.status_code == 303
    after = officer.get(saved.headers["location"])
    assert "密钥配额已保存" in after.text and 'name="per_day" value="50"' in after.text
