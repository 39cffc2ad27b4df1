"""Base libraries (基础库) through the platform: the cross-source subject's sources and
authority order, builds (in the call and as jobs, unchanged and incremental), golden records
with provenance and masking, the catalog entry's mount on the library's table, duplicate
checks, and who may do what.

The world is test_crosscheck's: ten people in three departments' lake tables (户籍, 社保,
民政), spelled each department's way, with the operator's authority order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from govdata.app import create_app
from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.cli import app as cli_app
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs.worker import Worker
from govdata.exchange.models import Mount
from govdata.governance import baselib, baselib_catalog, baselib_dupes
from govdata.governance.baselib_schemas import AttachIn, BuildIn, DuplicateCheckIn
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import RoleAssignmentIn
from govdata.lake.tables import Lake
from govdata.security.permissions import Role
from tests.catalog.conftest import CLASS_CODE, content
from tests.conftest import fresh_store
from tests.governance.test_crosscheck import SB, World, _arrow, build_world
from tests.identity.conftest import PASSWORD, Org, audit_rows, build_org
from tests.web.conftest import csrf_from

ZHAO = "630102198804041111"  # 赵六 (户籍, 民政) / 赵陆 (社保)


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One SQLite store for the module: the engine's store differences are not at stake."""
    tmp = tmp_path_factory.mktemp("baselib")
    store = fresh_store("sqlite", tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="baselib-secret-" + "k" * 40,
        embedded_worker=False,
        ledger_seal_seconds=0,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(url)
    org = build_org(db, settings)
    org.add_user("auditor", RoleAssignmentIn(role=Role.AUDITOR))
    yield build_world(org, tmp)
    db.dispose()
    store.close()


def _build(org: Org, **kw: bool) -> baselib.BuildOut:
    return baselib.build_here(org.as_("operator"), "population", BuildIn(**kw))


@pytest.fixture(scope="module")
def built(world: World) -> baselib.BuildOut:
    return _build(world.org)


def _record(org: Org, user: str, key: str) -> baselib.GoldenRecordOut:
    with org.as_("operator").act() as ctx:
        page = baselib.search_records(ctx, "population", key)
    assert len(page.items) == 1, page
    with org.as_(user).act() as ctx:
        return baselib.get_record(ctx, "population", page.items[0].entity_id)


def test_a_build_links_the_three_sources_into_one_record_per_person(
    world: World, built: baselib.BuildOut
) -> None:
    assert built.status == "succeeded" and built.mode == "full"
    # Ten people: nine in 户籍, 孙七/孙琪 only in 社保 and 民政; 民政's row without a key is
    # left out (it cannot be referred to).
    assert built.entities == 10 and built.records == 9 + 9 + 8
    assert {s["label"]: s["rows"] for s in built.sources} == {"户籍": 9, "社保": 9, "民政": 8}
    assert {s["id"] for s in built.sources} == {_code(world, c) for c in ("HJ", "SB", "MZ")}
    with world.org.as_("xn_clerk").act() as ctx:
        lib = baselib.get_library(ctx, "population")
    assert lib.built and lib.entities == 10 and lib.lake_version is not None
    # 吴十 only in 户籍, 周九 not in 民政, 孙七/孙琪 not in 户籍; the others in all three.
    assert {c.size: c.entities for c in lib.cluster_sizes} == {3: 7, 2: 2, 1: 1}
    assert [b.id for b in lib.builds] == [built.id]
    lake = Lake.from_settings(world.org.settings)
    assert lake.info("baselib.population").num_rows == 10
    assert lake.info("baselib.population_links").num_rows == 26
    # The operator's order: name 户籍 > 民政 > 社保; the others fall back after it.
    name = next(f for f in lib.fields if f.code == "name")
    assert name.authority == [_code(world, "HJ"), _code(world, "MZ"), _code(world, "SB")]


def _code(world: World, source: str) -> str:
    with world.org.db.transaction() as s:
        from govdata.catalog.models import CatalogEntry

        entry = s.get(CatalogEntry, world.sources[source].entry_id)
        assert entry is not None
        return entry.resource_code


def test_golden_fields_follow_the_authority_order_with_provenance(
    world: World, built: baselib.BuildOut
) -> None:
    rec = _record(world.org, "hx_officer", ZHAO)
    by_field = {f.field: f for f in rec.fields}
    assert rec.record_count == 3 and rec.source_count == 3
    # name: 户籍 is the authority (赵六), not 社保's 赵陆; the value is masked for hx_officer,
    # who may preview only 民政's data (the library has no owning department yet).
    assert rec.masked and by_field["name"].value == "赵*"
    assert by_field["name"].source == _code(world, "HJ") and by_field["name"].rule == "authority"
    assert by_field["name"].source_label == "户籍"
    # address: 社保 first.
    assert by_field["address"].source == _code(world, "SB")
    # gender has no operator order: the sources in the order they were added (户籍 first).
    assert by_field["gender"].source == _code(world, "HJ")
    # The linked records: 民政's in clear for its own officer, the others masked.
    linked = {r.source_label: r for r in rec.linked}
    assert set(linked) == {"户籍", "社保", "民政"}
    assert not linked["民政"].masked and linked["民政"].values["name"] == "赵六"
    assert linked["社保"].masked and linked["社保"].values["name"] == "赵*"
    assert linked["户籍"].masked and linked["户籍"].key != ZHAO
    reads = audit_rows(world.org.db, "governance.baselib.record.read")
    assert reads and reads[-1]["actor_name"] == "hx_officer"


def test_the_operator_never_sees_row_content(world: World, built: baselib.BuildOut) -> None:
    rec = _record(world.org, "operator", ZHAO)
    assert rec.masked and all(r.masked for r in rec.linked)
    values = [f.value for f in rec.fields if f.value] + [
        v for r in rec.linked for v in r.values.values() if v
    ]
    assert "赵六" not in values and ZHAO not in values
    with world.org.as_("operator").act() as ctx:
        page = baselib.search_records(ctx, "population", "赵")
    assert page.masked and {i.name for i in page.items} == {"赵*"}


def test_rebuilds_are_skipped_when_nothing_changed_and_incremental_otherwise(
    world: World, built: baselib.BuildOut
) -> None:
    org = world.org
    again = _build(org)
    assert again.mode == "unchanged" and again.entities == 10
    # 社保 corrects 赵陆 to 赵六: one record changed, scored again against the others.
    lake = Lake.from_settings(org.settings)
    src = world.sources["SB"]
    rows = [(r[0], "赵六", *r[2:]) if r[0] == ZHAO else r for r in SB]
    changed = _arrow(type(src)(**{**src.__dict__, "rows": rows}))
    lake.overwrite(src.table, changed)
    third = _build(org)
    assert third.mode == "incremental", third.stats
    assert third.stats["changed"] == 1 and third.stats["scored_records"] == 1
    assert third.entities == 10
    # The entity keeps its id across builds.
    with org.as_("operator").act() as ctx:
        before = baselib.search_records(ctx, "population", ZHAO).items[0].entity_id
    assert before == _record(org, "operator", ZHAO).entity_id
    lake.overwrite(src.table, _arrow(src))


def test_a_build_queued_by_the_portal_runs_as_a_job(world: World, built: baselib.BuildOut) -> None:
    org = world.org
    with org.as_("operator").act() as ctx:
        queued = baselib.start_build(ctx, "population", BuildIn(retrain=True))
    assert queued.status == "queued" and queued.job_id
    with pytest.raises(Conflict), org.as_("operator").act() as ctx:
        baselib.start_build(ctx, "population")
    Worker(org.db, org.settings).run_until_idle()
    with org.as_("operator").act() as ctx:
        done = baselib.get_build(ctx, "population", queued.id)
    assert done.status == "succeeded", done.error
    assert done.mode == "full" and done.entities == 10
    assert audit_rows(org.db, "governance.baselib.build")[-1]["details"]["build_id"] == queued.id


def test_the_library_is_cataloged_with_a_mount_on_its_table(
    world: World, built: baselib.BuildOut
) -> None:
    org = world.org
    with org.as_("operator").act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code=CLASS_CODE,
                provider_code="xn_stats",
                **content(name="人口基础库"),
            ),
        )
        draft = entry.id
        with pytest.raises(InvalidInput):
            baselib_catalog.attach_entry(ctx, "population", AttachIn(entry=draft))
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
        lib = baselib_catalog.attach_entry(ctx, "population", AttachIn(entry=entry.id))
    assert lib.entry_id == entry.id and lib.mounted
    with org.db.transaction() as s:
        from sqlalchemy import select

        mount = s.scalar(select(Mount).where(Mount.entry_id == entry.id))
        assert mount is not None
        assert mount.mode == "physical" and mount.lake_table == "baselib.population"
        assert mount.key_columns == ["entity_id"]
        assert {c["field"] for c in mount.columns} >= {"entity_id", "resident_id", "name"}
    # The entry's grade (3) asks its sensitive items encrypted at rest: the next build, even
    # with no source changed, rewrites the golden table with those columns SM4-encrypted.
    lake = Lake.from_settings(org.settings)
    assert lake.encrypted_columns("baselib.population") == {}
    again = _build(org)
    assert again.mode == "unchanged", again.error
    marks = lake.encrypted_columns("baselib.population")
    # The key deterministic (lookups by ID number stay inside the scan), entity_id clear.
    assert marks["resident_id"] == "det" and "entity_id" not in marks
    with org.as_("xn_officer").act() as ctx:
        assert len(baselib.search_records(ctx, "population", ZHAO).items) == 1
    stored = Lake(lake.root).read("baselib.population", columns=["resident_id"])  # no keys
    assert ZHAO not in stored.column("resident_id").to_pylist()
    assert (
        ZHAO
        in lake.read("baselib.population", columns=["resident_id"])
        .column("resident_id")
        .to_pylist()
    )
    # The library's rows now belong to xn_stats: its officer sees golden values in clear.
    rec = _record(org, "xn_officer", ZHAO)
    assert not rec.masked
    assert {f.field: f.value for f in rec.fields}["name"] == "赵六"


