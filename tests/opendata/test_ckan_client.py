"""An existing CKAN client, unchanged, against a live server: ckanapi's RemoteCKAN calls
package_search, package_show, organization_list and datastore_search over real HTTP, gets
CKAN's exceptions for CKAN's errors, and pages through package_search as a harvester does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ckanapi
import httpx
import pytest
import uvicorn

from govdata.app import create_app
from govdata.opendata import views
from tests.identity.conftest import Org
from tests.opendata.fixtures import opened_schools, opened_schools_by
from tests.opendata.test_apikeys import approved_key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live(org: Org) -> Iterator[str]:
    """uvicorn serving the app in a thread on a free port; its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(org.settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("server did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_ckanapi_works_unchanged(
    org: Org, tmp_path: Path, live: str, caplog: pytest.LogCaptureFixture
) -> None:
    schools = opened_schools(org, tmp_path, keywords=["教育", "学校"])
    clinics = opened_schools(
        org, tmp_path, name="西宁市医疗机构名录", summary="医院和诊所。", keywords=["卫生"]
    )
    haixi = opened_schools_by(
        org, tmp_path, "hx_officer", "hx_stats", name="海西州学校分布", keywords=["教育"]
    )
    names = {schools.name, clinics.name, haixi.name}
    ckan = ckanapi.RemoteCKAN(live, user_agent="govdata-tests")

    assert ckan.action.status_show()["ckan_version"].startswith("2.10")
    found = ckan.action.package_search(q="医疗", **{"facet.field": ["organization"], "rows": 5})
    assert [p["name"] for p in found["results"]] == [clinics.name]
    assert found["search_facets"]["organization"]["items"][0]["name"] == "xn_stats"
    assert ckan.action.package_search(fq="organization:hx_stats")["count"] == 1

    pkg = ckan.action.package_show(id=schools.name)
    assert pkg["id"] == schools.dataset_id and len(pkg["resources"]) == 4
    assert sorted(ckan.action.organization_list()) == ["hx_stats", "xn_stats"]
    orgs = ckan.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in orgs} == {"xn_stats": 2, "hx_stats": 1}

    api = next(r for r in pkg["resources"] if r["format"] == "API")
    assert api["id"] == views.resource_id(schools.dataset_id, "API")
    data = ckan.action.datastore_search(
        resource_id=api["id"], filters={"county": "城东区"}, fields=["school_name", "students"]
    )
    assert data["records"] == [{"school_name": "西宁市第一中学", "students": 2310}]
    assert data["total"] == 1

    # CKAN's errors arrive as ckanapi's exceptions.
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="never-existed")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_show()
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="colour:red")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=api["id"], fields=["head_mobile"])

    # A harvester's loop: everything modified since a time, in pages, oldest id first.
    harvested: list[str] = []
    start = 0
    while True:
        page = ckan.action.package_search(
            fq="metadata_modified:[2000-01-01T00:00:00Z TO *]",
            sort="id asc",
            rows=2,
            start=start,
        )
        if not page["results"]:
            break
        harvested += [p["name"] for p in page["results"]]
        start += len(page["results"])
    assert sorted(harvested) == sorted(names) and len(harvested) == 3

    # A conditional dataset's records need the key its approved application gave.
    conditional = opened_schools(
        org, tmp_path, name="全省特殊教育学校名录", open_type="conditional"
    )
    _, _, key = approved_key(org, conditional, caplog)
    rid = views.resource_id(conditional.dataset_id, "API")
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=rid)
    keyed = ckanapi.RemoteCKAN(live, apikey=key)
    assert keyed.action.datastore_search(resource_id=rid, limit=1)["total"] == 5
    assert ckan.action.package_show(id=conditional.name)["extras"]

    # GET-only clients (ckanapi's get_only) pass parameters in the query string.
    getter = ckanapi.RemoteCKAN(live, get_only=True)
    assert getter.action.package_search(fq="tags:教育", rows=10)["count"] == 2
    assert len(getter.action.package_list()) == 4
