"""The open list's and reuses' pages through real requests: the public list with progress
(approved lists only), officers proposing and the operator reviewing on the workbench, a
public account submitting a reuse with a screenshot, the operator's queue, rating, views,
and datasets that leave the portal vanishing from the reuse page.

One SQLite store per test: the pages do not depend on the store (the actions' tests run
on both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from govdata.app import create_app
from govdata.opendata import accounts, datasets, openlist, reuses
from govdata.opendata.openlist import ItemIn
from govdata.opendata.public_session import COOKIE
from govdata.opendata.reuse_models import OpenListItem, Reuse
from govdata.opendata.schemas import WithdrawIn
from tests.identity.conftest import PASSWORD, Org
from tests.opendata.fixtures import opened_schools
from tests.opendata.test_accounts import PASSWORD as PUBLIC_PASSWORD
from tests.opendata.test_accounts import anon, verified_account
from tests.opendata.test_reuses import png
from tests.opendata.test_reuses import public as public_caller
from tests.web.conftest import csrf_from, login

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
YEAR = openlist.today().year


def _client(org: Org) -> TestClient:
    settings = org.settings.model_copy(update={"demo_mode": True})
    return TestClient(create_app(settings, migrate=False), follow_redirects=False)


@pytest.fixture
def public(org: Org) -> Iterator[TestClient]:
    with _client(org) as c:
        yield c


@pytest.fixture
def gov(org: Org) -> Iterator[TestClient]:
    with _client(org) as c:
        yield c


def _count(org: Org, model: type) -> int:
    with org.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_open_list_pages(org: Org, tmp_path: Path, public: TestClient, gov: TestClient) -> None:
    opened = opened_schools(org, tmp_path)
    # Before any approval the public sees an empty state, and a draft year is 404.
    with org.as_("xn_officer").act() as ctx:
        openlist.propose_item(
            ctx, YEAR, ItemIn(entry=opened.entry_id, planned_date=date(YEAR, 12, 31))
        )
    page = public.get("/open/open-list")
    assert page.status_code == 200 and 'id="openlist-empty"' in page.text
    assert public.get(f"/open/open-list/{YEAR}").status_code == 404
    # A department user has no open-list workbench.
    login(gov, "xn_clerk", PASSWORD)
    assert gov.get("/opendata/open-list").status_code == 403
    gov.cookies.clear()
    # The officer proposes a planned dataset through the form; a date outside the year is
    # refused with the reason and stores nothing.
    token = login(gov, "xn_officer", PASSWORD)
    work = gov.get(f"/opendata/open-list?year={YEAR}")
    assert work.status_code == 200 and 'id="propose-item"' in work.text
    bad = gov.post(
        f"/opendata/open-list/{YEAR}/items",
        data={"csrf_token": token, "name": "公交线路", "planned_date": f"{YEAR + 1}-01-05"},
    )
    assert bad.status_code == 422 and "计划开放日期须在清单年度内" in bad.text
    assert _count(org, OpenListItem) == 1
    done = gov.post(
        f"/opendata/open-list/{YEAR}/items",
        data={"csrf_token": token, "name": "公交线路", "planned_date": f"{YEAR}-12-31"},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("done=proposed")
    # The officer may not approve; the operator reviews both and approves.
    assert (
        gov.post(f"/opendata/open-list/{YEAR}/approve", data={"csrf_token": token}).status_code
        == 403
    )
    gov.cookies.clear()
    token = login(gov, "operator", PASSWORD)
    with org.db.sessions() as s:
        ids = [i for (i,) in s.execute(select(OpenListItem.id))]
    for item_id in ids:
        r = gov.post(
            f"/opendata/open-list/items/{item_id}/review",
            data={"csrf_token": token, "verdict": "accept", "year": str(YEAR)},
        )
        assert r.status_code == 303, r.text
    r = gov.post(f"/opendata/open-list/{YEAR}/approve", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("done=approved")
    # The public page: progress overall and per department, the opened item links to its
    # dataset, bars carry their value for assistive technology.
    page = public.get("/open/open-list")
    assert page.status_code == 200
    assert f"/open/datasets/{opened.name}" in page.text
    assert 'aria-valuenow="50.0"' in page.text and "西宁市统计局" in page.text
    rows = re.findall(r'data-progress="(\w+)"', page.text)
    assert sorted(rows) == ["opened", "planned"]
    assert public.get(f"/open/open-list/{YEAR}").status_code == 200
    public.cookies.set("govdata_locale", "en")
    english = public.get("/open/open-list")
    assert "Progress by department" in english.text


def _public_session(org: Org, client: TestClient, caplog: pytest.LogCaptureFixture) -> str:
    account = verified_account(org, caplog, "reuser@example.cn", name="开发者小王")
    token, _ = accounts.login(anon(org), "reuser@example.cn", PUBLIC_PASSWORD)
    client.cookies.set(COOKIE, token)
    return account.id


def test_reuse_pages(
    org: Org,
    tmp_path: Path,
    public: TestClient,
    gov: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    opened = opened_schools(org, tmp_path)
    other = opened_schools(org, tmp_path, name="全省幼儿园名录")
    # Visitors who are not signed in are sent to the portal's sign-in, and back after.
    r = public.get("/open/reuses/new")
    assert r.status_code == 303
    assert r.headers["location"] == "/open/login?next=%2Fopen%2Freuses%2Fnew"
    _public_session(org, public, caplog)
    form = public.get("/open/reuses/new")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    csrf = csrf_from(form.text)
    fields = {
        "csrf_token": csrf,
        "name": "学校地图",
        "description": "在地图上查找学校。",
        "url": "ftp://example.org",
        "datasets": [opened.name, other.name],
    }
    bad = public.post(
        "/open/reuses/new", data=fields, files=[("screenshots", ("a.png", png(), "image/png"))]
    )
    assert bad.status_code == 422 and "应用链接须为 http 或 https 网址" in bad.text
    not_image = public.post(
        "/open/reuses/new",
        data=fields | {"url": "https://example.org/map"},
        files=[("screenshots", ("a.png", b"<svg/>", "image/png"))],
    )
    assert not_image.status_code == 422 and "不是 PNG 或 JPEG 图片" in not_image.text
    assert _count(org, Reuse) == 0
    ok = public.post(
        "/open/reuses/new",
        data=fields | {"url": "https://example.org/map"},
        files=[("screenshots", ("a.png", png(), "image/png"))],
    )
    assert ok.status_code == 303, ok.text
    reuse_path = ok.headers["location"].split("?")[0]
    reuse_id = reuse_path.rsplit("/", 1)[1]
    mine = public.get(ok.headers["location"])
    assert mine.status_code == 200 and "感谢" in mine.text
    shot = re.search(r'<img src="(/open/reuses/[^"]+/screenshots/[^"]+)"', mine.text)
    assert shot
    # Not published yet: anonymous visitors get 404 for the page and the screenshot.
    with _client(org) as stranger:
        assert stranger.get(reuse_path).status_code == 404
        assert stranger.get(shot.group(1)).status_code == 404
        assert 'id="reuses-empty"' in stranger.get("/open/reuses").text
    # The operator's queue: review; officers have no queue.
    token = login(gov, "xn_officer", PASSWORD)
    assert gov.get("/opendata/reuses").status_code == 403
    assert (
        gov.post(
            f"/opendata/reuses/{reuse_id}/review", data={"csrf_token": token, "verdict": "approve"}
        ).status_code
        == 403
    )
    gov.cookies.clear()
    token = login(gov, "operator", PASSWORD)
    queue = gov.get("/opendata/reuses")
    assert queue.status_code == 200 and f'data-reuse="{reuse_id}"' in queue.text
    for step, data in (("review", {"verdict": "approve"}), ("feature", {"featured": "1"})):
        r = gov.post(f"/opendata/reuses/{reuse_id}/{step}", data={"csrf_token": token, **data})
        assert r.status_code == 303, r.text
    with _client(org) as stranger:
        showcase = stranger.get("/open/reuses")
        assert 'data-featured="1"' in showcase.text and "学校地图" in showcase.text
        assert stranger.get(f"/open/reuses?dataset={other.name}").text.count("data-reuse=") == 1
        image = stranger.get(shot.group(1))
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content == png()
        first = stranger.get(reuse_path)
        assert "全省幼儿园名录" in first.text and "data-views>1<" in first.text.replace(" ", "")
        assert 'id="rate-form"' not in first.text
    # A public user rates through the form.
    page = public.get(reuse_path)
    r = public.post(f"{reuse_path}/rate", data={"csrf_token": csrf_from(page.text), "stars": "4"})
    assert r.status_code == 303
    rated = public.get(reuse_path)
    assert 'value="4" checked' in rated.text and "4.0 / 5 (1)" in rated.text
    # A dataset taken off the portal disappears from the reuse page.
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, other.dataset_id, WithdrawIn(reason="停止更新"))
    with _client(org) as stranger:
        page = stranger.get(reuse_path)
        assert page.status_code == 200 and "全省幼儿园名录" not in page.text
        assert opened.name in page.text
        assert stranger.get(f"/open/reuses?dataset={other.name}").text.count("data-reuse=") == 0


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


def test_rest_api(org: Org, tmp_path: Path, public: TestClient) -> None:
    opened = opened_schools(org, tmp_path)
    with public_caller(org).act() as ctx:
        pending = reuses.submit_reuse(
            ctx,
            reuses.ReuseIn(
                name="学校地图",
                description="地图",
                url="https://example.org",
                datasets=[opened.name],
            ),
        )
    # Anonymous callers see only published reuses; the queue needs the operator.
    assert public.get("/api/v1/opendata/reuses").json()["total"] == 0
    assert public.get(f"/api/v1/opendata/reuses/{pending.id}").status_code == 404
    assert public.get("/api/v1/opendata/reuse-queue").status_code == 401
    officer = _bearer(public, "xn_officer")
    assert public.get("/api/v1/opendata/reuse-queue", headers=officer).status_code == 403
    op = _bearer(public, "operator")
    queue = public.get("/api/v1/opendata/reuse-queue", headers=op).json()
    assert [r["id"] for r in queue["items"]] == [pending.id]
    bad = public.post(
        f"/api/v1/opendata/reuses/{pending.id}/review", json={"approve": False}, headers=op
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "reuse_reason_required"
    ok = public.post(
        f"/api/v1/opendata/reuses/{pending.id}/review", json={"approve": True}, headers=op
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    listed = public.get("/api/v1/opendata/reuses", params={"dataset": opened.name}).json()
    assert [r["id"] for r in listed["items"]] == [pending.id]
    one = public.get(f"/api/v1/opendata/reuses/{pending.id}").json()
    assert one["evaluation"]["datasets"] == 1 and one["evaluation"]["views"] == 0
    # The open list through the API: an officer proposes, the operator approves, anyone reads.
    r = public.post(
        f"/api/v1/opendata/open-lists/{YEAR}/items",
        json={"entry": opened.entry_id, "planned_date": f"{YEAR}-12-31"},
        headers=officer,
    )
    assert r.status_code == 201 and r.json()["status"] == "proposed"
    assert public.get("/api/v1/opendata/open-lists/public").status_code == 404
    item = r.json()["id"]
    r = public.post(
        f"/api/v1/opendata/open-list-items/{item}/review", json={"accept": True}, headers=op
    )
    assert r.status_code == 200
    assert public.post(f"/api/v1/opendata/open-lists/{YEAR}/approve", headers=op).status_code == 200
    shown = public.get(f"/api/v1/opendata/open-lists/public/{YEAR}").json()
    assert (shown["total"], shown["opened"], shown["percent"]) == (1, 1, 100.0)
    assert shown["items"][0]["dataset_name"] == opened.name