def test_duplicate_checks_of_one_entry(world: World) -> None:
    org = world.org
    sb = world.sources["SB"].entry_id
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        baselib_dupes.start_check(ctx, DuplicateCheckIn(entry=sb))
    with org.as_("xn_officer").act() as ctx:
        queued = baselib_dupes.start_check(ctx, DuplicateCheckIn(entry=sb))
    Worker(org.db, org.settings).run_until_idle()
    with org.as_("xn_officer").act() as ctx:
        done = baselib_dupes.get_check(ctx, queued.id)
    assert done.status == "succeeded", done.error
    assert done.records == 9 and done.clusters == 0 and done.sample == []
    with pytest.raises(PermissionDenied), org.as_("hx_officer").act() as ctx:
        baselib_dupes.get_check(ctx, queued.id)
    with pytest.raises(NotFound), org.as_("operator").act() as ctx:
        baselib_dupes.start_check(ctx, DuplicateCheckIn(entry="nope"))


def test_who_may_do_what(world: World, built: baselib.BuildOut) -> None:
    org = world.org
    for user in ("xn_officer", "xn_admin", "xn_clerk"):
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            baselib.start_build(ctx, "population")
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            baselib_catalog.attach_entry(ctx, "population", AttachIn(entry="x"))
        with org.as_(user).act() as ctx:
            assert {lib.code for lib in baselib.list_libraries(ctx)} == {
                "population",
                "legal_entity",
            }
    with pytest.raises(PermissionDenied), org.as_("auditor").act() as ctx:
        baselib.list_libraries(ctx)
    with org.as_("operator").act() as ctx:
        legal = baselib.get_library(ctx, "legal_entity")
        assert not legal.built and legal.problems
        with pytest.raises(InvalidInput):
            baselib.start_build(ctx, "legal_entity")
        with pytest.raises(NotFound):
            baselib.get_library(ctx, "galaxy")
        with pytest.raises(NotFound):
            baselib.search_records(ctx, "legal_entity", "x")


