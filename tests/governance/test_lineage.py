"""The lineage view of an entry: the graph joining collection (source → pipeline → lake table
with its versions), quality runs, the tickets they opened, grants, subscriptions and their
deliveries; who sees which part; and the OpenLineage export (stored collection events plus
events made from quality runs and deliveries), checked field by field against the
OpenLineage 2-0-2 spec and the data-quality facets' schemas.

One module-scoped world on SQLite (nothing here depends on the store): an entry collected
into the lake by a real pipeline run, four quality rules run once (one fails, which opens a
ticket), a grant to 海西州统计局 with a file subscription delivered once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import NotFound, PermissionDenied
from govdata.exchange.models import LineageEvent, Mount
from govdata.governance import lineage, lineage_export, quality_runs
from govdata.governance.baselib_models import BaseLibrary, LibraryBuild
from govdata.governance.lineage_schemas import EdgeKind, LineageGraph, NodeKind
from govdata.governance.models import Ticket
from govdata.governance.quality_schemas import RunOut
from govdata.identity import actions as identity_actions
from govdata.identity.schemas import CredentialCreate, RoleAssignmentIn
from govdata.security.models import AuditRecord
from govdata.security.permissions import Role
from govdata.sharing import subscriptions
from govdata.sharing.jobs import deliver_now
from govdata.sharing.schemas import SubscriptionCreate
from tests.catalog.conftest import published_entry
from tests.conftest import fresh_store
from tests.governance.quality_fixtures import add_rule
from tests.identity.conftest import PASSWORD, Org, build_org
from tests.security.lake_fixtures import Collected, collected
from tests.sharing.conftest import World
from tests.web.conftest import login


@dataclass
class Setup:
    org: Org
    c: Collected
    entry: CatalogEntry
    run: RunOut
    grant_id: str
    subscription_id: str
    delivery_run_id: str
    client: TestClient
    library_entry_id: str
    library_id: str
    build_id: str


LIBRARY_TABLE = "shared.baselib_population"


def add_library(
    org: Org, entry: CatalogEntry, table: str, library_entry_id: str
) -> tuple[str, str]:
    """A population library built once from the entry's lake table (rows written directly:
    builds have their own tests), cataloged by ``library_entry_id``."""
    started = now() - timedelta(minutes=2)
    with org.db.transaction() as s:
        lib = BaseLibrary(
            code="population",
            name="人口基础库",
            subject_code="population",
            lake_table=LIBRARY_TABLE,
            links_table="shared.baselib_population_links",
            edges_table="shared.baselib_population_edges",
            source_versions={entry.resource_code: 1},
            entry_id=library_entry_id,
            last_built_at=started,
            entities=5,
        )
        s.add(lib)
        s.flush()
        build = LibraryBuild(
            library_id=lib.id,
            status="succeeded",
            mode="full",
            requested_by_name="operator",
            started_at=started,
            finished_at=started + timedelta(seconds=30),
            sources=[
                {
                    "id": entry.resource_code,
                    "label": "西宁市统计局",
                    "entry_id": entry.id,
                    "lake_table": table,
                    "version": 1,
                }
            ],
            entities=5,
            records=5,
        )
        s.add(build)
        s.flush()
        lib.last_build_id = build.id
        return lib.id, build.id


@pytest.fixture(scope="module")
def w(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("lineage")
    store = fresh_store("sqlite", tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="lineage-secret-" + "k" * 40,
        embedded_worker=False,
        ledger_seal_seconds=0,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(settings.db_url)
    org = build_org(db, settings)
    org.add_user("auditor", RoleAssignmentIn(role=Role.AUDITOR))
    org.add_user("secadmin", RoleAssignmentIn(role=Role.SECADMIN))
    c = collected(org, tmp, grade=2)
    with db.transaction() as s:
        entry = s.get(CatalogEntry, c.entry_id)
        assert entry is not None
        s.expunge(entry)
    add_rule(org, entry, kind="not_null", item="姓名")
    add_rule(org, entry, kind="unique", item="公民身份号码")
    add_rule(org, entry, kind="mobile", item="手机号码")
    # Two of five people are over 40: the rule fails and opens a ticket.
    add_rule(org, entry, kind="range", item="年龄", params={"min": 0, "max": 40}, severity=4)
    with org.as_("xn_officer").act() as ctx:
        run = quality_runs.run_entry(ctx, entry.id)
    world = World(org, tmp)
    app = world.apply(entry, "hx_officer", delivery_modes=["file"])
    assert app.grant_id
    with org.as_("hx_officer").act() as ctx:
        sub = subscriptions.create_subscription(
            ctx,
            SubscriptionCreate(
                grant_id=app.grant_id, name="户籍人口文件", mode="file", file_format="csv"
            ),
        )
    delivery = deliver_now(db, settings, sub.id)
    library_entry = published_entry(org, "xn_officer", name="人口基础库")
    library_id, build_id = add_library(org, entry, c.table, library_entry.id)
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as client:
        yield Setup(
            org,
            c,
            entry,
            run,
            app.grant_id,
            sub.id,
            delivery,
            client,
            library_entry.id,
            library_id,
            build_id,
        )
    db.dispose()
    store.close()


def graph_of(w: Setup, user: str) -> LineageGraph:
    with w.org.as_(user).act() as ctx:
        return lineage.entry_lineage(ctx, w.entry.id)


def kinds(g: LineageGraph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in g.nodes:
        out.setdefault(n.kind.value, []).append(n.id)
    return out


def edges(g: LineageGraph) -> set[tuple[str, str, str]]:
    return {(e.source, e.kind.value, e.target) for e in g.edges}


# -- the graph -------------------------------------------------------------------------------


def test_the_graph_joins_collection_quality_tickets_and_deliveries(w: Setup) -> None:
    g = graph_of(w, "xn_officer")
    assert g.entry_id == w.entry.id and g.mode == "physical" and g.lake_table == w.c.table
    lake = f"lake_table:{w.c.table}"
    assert g.anchor == lake
    by_kind = kinds(g)
    with w.org.db.transaction() as s:
        source_id = s.scalar(
            select(Ticket.id).where(Ticket.entry_id == w.entry.id, Ticket.rule_id.is_not(None))
        )
        mount_source = s.scalar(select(Mount.source_id).where(Mount.entry_id == w.entry.id))
    ticket = f"ticket:{source_id}"
    run = f"quality_run:{w.run.id}"
    pipeline = f"pipeline:{w.c.pipeline_id}"
    source = f"source:{mount_source}"
    grant = f"grant:{w.grant_id}"
    sub = f"subscription:{w.subscription_id}"
    library = f"library:{w.library_id}"
    assert by_kind == {
        "source": [source],
        "pipeline": [pipeline],
        "lake_table": [lake],
        "quality_run": [run],
        "ticket": [ticket],
        "grant": [grant],
        "subscription": [sub],
        "library": [library],
    }
    assert edges(g) == {
        (source, "reads", pipeline),
        (pipeline, "writes", lake),
        (lake, "checks", run),
        (run, "opens", ticket),
        (lake, "grants", grant),
        (grant, "delivers", sub),
        (lake, "feeds", library),
    }
    nodes = {n.id: n for n in g.nodes}
    # Layers left to right: source, pipeline, lake table, run/grant, ticket/subscription.
    assert [nodes[i].layer for i in (source, pipeline, lake, run, grant, ticket, sub)] == [
        0,
        1,
        2,
        3,
        3,
        4,
        4,
    ]
    assert {nodes[run].order, nodes[grant].order, nodes[library].order} == {0, 1, 2}
    # The library links to the lineage of the entry that catalogs it.
    assert nodes[library].href == f"/governance/lineage/{w.library_entry_id}"
    assert nodes[library].details["table"] == LIBRARY_TABLE
    assert nodes[library].details["last_status"] == "succeeded"
    # The run's score and the version it checked; the ticket's state; the delivery's version.
    assert nodes[run].details["score"] == w.run.score and w.run.score is not None
    assert nodes[run].details["lake_version"] == w.run.lake_version
    assert nodes[run].tone == "warn"  # one rule of four failed
    assert nodes[ticket].details["status"] == "open" and nodes[ticket].details["severity"] == 4
    assert nodes[ticket].href == f"/governance/tickets/{source_id}"
    assert nodes[sub].details["delivered_version"] == w.run.lake_version
    assert nodes[grant].label == "海西州统计局"
    # The lake table's versions from its Delta log, newest first.
    versions = nodes[lake].details["versions"]
    assert versions and versions[0]["version"] == w.run.lake_version
    assert nodes[pipeline].details["last_status"] == "succeeded"
    assert nodes[pipeline].details["lake_version"] == w.run.lake_version


def test_no_row_data_anywhere_in_the_graph(w: Setup) -> None:
    """Samples of failing rows exist on the run, but the graph carries none of their values."""
    assert any(r.samples for r in w.run.results)
    text = graph_of(w, "operator").model_dump_json()
    for value in ("张三", "13800001111", "630102199001011234", "钱七"):
        assert value not in text


def test_who_sees_the_graph(w: Setup) -> None:
    # quality.read over the provider: its officer and user, the operator, Xining's operator.
    for user in ("xn_officer", "xn_clerk", "operator", "xn_admin"):
        assert graph_of(w, user).entry_id == w.entry.id
    # Roles holding neither quality.read nor exchange.read: 403.
    for user in ("auditor", "secadmin"):
        with pytest.raises(PermissionDenied):
            graph_of(w, user)
    # Holding them elsewhere: the entry does not exist for them.
    for user in ("cd_clerk", "hx_officer"):
        with pytest.raises(NotFound):
            graph_of(w, user)


def test_a_token_without_sharing_read_sees_no_tickets_grants_or_subscriptions(w: Setup) -> None:
    with w.org.system.act() as ctx:
        cred = identity_actions.create_credential(
            ctx,
            CredentialCreate(
                name="lineage-reader",
                department_id=w.org.dept["xn_stats"],
                scopes=["quality.read"],
                days=1,
            ),
        )
    got = w.client.get(
        f"/api/v1/governance/lineage/{w.entry.resource_code}",
        headers={"authorization": f"Bearer {cred.token}"},
    )
    assert got.status_code == 200, got.text
    shown = {n["kind"] for n in got.json()["nodes"]}
    assert shown == {"source", "pipeline", "lake_table", "quality_run", "library"}
    # The ticket hangs off the run only for who may see it: no dangling edges.
    ids = {n["id"] for n in got.json()["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in got.json()["edges"])


def test_an_unmounted_entry_is_its_own_anchor(w: Setup) -> None:
    bare = published_entry(w.org, "xn_officer", name="未挂接数据的目录")
    with w.org.as_("xn_officer").act() as ctx:
        g = lineage.entry_lineage(ctx, bare.id)
    assert g.anchor == f"entry:{bare.id}" and g.mode is None and g.lake_table is None
    assert [n.kind for n in g.nodes] == [NodeKind.ENTRY] and g.edges == []


# -- the API and the page ------------------------------------------------------------------------


def token(w: Setup, user: str) -> dict[str, str]:
    from govdata.identity import auth
    from govdata.identity.models import User

    with w.org.db.transaction() as s:
        row = s.get(User, w.org.users[user])
        assert row is not None
        s.expunge(row)
    return {"authorization": f"Bearer {auth.issue_access_token(w.org.settings, row)[0]}"}


def test_the_api_takes_an_id_or_a_resource_code(w: Setup) -> None:
    by_id = w.client.get(f"/api/v1/governance/lineage/{w.entry.id}", headers=token(w, "xn_clerk"))
    by_code = w.client.get(
        f"/api/v1/governance/lineage/{w.entry.resource_code}", headers=token(w, "xn_clerk")
    )
    assert by_id.status_code == by_code.status_code == 200
    assert by_id.json()["anchor"] == by_code.json()["anchor"] == f"lake_table:{w.c.table}"
    assert {e["kind"] for e in by_id.json()["edges"]} == {
        k.value
        for k in (
            EdgeKind.READS,
            EdgeKind.WRITES,
            EdgeKind.CHECKS,
            EdgeKind.OPENS,
            EdgeKind.GRANTS,
            EdgeKind.DELIVERS,
            EdgeKind.FEEDS,
        )
    }
    exported = w.client.get(
        f"/api/v1/governance/lineage/{w.entry.resource_code}/openlineage",
        headers=token(w, "xn_clerk"),
    )
    assert exported.status_code == 200 and isinstance(exported.json(), list)
    missing = w.client.get("/api/v1/governance/lineage/nope", headers=token(w, "xn_clerk"))
    assert missing.status_code == 404


def test_the_page_draws_the_graph_and_lists_it(w: Setup) -> None:
    with TestClient(w.client.app, follow_redirects=False) as client:
        login(client, "xn_officer", PASSWORD)
        page = client.get(f"/governance/lineage/{w.entry.id}")
        assert page.status_code == 200, page.text
        html = page.text
        assert 'id="lineage-graph-data"' in html and "/static/js/lineage.js" in html
        assert f'data-node="quality_run:{w.run.id}"' in html
        assert f'data-node="subscription:{w.subscription_id}"' in html
        assert html.count('data-edge="') == 7
        assert f'href="/api/v1/governance/lineage/{w.entry.id}/openlineage"' in html
        assert f'href="/exchange/lineage/{w.entry.id}"' in html
        # The exchange lineage page links here.
        other = client.get(f"/exchange/lineage/{w.entry.id}")
        assert f'href="/governance/lineage/{w.entry.id}"' in other.text
        assert client.get("/static/js/lineage.js").status_code == 200
        # So does the entry's quality page, and the run node leads to the run's page.
        quality = client.get(f"/quality/entries/{w.entry.id}")
        assert f'href="/governance/lineage/{w.entry.id}"' in quality.text
        assert f'href="/quality/runs/{w.run.id}"' in html


# -- the OpenLineage export ----------------------------------------------------------------------

EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}


def check_facet(facet: dict[str, Any]) -> None:
    """BaseFacet: ``_producer`` and ``_schemaURL`` are required URIs."""
    assert facet["_producer"].startswith("https://"), facet
    assert facet["_schemaURL"].startswith("https://openlineage.io/spec/"), facet
    assert "#/$defs/" in facet["_schemaURL"]


def check_dataset(d: dict[str, Any], facet_keys: tuple[str, ...]) -> None:
    assert isinstance(d["namespace"], str) and d["namespace"]
    assert isinstance(d["name"], str) and d["name"]
    for key in ("facets", *facet_keys):
        for facet in (d.get(key) or {}).values():
            check_facet(facet)


def check_run_event(e: dict[str, Any]) -> None:
    """A RunEvent of OpenLineage 2-0-2, required fields and types as the spec has them."""
    assert (
        e["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
    )
    assert e["producer"].startswith("https://")
    assert datetime.fromisoformat(e["eventTime"]).tzinfo is not None
    assert e["eventType"] in EVENT_TYPES
    uuid.UUID(e["run"]["runId"])
    for facet in (e["run"].get("facets") or {}).values():
        check_facet(facet)
    assert e["job"]["namespace"] == "govdata" and e["job"]["name"]
    for facet in (e["job"].get("facets") or {}).values():
        check_facet(facet)
    for d in e.get("inputs") or []:
        check_dataset(d, ("inputFacets",))
    for d in e.get("outputs") or []:
        check_dataset(d, ("outputFacets",))


def export(w: Setup, user: str = "xn_officer") -> list[dict[str, Any]]:
    with w.org.as_(user).act() as ctx:
        return lineage_export.openlineage_events(ctx, w.entry.id)


def test_the_export_is_valid_openlineage_in_time_order(w: Setup) -> None:
    events = export(w)
    for e in events:
        check_run_event(e)
    times = [datetime.fromisoformat(e["eventTime"]) for e in events]
    assert times == sorted(times)
    # Every run starts once and ends once.
    by_run: dict[str, list[str]] = {}
    for e in events:
        by_run.setdefault(e["run"]["runId"], []).append(e["eventType"])
    assert all(types == ["START", "COMPLETE"] for types in by_run.values()), by_run
    jobs = {e["job"]["name"] for e in events}
    assert f"quality.{w.entry.resource_code}" in jobs
    assert f"delivery.{w.subscription_id}" in jobs
    assert any(j.startswith("pipeline.full.") for j in jobs)
    assert "baselib.population" in jobs
    with w.org.db.transaction() as s:
        audited = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "governance.lineage.export")
        ).all()
    assert audited and audited[-1].target_id == w.entry.id


def test_the_collection_events_are_the_stored_ones(w: Setup) -> None:
    events = [e for e in export(w) if e["job"]["name"].startswith("pipeline.")]
    with w.org.db.transaction() as s:
        stored = s.scalars(select(LineageEvent).where(LineageEvent.entry_id == w.entry.id)).all()
        payloads = sorted((p.payload["eventType"], p.payload["eventTime"]) for p in stored)
    assert sorted((e["eventType"], e["eventTime"]) for e in events) == payloads
    complete = next(e for e in events if e["eventType"] == "COMPLETE")
    assert complete["outputs"][0]["name"] == w.c.table
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 5


def test_a_quality_run_becomes_events_with_metrics_and_assertions(w: Setup) -> None:
    events = [e for e in export(w) if e["job"]["name"].startswith("quality.")]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in events} == {w.run.id}
    start, end = events
    assert start["inputs"] == [{"namespace": end["inputs"][0]["namespace"], "name": w.c.table}]
    (data,) = end["inputs"]
    assert data["name"] == w.c.table and data["namespace"].startswith("file://")
    assert data["facets"]["version"]["datasetVersion"] == str(w.run.lake_version)
    metrics = data["inputFacets"]["dataQualityMetrics"]
    assert metrics["_schemaURL"].endswith("#/$defs/DataQualityMetricsInputDatasetFacet")
    assert metrics["rowCount"] == 5
    # Exactly what the rules measured: nulls of 姓名, distinct IDs, values checked.
    assert metrics["columnMetrics"] == {
        "name": {"nullCount": 0, "count": 5},
        "resident_id": {"distinctCount": 5, "count": 5},
        "phone": {"count": 5},
        "age": {"count": 5},
    }
    for column in metrics["columnMetrics"].values():
        assert all(isinstance(v, int) for v in column.values())
    assertions = data["inputFacets"]["dataQualityAssertions"]
    assert assertions["_schemaURL"].endswith("#/$defs/DataQualityAssertionsDatasetFacet")
    got = {
        (a["assertion"], a["column"], a["success"], a["actual"]) for a in assertions["assertions"]
    }
    assert got == {
        ("not_null", "name", True, "0"),
        ("unique", "resident_id", True, "0"),
        ("mobile", "phone", True, "0"),
        ("range", "age", False, "2"),
    }
    for a in assertions["assertions"]:
        assert isinstance(a["assertion"], str) and isinstance(a["success"], bool)
    assert end["job"]["facets"]["jobType"]["jobType"] == "QUALITY_CHECK"


def test_a_delivery_becomes_events_from_the_lake_table_to_the_files(w: Setup) -> None:
    events = [e for e in export(w) if e["job"]["name"].startswith("delivery.")]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in events} == {w.delivery_run_id}
    end = events[1]
    assert end["inputs"][0]["name"] == w.c.table
    assert end["inputs"][0]["facets"]["version"]["datasetVersion"] == str(w.run.lake_version)
    (out,) = end["outputs"]
    assert out["namespace"] == f"govdata://subscriptions/{w.subscription_id}"
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 5


def test_the_export_shows_only_what_the_actor_may_see(w: Setup) -> None:
    with pytest.raises(PermissionDenied):
        export(w, "auditor")
    with pytest.raises(NotFound):
        export(w, "cd_clerk")
    # The region operator sees quality and deliveries of its region's provider too.
    jobs = {e["job"]["name"].split(".")[0] for e in export(w, "xn_admin")}
    assert jobs == {"pipeline", "quality", "delivery", "baselib"}
    # A department user (quality.read, no exchange.read) gets no pipeline events: they name
    # the source system's host and database, which the exchange pages keep from it.
    jobs = {e["job"]["name"].split(".")[0] for e in export(w, "xn_clerk")}
    assert jobs == {"quality", "delivery", "baselib"}


def test_a_library_build_in_both_lineages(w: Setup) -> None:
    """The source entry's lineage feeds the library; the library's entry shows what it was
    built from; both exports carry the build with its inputs and output."""
    with w.org.as_("xn_officer").act() as ctx:
        g = lineage.entry_lineage(ctx, w.library_entry_id)
    inp = f"lake_table:{w.c.table}"
    assert edges(g) == {(inp, "feeds", g.anchor)}
    (node,) = [n for n in g.nodes if n.id == inp]
    assert node.label == w.entry.name and node.layer == 0
    assert node.href == f"/governance/lineage/{w.entry.id}"
    for ref in (w.entry.id, w.library_entry_id):
        with w.org.as_("operator").act() as ctx:
            events = [
                e
                for e in lineage_export.openlineage_events(ctx, ref)
                if e["job"]["name"] == "baselib.population"
            ]
        assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
        assert {e["run"]["runId"] for e in events} == {w.build_id}
        end = events[1]
        check_run_event(end)
        assert [i["name"] for i in end["inputs"]] == [w.c.table]
        (out,) = end["outputs"]
        assert out["name"] == LIBRARY_TABLE
        assert out["outputFacets"]["outputStatistics"]["rowCount"] == 5


def test_a_logical_entry_is_queried_in_place_and_checked_at_the_source(w: Setup) -> None:
    entry = World(w.org, w.c.source.parent).mounted("logical", name="实时查询的人口信息")
    add_rule(w.org, entry, kind="not_null", item="姓名")
    with w.org.as_("xn_officer").act() as ctx:
        run = quality_runs.run_entry(ctx, entry.id)
        g = lineage.entry_lineage(ctx, entry.id)
        events = lineage_export.openlineage_events(ctx, entry.id)
    assert g.anchor == f"entry:{entry.id}" and g.mode == "logical" and g.lake_table is None
    (source,) = [n.id for n in g.nodes if n.kind == NodeKind.SOURCE]
    assert edges(g) == {
        (source, "queries", g.anchor),
        (g.anchor, "checks", f"quality_run:{run.id}"),
    }
    # No pipeline ran: the export is the quality run, read from the source table itself.
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    (data,) = events[1]["inputs"]
    assert data["namespace"].startswith("sqlite://") and data["name"] == "people"
    assert data["inputFacets"]["dataQualityMetrics"]["columnMetrics"] == {
        "name": {"nullCount": 0, "count": 5}
    }
    # Without exchange.read the source is named by its id, not by its path or host.
    with w.org.as_("xn_clerk").act() as ctx:
        (data,) = lineage_export.openlineage_events(ctx, entry.id)[1]["inputs"]
    assert data["namespace"].startswith("govdata://sources/") and data["name"] == "people"
