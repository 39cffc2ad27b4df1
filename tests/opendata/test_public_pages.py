"""The public portal's pages, as an anonymous visitor: home, search with facets, a dataset
page (view counted and audited, JSON-LD, DCAT links), publishers, the API guide; Chinese by
default, English after the switch; the same 404 for a dataset that is not public."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.opendata import datasets
from govdata.opendata.models import OpenDataset
from govdata.opendata.schemas import FeatureIn, WithdrawIn
from govdata.security.audit import AuditRecord
from govdata.web import csrf
from tests.identity.conftest import Org
from tests.opendata.fixtures import Opened, opened_schools, opened_schools_by, republish_schools
from tests.web.conftest import csrf_from


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings), follow_redirects=False) as c:
        yield c


def _two(org: Org, tmp: Path) -> tuple[Opened, Opened]:
    schools = opened_schools(
        org, tmp, name="全省中小学校名录", classification_code="213002", keywords=["教育"]
    )
    clinics = opened_schools_by(
        org,
        tmp,
        "hx_officer",
        "hx_stats",
        name="海西州医疗机构名录",
        summary="海西州医院和诊所的名称与地址。",
        classification_code="202002",
        keywords=["卫生"],
        open_type="conditional",
    )
    return schools, clinics


def _hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def _to_english(client: TestClient, path: str) -> None:
    page = client.get(path)
    switched = client.post(
        "/locale", data={"csrf_token": csrf_from(page.text), "locale": "en", "next": path}
    )
    assert switched.status_code == 303 and switched.headers["location"] == path


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_home_search_and_facets(org: Org, tmp_path: Path, client: TestClient) -> None:
    schools, clinics = _two(org, tmp_path)
    with org.as_("operator").act() as ctx:
        datasets.feature_dataset(ctx, schools.dataset_id, FeatureIn(featured=True))
    home = client.get("/open")
    assert home.status_code == 200 and '<html lang="zh-CN">' in home.text
    assert "公共数据开放平台" in home.text and "按主题浏览" in home.text
    assert 'data-figure="datasets">2<' in home.text
    assert 'data-figure="publishers">2<' in home.text
    featured = home.text.split('id="featured"')[1].split("</section>")[0]
    assert f"/open/datasets/{schools.name}" in featured
    assert f"/open/datasets/{clinics.name}" not in featured
    assert "/open/datasets?topic=213" in home.text and "/open/datasets?topic=202" in home.text
    assert "/open/datasets?publisher=hx_stats" in home.text
    # The anonymous visitor gets the double-submit cookie its forms (language, sign-in) need.
    assert csrf.PRESESSION_COOKIE in home.cookies

    found = client.get("/open/datasets", params={"q": "中小学校"})
    assert found.status_code == 200
    assert f"/open/datasets/{schools.name}" in found.text
    assert f"/open/datasets/{clinics.name}" not in found.text
    assert "找到 1 个数据集" in found.text

    everything = client.get("/open/datasets")
    links = [h for h in _hrefs(everything.text) if h.startswith("/open/datasets?")]
    topic_link = next(h for h in links if parse_qs(urlsplit(h).query).get("topic") == ["202"])
    # The facet shows its count, and its link narrows the search to that topic.
    assert re.search(r'data-value="202">.*?健康保障.*?facet-count">1<', everything.text, re.S)
    narrowed = client.get(topic_link)
    assert f"/open/datasets/{clinics.name}" in narrowed.text
    assert f"/open/datasets/{schools.name}" not in narrowed.text
    # The chosen value is marked, and its link clears it again.
    assert re.search(r'is-selected" href="([^"]+)"[^>]*data-value="202"', narrowed.text)
    cleared = re.search(r'is-selected" href="([^"]+)"[^>]*data-value="202"', narrowed.text)
    assert cleared is not None
    back = client.get(unescape(cleared.group(1)))
    assert f"/open/datasets/{schools.name}" in back.text
    by_type = client.get("/open/datasets", params={"open_type": "conditional"})
    assert f"/open/datasets/{clinics.name}" in by_type.text
    assert f"/open/datasets/{schools.name}" not in by_type.text
    # A tag (from a dataset card) narrows the search; its selected link takes it off again.
    tagged = client.get("/open/datasets", params={"tags": "教育"})
    assert f"/open/datasets/{schools.name}" in tagged.text
    assert f"/open/datasets/{clinics.name}" not in tagged.text
    untag = re.search(r'is-selected" href="([^"]+)" rel="nofollow" data-value="教育"', tagged.text)
    assert untag is not None and "tags" not in unescape(untag.group(1))
    # Paging: one per page, the next link leads to the other dataset.
    first = client.get("/open/datasets", params={"rows": 1, "sort": "name_asc"})
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt is not None
    second = client.get(unescape(nxt.group(1)))
    names = sorted([schools.name, clinics.name])
    assert (
        f"/open/datasets/{names[0]}" in first.text and f"/open/datasets/{names[1]}" in second.text
    )
    # Bad input is a clear message, not a 500.
    bad = client.get("/open/datasets", params={"sort": "sideways"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text

    publishers = client.get("/open/publishers")
    assert publishers.status_code == 200
    assert "/open/publishers/xn_stats" in publishers.text and "海西州统计局" in publishers.text
    one = client.get("/open/publishers/hx_stats")
    assert one.status_code == 200 and f"/open/datasets/{clinics.name}" in one.text
    assert f"/open/datasets/{schools.name}" not in one.text
    assert client.get("/open/publishers/police").status_code == 404

    guide = client.get("/open/api-guide")
    assert guide.status_code == 200 and "package_search" in guide.text
    assert "ckanapi" in guide.text and "Authorization" in guide.text
    assert "/catalog.ttl" in guide.text and "modified_since" in guide.text

    # English after the switch, on every page.
    _to_english(client, "/open")
    en = client.get("/open")
    assert '<html lang="en">' in en.text and "Browse by topic" in en.text
    assert "2 datasets found" in client.get("/open/datasets").text
    assert "CKAN-compatible Action API" in client.get("/open/api-guide").text


def test_dataset_page_counts_a_view(org: Org, tmp_path: Path, client: TestClient) -> None:
    schools, clinics = _two(org, tmp_path)
    page = client.get(f"/open/datasets/{schools.name}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>全省中小学校名录</h1>" in html
    for field in ("school_code", "school_name", "county", "students"):
        assert f"<code>{field}</code>" in html
    assert "head_mobile" not in html  # sensitive: never opens
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/open/datasets/{schools.name}/download.{fmt}"' in html
    assert f'hx-get="/open/datasets/{schools.name}/preview"' in html
    assert f'href="/open/datasets/{schools.name}/preview"' in html  # without JS
    assert "/api/3/action/datastore_search?resource_id=" in html and "curl" in html
    assert 'href="/open/publishers/xn_stats"' in html
    assert 'rel="license"' in html and "creativecommons.org" in html
    for media, ext in (("text/turtle", "ttl"), ("application/ld+json", "jsonld")):
        link = f'<link rel="alternate" type="{media}" href="/dataset/{schools.dataset_id}.{ext}"'
        assert link in html
    assert f'href="/dataset/{schools.dataset_id}.rdf"' in html
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert script is not None
    described = json.loads(script.group(1))
    assert described["@type"] == "Dataset" and described["name"] == "全省中小学校名录"
    # Absolute links, from the request's own base URL.
    assert described["url"] == f"http://testserver/open/datasets/{schools.name}"
    # Update history: the lake table's commits, newest first, with the rows each left.
    history = html.split('id="history"')[1].split("</section>")[0]
    commits = re.findall(
        r'<th scope="row">(\d+)</th><td>[^<]*</td><td>([^<]*)</td><td>(\d*)</td>', history
    )
    assert commits == [("1", "WRITE", "5"), ("0", "CREATE TABLE", "0")]
    assert "apply" not in html.split('id="about-title"')[1].split("</section>")[0]

    # The view is counted and audited in the same request.
    assert 'data-count="views">1<' in html
    again = client.get(f"/open/datasets/{schools.name}")
    assert 'data-count="views">2<' in again.text
    with org.db.sessions() as s:
        assert s.get(OpenDataset, schools.dataset_id).views == 2  # type: ignore[union-attr]
        audited = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "opendata.dataset.view",
                AuditRecord.target_id == schools.dataset_id,
            )
        ).all()
    assert len(audited) == 2

    # A conditional dataset shows its condition and the way to apply.
    cond = client.get(f"/open/datasets/{clinics.name}")
    assert cond.status_code == 200 and 'id="condition"' in cond.text
    assert "仅限科研用途" in cond.text
    assert f'href="/open/datasets/{clinics.name}/apply"' in cond.text
    assert "Authorization" in cond.text

    _to_english(client, f"/open/datasets/{schools.name}")
    en = client.get(f"/open/datasets/{schools.name}")
    assert "Update history" in en.text and "Fields" in en.text and "school_name" in en.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_datasets_that_are_not_public_are_404(org: Org, tmp_path: Path, client: TestClient) -> None:
    regraded = opened_schools(org, tmp_path, name="调为三级的学校名录")
    republish_schools(org, regraded, name="调为三级的学校名录", grade=3)
    closed = opened_schools(org, tmp_path, name="改为不开放的学校名录")
    republish_schools(org, closed, name="改为不开放的学校名录", open_type="closed")
    withdrawn = opened_schools(org, tmp_path, name="已撤下的学校名录")
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    never = client.get("/open/datasets/no-such-dataset")
    assert never.status_code == 404
    for hidden in (regraded, closed, withdrawn):
        for ref in (hidden.name, hidden.dataset_id):
            got = client.get(f"/open/datasets/{ref}")
            assert got.status_code == 404
            # The same page as for a dataset that never existed: nothing tells them apart.
            assert got.text.replace(ref, "X") == never.text.replace("no-such-dataset", "X")
    listing = client.get("/open/datasets", params={"q": "学校"})
    assert "找到 0 个数据集" in listing.text
    for hidden in (regraded, closed, withdrawn):
        assert hidden.name not in listing.text
        assert hidden.name not in client.get("/open").text
    with org.db.sessions() as s:
        views = s.scalars(select(OpenDataset.views)).all()
    assert views and all(v == 0 for v in views)