# -- the portal, the API and the CLI --------------------------------------------------------


@pytest.fixture(scope="module")
def portal(world: World) -> Iterator[TestClient]:
    # Demo mode lets the operator in without a second factor.
    settings = world.org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/workbench").text)


def test_the_portal_builds_a_library_and_shows_records_with_provenance(
    world: World, built: baselib.BuildOut, portal: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sign_in(portal, "operator")
    home = portal.get("/governance/baselibs")
    assert home.status_code == 200, home.text
    assert 'data-library="population"' in home.text and 'data-library="legal_entity"' in home.text
    assert 'href="/governance/baselibs"' in home.text  # the nav item
    r = portal.post("/governance/baselibs/population/builds", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    queued = portal.get(url)
    assert 'data-status="queued"' in queued.text and "hx-get" in queued.text
    Worker(world.org.db, world.org.settings).run_until_idle()
    progress = portal.get(f"{url}/progress", headers={"HX-Request": "true"})
    assert progress.headers.get("HX-Refresh") == "true"
    done = portal.get(url)
    assert 'data-status="succeeded"' in done.text and 'data-stat="entities">10<' in done.text
    lib = portal.get("/governance/baselibs/population", params={"q": ZHAO})
    assert lib.status_code == 200
    assert 'data-size="3"' in lib.text and "cluster-chart-data" in lib.text
    # The operator finds the person by ID number but sees it masked.
    entity = re.search(r'/governance/baselibs/population/records/(P[0-9A-F]+)"', lib.text)
    assert entity and "赵六" not in lib.text
    record = portal.get(f"/governance/baselibs/population/records/{entity.group(1)}")
    assert record.status_code == 200 and "赵六" not in record.text and "赵*" in record.text
    assert record.text.count("data-source=") == 3
    # The officer of 社保's department sees 社保's record (their own) in clear.
    sign_in(portal, "xn_officer")
    record = portal.get(f"/governance/baselibs/population/records/{entity.group(1)}")
    assert record.status_code == 200 and "赵陆" in record.text
    assert portal.get("/governance/baselibs/galaxy").status_code == 404
    # The API, with a bearer token.
    with world.org.db.sessions() as s:
        user = s.query(User).filter_by(username="xn_officer").one()
        bearer = auth.issue_access_token(world.org.settings, user)[0]
    r = portal.get(
        "/api/v1/governance/baselibs/population/records",
        params={"q": "赵"},
        headers={"authorization": f"Bearer {bearer}"},
    )
    assert r.status_code == 200 and r.json()["items"][0]["entity_id"] == entity.group(1)
    # The CLI.
    monkeypatch.setenv("GOVDATA_DATABASE_URL", world.org.settings.database_url or "")
    data_dir = str(world.org.settings.data_dir)
    result = CliRunner().invoke(cli_app, ["baselib", "build", "population", "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    # Nothing changed since the portal's build: skipped without reading the sources.
    assert "entities=10" in result.output
    assert "来源未变" in result.output or "Sources unchanged" in result.output
    result = CliRunner().invoke(cli_app, ["baselib", "show", "population", "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    assert "baselib.population" in result.output


def test_a_build_that_cannot_read_a_source_ends_failed_with_the_reason_audited(
    world: World, built: baselib.BuildOut
) -> None:
    org = world.org
    folder = Lake.from_settings(org.settings).path(world.sources["SB"].table)
    aside = folder.with_name(folder.name + ".aside")
    with org.as_("operator").act() as ctx:
        queued = baselib.start_build(ctx, "population", BuildIn(retrain=True))
    folder.rename(aside)
    try:
        Worker(org.db, org.settings).run_until_idle()
    finally:
        aside.rename(folder)
    with org.as_("operator").act() as ctx:
        done = baselib.get_build(ctx, "population", queued.id)
    assert done.status == "failed" and done.error
    last = audit_rows(org.db, "governance.baselib.build")[-1]
    assert (last["outcome"], last["target_type"]) == ("failure", "governance_baselib")
    assert last["details"] == {"build_id": queued.id, "error": done.error}
