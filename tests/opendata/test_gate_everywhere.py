"""One dataset the public may see and four it may not — re-graded to 3, closed, withdrawn,
still under review — asked for on every public path at once: the portal's pages, search,
downloads and preview, usage statistics, the CKAN-compatible API and the DCAT export.
The visible one must show where the hidden ones must not, so the test cannot pass by
showing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.opendata import datasets, usage, views
from govdata.opendata.schemas import ProposeIn, WithdrawIn
from govdata.opendata.vocab import UsageKind
from tests.identity.conftest import Org
from tests.opendata.fixtures import collected_schools, opened_schools, republish_schools

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Shown:
    ids: list[str]
    names: list[str]
    titles: list[str]


@dataclass
class World:
    client: TestClient
    visible: Shown
    hidden: Shown


@pytest.fixture
def world(org: Org, tmp_path: Path) -> Iterator[World]:
    visible = opened_schools(org, tmp_path, name="公开学校名录")
    regraded = opened_schools(org, tmp_path, name="分级学校名录")
    republish_schools(org, regraded, grade=3, name="分级学校名录")
    closed = opened_schools(org, tmp_path, name="关闭学校名录")
    republish_schools(org, closed, open_type="closed", name="关闭学校名录")
    withdrawn = opened_schools(org, tmp_path, name="撤下学校名录")
    with org.as_("xn_officer").act() as ctx:
        datasets.withdraw_dataset(ctx, withdrawn.dataset_id, WithdrawIn(reason="停止更新"))
    entry_id, _, _ = collected_schools(org, tmp_path, name="待审学校名录")
    with org.as_("xn_officer").act() as ctx:
        proposed = datasets.propose_opening(ctx, entry_id, ProposeIn())
    hidden = [(regraded.dataset_id, regraded.name), (closed.dataset_id, closed.name)]
    hidden += [(withdrawn.dataset_id, withdrawn.name), (proposed.id, proposed.name)]
    # Every dataset has been used: statistics would show the hidden ones if the gate leaked.
    with org.db.transaction() as s:
        for ds_id, _ in [(visible.dataset_id, visible.name), *hidden]:
            usage.record_usage(s, ds_id, org.dept["xn_stats"], UsageKind.VIEW, 5)
            usage.record_usage(s, ds_id, org.dept["xn_stats"], UsageKind.DOWNLOAD, 2)
    with TestClient(create_app(org.settings)) as client:
        yield World(
            client,
            Shown([visible.dataset_id], [visible.name], ["公开学校名录"]),
            Shown(
                [i for i, _ in hidden],
                [n for _, n in hidden],
                ["分级学校名录", "关闭学校名录", "撤下学校名录", "待审学校名录"],
            ),
        )


LISTINGS = [
    "/open",
    "/open/datasets?q=学校名录",
    "/open/datasets",
    "/open/publishers",
    "/open/stats",
    "/open/stats/export.csv",
    "/api/v1/opendata/stats?by=dataset",
    "/api/3/action/package_list",
    "/api/3/action/package_search?q=学校名录&rows=100",
    '/api/3/action/package_search?rows=100&facet.field=["organization","groups"]',
    "/api/action/organization_list?all_fields=true",
    "/api/3/action/tag_list",
    "/catalog.ttl",
    "/catalog.jsonld",
    "/catalog.rdf",
]


def test_listings_show_the_open_dataset_and_none_of_the_hidden(world: World) -> None:
    for path in LISTINGS:
        resp = world.client.get(path)
        assert resp.status_code == 200, (path, resp.text[:300])
        body = resp.text
        for ref in (*world.hidden.ids, *world.hidden.names, *world.hidden.titles):
            assert ref not in body, (path, ref)
        if not any(p in path for p in ("tag_list", "organization_list", "publishers")):
            assert world.visible.names[0] in body or world.visible.ids[0] in body, path
    # Counts leak too: the publisher and the topic count the open dataset alone.
    for action in ("organization_list", "group_list"):
        result = world.client.get(f"/api/3/action/{action}?all_fields=true").json()["result"]
        assert [r["package_count"] for r in result] == [1], action


def test_each_hidden_dataset_is_not_found_on_every_path(world: World) -> None:
    client = world.client
    pairs = zip(world.hidden.ids, world.hidden.names, strict=True)
    for ds_id, name in [*pairs, (world.visible.ids[0], world.visible.names[0])]:
        shown = ds_id in world.visible.ids
        csv_resource = views.resource_id(ds_id, "CSV")
        pages = [
            f"/open/datasets/{name}",
            f"/open/datasets/{name}/download.csv",
            f"/open/datasets/{name}/download.xlsx",
            f"/open/datasets/{name}/download.json",
            f"/open/datasets/{name}/preview?format=json",
            f"/dataset/{ds_id}.ttl",
            f"/dataset/{name}.jsonld",
        ]
        for path in pages:
            status = client.get(path).status_code
            assert (status == 200) if shown else (status == 404), (path, status)
        actions = [
            f"package_show?id={name}",
            f"package_show?id={ds_id}",
            f"resource_show?id={csv_resource}",
            f"datastore_search?resource_id={csv_resource}",
        ]
        for action in actions:
            resp = client.get(f"/api/3/action/{action}")
            body = resp.json()
            if shown:
                assert resp.status_code == 200 and body["success"] is True, action
            else:
                assert resp.status_code == 404, (action, resp.status_code)
                assert body["success"] is False
                assert body["error"]["__type"] == "Not Found Error"
