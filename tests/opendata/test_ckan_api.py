"""The CKAN-compatible Action API: CKAN's envelope, field names and types, errors and
statuses, package_search's q/fq/sort/facets/paging, and the public gate on every action."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.opendata import datasets, views
from govdata.opendata.models import OpenDataset
from govdata.opendata.schemas import ProposeIn, WithdrawIn
from govdata.security.audit import AuditRecord
from tests.identity.conftest import Org
from tests.opendata.fixtures import (
    Opened,
    collected_schools,
    opened_schools,
    opened_schools_by,
    republish_schools,
)

BASE = "http://testserver"
# Keys of CKAN 2.10's documented package_show example (CKAN API guide; demo.ckan.org).
PACKAGE_KEYS = {
    "author",
    "author_email",
    "creator_user_id",
    "id",
    "isopen",
    "license_id",
    "license_title",
    "license_url",
    "maintainer",
    "maintainer_email",
    "metadata_created",
    "metadata_modified",
    "name",
    "notes",
    "num_resources",
    "num_tags",
    "organization",
    "owner_org",
    "private",
    "state",
    "title",
    "type",
    "url",
    "version",
    "extras",
    "groups",
    "resources",
    "tags",
    "relationships_as_object",
    "relationships_as_subject",
}
RESOURCE_KEYS = {
    "cache_last_updated",
    "cache_url",
    "created",
    "datastore_active",
    "description",
    "format",
    "hash",
    "id",
    "last_modified",
    "metadata_modified",
    "mimetype",
    "mimetype_inner",
    "name",
    "package_id",
    "position",
    "resource_type",
    "size",
    "state",
    "url",
    "url_type",
}
ORG_KEYS = {
    "approval_status",
    "created",
    "description",
    "display_name",
    "id",
    "image_display_url",
    "image_url",
    "is_organization",
    "name",
    "num_followers",
    "package_count",
    "state",
    "title",
    "type",
}
TAG_KEYS = {"display_name", "id", "name", "state", "vocabulary_id"}
CKAN_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings)) as c:
        yield c


def ok(response: Any, action: str) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"help", "success", "result"}
    assert body["success"] is True
    assert body["help"] == f"{BASE}/api/3/action/help_show?name={action}"
    return body["result"]


def err(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and "help" in body
    assert body["error"]["__type"] == kind
    error: dict[str, Any] = body["error"]
    return error


def get(client: TestClient, action: str, prefix: str = "/api/3/action", **params: Any) -> Any:
    query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
    return ok(client.get(f"{prefix}/{action}", params=query), action)


def post(client: TestClient, action: str, **body: Any) -> Any:
    return ok(client.post(f"/api/action/{action}", json=body), action)


def _three(org: Org, tmp: Path) -> dict[str, Opened]:
    """Two Xining datasets (education; health, conditional) and one of Haixi (education)."""
    return {
        "schools": opened_schools(
            org,
            tmp,
            name="全省中小学校名录",
            classification_code="213002",
            keywords=["教育", "学校"],
        ),
        "clinics": opened_schools(
            org,
            tmp,
            name="西宁市医疗机构名录",
            summary="西宁市医院和诊所的名称与地址。",
            classification_code="202002",
            keywords=["卫生"],
            open_type="conditional",
        ),
        "haixi": opened_schools_by(
            org,
            tmp,
            "hx_officer",
            "hx_stats",
            name="海西州学校分布",
            summary="海西州各县市学校的分布情况。",
            classification_code="213002",
            keywords=["教育"],
        ),
    }


def test_metadata_actions_answer_in_ckans_shapes(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    d = _three(org, tmp_path)
    schools = d["schools"]

    status = get(client, "status_show")
    assert status["ckan_version"].startswith("2.10") and status["site_url"] == BASE
    assert "datastore" in status["extensions"]

    # Both prefixes, GET and JSON POST, and a form POST as CKAN accepts.
    names = sorted(o.name for o in d.values())
    assert get(client, "package_list") == names
    assert post(client, "package_list") == names
    assert get(client, "package_list", prefix="/api/action", limit=1, offset=1) == names[1:2]
    form = client.post("/api/3/action/package_list", data={"limit": "2"})
    assert ok(form, "package_list") == names[:2]

    pkg = get(client, "package_show", id=schools.name)
    assert post(client, "package_show", id=schools.dataset_id)["name"] == schools.name
    assert set(pkg) == PACKAGE_KEYS
    assert pkg["id"] == schools.dataset_id and pkg["title"] == "全省中小学校名录"
    assert pkg["type"] == "dataset" and pkg["state"] == "active" and pkg["private"] is False
    assert pkg["isopen"] is True and pkg["license_id"] == "cc-by-4.0"
    assert CKAN_TIME.match(pkg["metadata_created"]) and CKAN_TIME.match(pkg["metadata_modified"])
    assert pkg["num_resources"] == 4 and pkg["num_tags"] == 2
    assert {t["name"] for t in pkg["tags"]} == {"教育", "学校"}
    assert all(set(t) == TAG_KEYS and t["vocabulary_id"] is None for t in pkg["tags"])
    assert pkg["owner_org"] == org.dept["xn_stats"]
    assert pkg["organization"]["name"] == "xn_stats"
    assert pkg["organization"]["title"] == "西宁市统计局"
    assert pkg["organization"]["is_organization"] is True
    assert [g["name"] for g in pkg["groups"]] == ["213"]
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["resource_code"] == schools.resource_code
    assert extras["open_type"] == "open" and extras["update_cycle"]
    assert pkg["url"] == f"{BASE}/open/datasets/{schools.name}"
    assert pkg["relationships_as_object"] == [] and pkg["relationships_as_subject"] == []

    resources = pkg["resources"]
    assert [r["format"] for r in resources] == ["CSV", "XLSX", "JSON", "API"]
    assert [r["position"] for r in resources] == [0, 1, 2, 3]
    for r in resources:
        assert set(r) == RESOURCE_KEYS
        assert r["package_id"] == schools.dataset_id and r["url"].startswith(BASE + "/")
        assert r["datastore_active"] is True and CKAN_TIME.match(r["created"])
        # (package_show's view count moves the dataset's modified time; see the report)
        shown_r = get(client, "resource_show", id=r["id"])
        stable = RESOURCE_KEYS - {"last_modified", "metadata_modified"}
        assert {k: shown_r[k] for k in stable} == {k: r[k] for k in stable}
    assert resources[0]["url"] == f"{BASE}/open/datasets/{schools.name}/download.csv"
    assert resources[0]["mimetype"] == "text/csv"
    assert resources[3]["url"].endswith(f"datastore_search?resource_id={resources[3]['id']}")

    # package_show counts a view and audits it, as the dataset page does.
    with org.db.sessions() as s:
        ds = s.get(OpenDataset, schools.dataset_id)
        assert ds is not None and ds.views == 2
        views_audited = s.scalars(
            select(AuditRecord.action).where(
                AuditRecord.target_id == schools.dataset_id,
                AuditRecord.action == "opendata.dataset.view",
            )
        ).all()
    assert len(views_audited) == 2

    # Default order: by title (海西州… before 西宁市…).
    assert get(client, "organization_list") == ["hx_stats", "xn_stats"]
    assert get(client, "organization_list", sort="name desc", limit=1) == ["xn_stats"]
    orgs = get(client, "organization_list", all_fields="true", sort="package_count desc")
    assert [(o["name"], o["package_count"]) for o in orgs] == [("xn_stats", 2), ("hx_stats", 1)]
    assert all(set(o) == ORG_KEYS and o["type"] == "organization" for o in orgs)
    assert all(CKAN_TIME.match(o["created"]) for o in orgs)
    shown = get(client, "organization_show", id="xn_stats", include_datasets="true")
    assert shown["package_count"] == 2 and shown["id"] == org.dept["xn_stats"]
    assert sorted(p["name"] for p in shown["packages"]) == sorted([schools.name, d["clinics"].name])
    assert get(client, "organization_show", id=org.dept["hx_stats"])["name"] == "hx_stats"
    assert "packages" not in get(client, "organization_show", id="hx_stats")

    groups = get(client, "group_list", all_fields=True, sort="name asc")
    assert [(g["name"], g["package_count"]) for g in groups] == [("202", 1), ("213", 2)]
    assert all(g["is_organization"] is False and g["type"] == "group" for g in groups)
    assert sorted(get(client, "group_list")) == ["202", "213"]
    topic = get(client, "group_show", id="213", include_datasets=True)
    assert sorted(p["name"] for p in topic["packages"]) == sorted([schools.name, d["haixi"].name])
    assert get(client, "group_show", id=topic["id"])["name"] == "213"

    assert get(client, "tag_list") == sorted(["卫生", "学校", "教育"])
    assert get(client, "tag_list", query="教") == ["教育"]
    tags = get(client, "tag_list", all_fields=True)
    assert all(set(t) == TAG_KEYS for t in tags)

    help_text = get(client, "help_show", name="package_search")
    assert "fq" in help_text and "facet.field" in help_text


def test_errors_have_ckans_types_and_statuses(org: Org, client: TestClient) -> None:
    r = client.get("/api/3/action/package_delete")
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert r.json()["error"]["message"] == "Bad request - Action name not known: package_delete"

    e = err(client.get("/api/3/action/package_show"), 409, "Validation Error")
    assert e["name_or_id"] == ["Missing value"]
    e = err(client.post("/api/action/resource_show", json={}), 409, "Validation Error")
    assert e["id"] == ["Missing value"]
    e = err(client.get("/api/3/action/datastore_search"), 409, "Validation Error")
    assert e["resource_id"] == ["Missing value"]
    e = err(
        client.get("/api/3/action/package_list", params={"limit": "x"}), 409, "Validation Error"
    )
    assert e["limit"] == ["Invalid integer"]

    e = err(client.get("/api/3/action/package_show?id=nope"), 404, "Not Found Error")
    assert e["message"] == "Not found"
    err(client.get("/api/3/action/resource_show?id=nope"), 404, "Not Found Error")
    err(client.get("/api/3/action/organization_show?id=nope"), 404, "Not Found Error")
    err(client.get("/api/3/action/group_show?id=nope"), 404, "Not Found Error")
    err(client.get("/api/3/action/help_show?name=nope"), 404, "Not Found Error")

    search = "/api/3/action/package_search"
    err(client.get(search, params={"fq": "colour:red"}), 400, "Search Query Error")
    err(client.get(search, params={"sort": "colour asc"}), 400, "Search Query Error")
    err(client.get(search, params={"facet.field": '["colour"]'}), 400, "Search Query Error")
    err(client.get(search, params={"fq": "metadata_modified:yesterday"}), 400, "Search Query Error")
    r = client.post(search, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["success"] is False


def _search(client: TestClient, **params: Any) -> Any:
    return get(client, "package_search", **params)


def _names(result: Any) -> set[str]:
    return {p["name"] for p in result["results"]}


def test_package_search_translates_q_fq_sort_and_facets(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    d = _three(org, tmp_path)
    schools, clinics, haixi = d["schools"].name, d["clinics"].name, d["haixi"].name

    everything = _search(client)
    assert everything["count"] == 3 and len(everything["results"]) == 3
    assert set(everything) == {"count", "results", "facets", "search_facets", "sort"}
    assert everything["sort"] == "score desc, metadata_modified desc"
    assert everything["search_facets"] == {} and everything["facets"] == {}
    assert set(everything["results"][0]) == PACKAGE_KEYS
    assert _search(client, q="*:*")["count"] == 3

    # A Chinese keyword, with facets counted over the matches.
    found = _search(client, q="学校", **{"facet.field": ["organization", "groups", "tags"]})
    # (every dataset here carries the school items, so all three match)
    assert _names(found) == {schools, clinics, haixi}
    assert found["facets"]["organization"] == {"xn_stats": 2, "hx_stats": 1}
    assert found["facets"]["groups"] == {"213": 2, "202": 1}
    orgs = found["search_facets"]["organization"]
    assert orgs["title"] == "organization"
    assert [(i["name"], i["display_name"], i["count"]) for i in orgs["items"]] == [
        ("xn_stats", "西宁市统计局", 2),
        ("hx_stats", "海西州统计局", 1),
    ]
    assert _names(_search(client, q="医疗")) == {clinics}
    assert _names(_search(client, q="海西州")) == {haixi}

    # Each fq kind, alone and ANDed; quotes, + and (a OR b).
    assert _names(_search(client, fq="organization:xn_stats")) == {schools, clinics}
    assert _names(_search(client, fq='+organization:"hx_stats"')) == {haixi}
    assert _names(_search(client, fq="organization:(hx_stats OR xn_stats)")) == {
        schools,
        clinics,
        haixi,
    }
    assert _names(_search(client, fq="organization:nobody")) == set()
    assert _names(_search(client, fq="tags:教育")) == {schools, haixi}
    assert _names(_search(client, fq="tags:教育 tags:学校")) == {schools}
    assert _names(_search(client, fq="groups:202")) == {clinics}
    assert _names(_search(client, fq="groups:213 organization:xn_stats")) == {schools}
    assert _names(_search(client, fq="groups:213 AND organization:hx_stats")) == {haixi}
    assert _search(client, fq="res_format:CSV")["count"] == 3
    assert _search(client, fq="res_format:PDF")["count"] == 0
    assert _search(client, fq="license_id:cc-by-4.0")["count"] == 3
    assert _search(client, fq="license_id:odc-by")["count"] == 0
    assert _search(client, fq="+dataset_type:dataset")["count"] == 3
    assert _search(client, q="tags:卫生")["count"] == 1
    # Text that only looks fielded stays search text.
    assert _search(client, q="http://example.cn")["count"] == 0
    assert _search(client, fq="metadata_modified:[* TO NOW]")["count"] == 3
    assert _search(client, fq="metadata_modified:[NOW-1DAY TO *]")["count"] == 3
    assert (
        _search(client, fq="metadata_modified:[2000-01-01T00:00:00Z TO 2001-01-01]")["count"] == 0
    )
    assert _search(client, fq="metadata_modified:[NOW+1DAY TO *]")["count"] == 0

    faceted = _search(
        client, **{"facet.field": ["res_format", "license_id", "tags"], "facet.limit": 1}
    )
    assert faceted["facets"]["res_format"] == {"CSV": 3, "XLSX": 3, "JSON": 3, "API": 3}
    assert faceted["facets"]["license_id"] == {"cc-by-4.0": 3}
    assert faceted["facets"]["tags"] == {"教育": 2}  # facet.limit keeps the most frequent
    all_tags = _search(client, **{"facet.field": ["tags"], "facet.limit": -1})
    assert all_tags["facets"]["tags"] == {"教育": 2, "学校": 1, "卫生": 1}

    # Sorts.
    by_name = _search(client, sort="name asc")
    assert [p["name"] for p in by_name["results"]] == sorted([schools, clinics, haixi])
    assert by_name["sort"] == "name asc"
    desc = _search(client, sort="name desc")
    assert [p["name"] for p in desc["results"]] == sorted([schools, clinics, haixi], reverse=True)
    ids = [p["id"] for p in _search(client, sort="id asc")["results"]]
    assert ids == sorted(ids)
    modified = [
        p["metadata_modified"] for p in _search(client, sort="metadata_modified desc")["results"]
    ]
    assert modified == sorted(modified, reverse=True)
    assert _search(client, sort="title_string asc")["count"] == 3
    relevance = _search(client, q="医疗", sort="score desc, metadata_modified desc")
    assert relevance["count"] == 1

    # rows/start paging with id asc returns each dataset exactly once; rows is capped.
    seen: list[str] = []
    for start in range(0, 4):
        page = _search(client, sort="id asc", rows=1, start=start)
        assert page["count"] == 3
        seen += [p["id"] for p in page["results"]]
    assert sorted(seen) == seen and len(set(seen)) == 3
    assert len(_search(client, rows=5000)["results"]) == 3
    assert _search(client, rows=0)["results"] == []

    posted = post(client, "package_search", fq="tags:教育", rows=1, sort="name asc")
    assert posted["count"] == 2 and len(posted["results"]) == 1


def test_hidden_datasets_are_invisible_on_every_action(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    visible = opened_schools(org, tmp_path, name="可见的学校名录", keywords=["可见"])
    regraded = opened_schools(org, tmp_path, name="升级为三级的名录", keywords=["三级"])
    republish_schools(org, regraded, grade=3, name="升级为三级的名录", keywords=["三级"])
    closed = opened_schools(org, tmp_path, name="改为不予开放的名录", keywords=["关闭"])
    republish_schools(org, closed, open_type="closed", name="改为不予开放的名录", keywords=["关闭"])
    withdrawn = opened_schools(org, tmp_path, name="撤下的名录", keywords=["撤下"])
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    entry_id, _, _ = collected_schools(org, tmp_path, name="待审核的名录", keywords=["待审"])
    with org.as_("xn_officer").act() as ctx:
        proposed = datasets.propose_opening(ctx, entry_id, ProposeIn())
    hidden = [
        (regraded.dataset_id, regraded.name),
        (closed.dataset_id, closed.name),
        (withdrawn.dataset_id, withdrawn.name),
        (proposed.id, proposed.name),
    ]

    assert get(client, "package_list") == [visible.name]
    everything = _search(
        client, **{"facet.field": ["organization", "groups", "tags"], "facet.limit": -1}
    )
    assert everything["count"] == 1 and _names(everything) == {visible.name}
    assert everything["facets"]["organization"] == {"xn_stats": 1}
    assert everything["facets"]["tags"] == {"可见": 1}
    for word in ("三级", "关闭", "撤下", "待审"):
        assert _search(client, q=word)["count"] == 0
        assert _search(client, fq=f"tags:{word}")["count"] == 0
    orgs = get(client, "organization_list", all_fields=True)
    assert [(o["name"], o["package_count"]) for o in orgs] == [("xn_stats", 1)]
    assert [g["package_count"] for g in get(client, "group_list", all_fields=True)] == [1]
    shown = get(client, "organization_show", id="xn_stats", include_datasets=True)
    assert [p["name"] for p in shown["packages"]] == [visible.name]
    assert get(client, "tag_list") == ["可见"]

    unknown = client.get("/api/3/action/package_show", params={"id": "never-existed"}).json()
    for ds_id, name in hidden:
        for ref in (ds_id, name):
            r = client.get("/api/3/action/package_show", params={"id": ref})
            assert r.status_code == 404 and r.json()["error"] == unknown["error"]
        for fmt in views.RESOURCE_FORMATS:
            rid = views.resource_id(ds_id, fmt)
            r = client.get("/api/3/action/resource_show", params={"id": rid})
            assert r.status_code == 404
            r = client.get("/api/3/action/datastore_search", params={"resource_id": rid})
            assert r.status_code == 404
            assert r.json()["error"]["message"] == f'Not found: Resource "{rid}" was not found.'
