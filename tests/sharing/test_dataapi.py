"""The data-service API: only granted fields and rows, masked, paged in key order, audited;
the same on a live source (logical mount) and on the lake (physical mount); revocation,
expiry, rate limits; and a property test that no projection or filter leaks anything."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from govdata.app import create_app
from govdata.catalog.models import CatalogEntry
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.security.models import AuditRecord
from govdata.sharing import dataapi, grants, limits
from govdata.sharing.models import Grant
from govdata.sharing.schemas import AppLimitIn, ReasonIn, VerifyIn
from tests.sharing.conftest import PEOPLE, World

FIELDS = ["resident_id", "name", "phone", "region_code", "age"]
ROWS = [dict(zip(FIELDS, p, strict=True)) for p in PEOPLE]


def granted_entry(world: World, mode: str, **apply: Any) -> CatalogEntry:
    entry = world.mounted(mode)
    app = world.apply(entry, **apply)
    assert app.grant_id, app
    return entry


def read(world: World, entry: CatalogEntry, user: str = "hx_officer", **kw: Any) -> Any:
    return dataapi.read_data(world.caller(user), entry.resource_code, **kw)


def audits(world: World, action: str) -> list[AuditRecord]:
    with world.org.db.transaction() as s:
        rows = list(s.scalars(select(AuditRecord).where(AuditRecord.action == action)))
        for r in rows:
            s.expunge(r)
        return rows


@pytest.mark.parametrize("mode", ["logical", "physical"])
def test_only_granted_fields_and_rows_come_back_masked(world: World, mode: str) -> None:
    entry = granted_entry(
        world,
        mode,
        items=["公民身份号码", "姓名", "户籍地区划"],
        row_filter=[["户籍地区划", "=", "632801"]],
    )
    page = read(world, entry)
    assert [f["name"] for f in page.fields] == ["resident_id", "name", "region_code"]
    assert page.rows == [
        {"resident_id": "632801********5678", "name": "王*", "region_code": "632801"},
        {"resident_id": "632801********7890", "name": "赵*", "region_code": "632801"},
    ]
    assert page.masked == ["resident_id", "name"]
    assert "不得转让" in page.onward_transfer and page.purpose
    # Asking for an ungranted field, or filtering on one, is refused and changes nothing.
    for kw in ({"fields": ["phone"]}, {"filters": [("age", ">", 30)]}):
        with pytest.raises(InvalidInput) as err:
            read(world, entry, **kw)
        assert err.value.code == "sharing_field_not_granted"
    (audit,) = audits(world, "sharing.data.read")
    assert audit.fields == "resident_id,name,region_code" and audit.row_count == 2
    assert audit.details and audit.details["grant"] and audit.details["duration_ms"] >= 0


@pytest.mark.parametrize("mode", ["logical", "physical"])
def test_filters_keyset_pages_and_key_lookups(world: World, mode: str) -> None:
    entry = granted_entry(world, mode, clear_items=["公民身份号码", "姓名", "手机号码"])
    caller = world.caller("hx_officer")
    seen: list[str] = []
    cursor = None
    while True:
        page = dataapi.read_data(caller, entry.resource_code, limit=2, cursor=cursor)
        seen += [r["resident_id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(p[0] for p in PEOPLE)
    page = dataapi.read_data(
        caller, entry.resource_code, fields=["name"], filters=[("age", ">=", "36")]
    )
    assert sorted(r["name"] for r in page.rows) == ["张三", "李四", "钱七"]
    page = dataapi.read_data(
        caller, entry.resource_code, filters=[("region_code", "IN", ["630100", "632801"])]
    )
    assert page.row_count == 3
    found = dataapi.lookup(caller, entry.resource_code, "630102198502023456")
    assert found.rows == [
        {
            "resident_id": "630102198502023456",
            "name": "李四",
            "phone": "13900002222",
            "region_code": "630102",
            "age": 41,
        }
    ]
    assert dataapi.lookup(caller, entry.resource_code, "000000000000000000").rows == []


def test_batch_verification_answers_match_without_returning_data(world: World) -> None:
    entry = granted_entry(world, "physical", row_filter=[["户籍地区划", "=", "630102"]])
    out = dataapi.verify(
        world.caller("hx_officer"),
        entry.resource_code,
        VerifyIn(
            key="resident_id",
            checks=[
                {"key": "630102199001011234", "values": {"name": "张三", "age": 36}},
                {"key": "630102198502023456", "values": {"name": "张三"}},
                # Outside the grant's row scope: as if it did not exist.
                {"key": "632801199203035678", "values": {"name": "王五"}},
            ],
        ),
    )
    assert [(r.found, r.match, r.fields) for r in out.results] == [
        (True, True, {"name": True, "age": True}),
        (True, False, {"name": False}),
        (False, False, {"name": False}),
    ]
    (audit,) = audits(world, "sharing.data.verify")
    assert audit.row_count == 3


def test_revocation_and_expiry_take_effect_on_the_next_request(world: World) -> None:
    entry = granted_entry(world, "logical")
    assert read(world, entry).row_count == 5
    with world.org.db.transaction() as s:
        grant = s.scalars(select(Grant)).one()
        grant_id = grant.id
        s.execute(update(Grant).values(expires_at=now() - timedelta(seconds=1)))
    with pytest.raises(PermissionDenied) as err:
        read(world, entry)
    assert err.value.code == "sharing_grant_expired"
    with world.org.db.transaction() as s:
        s.execute(update(Grant).values(expires_at=now() + timedelta(days=1)))
    assert read(world, entry).row_count == 5
    with world.org.as_("xn_officer").act() as ctx:
        grants.revoke_grant(ctx, grant_id, ReasonIn(reason="停止共享"))
    with pytest.raises(PermissionDenied) as err:
        read(world, entry)
    assert err.value.code == "sharing_grant_revoked"
    denied = [r for r in audits(world, "data.read") if r.outcome == "denied"]
    assert len(denied) == 2 and denied[0].target_id == entry.resource_code


def test_nobody_else_reads_without_a_grant_and_the_provider_reads_its_own(world: World) -> None:
    entry = granted_entry(world, "logical")
    for user in ("police_officer", "cd_clerk"):
        with pytest.raises(PermissionDenied) as err:
            read(world, entry, user=user)
        assert err.value.code == "sharing_no_grant"
    # Operators manage workflows, not content.
    with pytest.raises(PermissionDenied):
        read(world, entry, user="operator")
    own = read(world, entry, user="xn_officer")
    assert own.grant_code == "own" and own.masked == [] and own.row_count == 5
    assert own.rows[0]["resident_id"] in {p[0] for p in PEOPLE}


def test_apps_are_rate_limited_and_restricted_to_the_grants_apps(world: World) -> None:
    entry = granted_entry(world, "physical")
    token = world.app_token()
    other = world.app_token(scopes=["data.read", "department.read"])
    with TestClient(create_app(world.org.settings)) as client:
        code, seq = entry.resource_code.split("/")
        url = f"/api/v1/data/{code}/{seq}"
        auth = {"authorization": f"Bearer {token}"}
        r = client.get(url, params={"age__gte": "40", "fields": "name,age"}, headers=auth)
        assert r.status_code == 200, r.text
        assert sorted((row["name"], row["age"]) for row in r.json()["rows"]) == [
            ("李*", 41),
            ("钱*", 48),
        ]
        r = client.get(f"{url}/records/630102199001011234", headers=auth)
        assert r.json()["rows"][0]["phone"] == "138****1111"
        r = client.get(url, params={"phone__like": "x"}, headers=auth)
        assert r.status_code == 422 and r.json()["error"]["code"] == "source_filter_invalid"
        app_id = _credential_id(world, token)
        with world.org.as_("operator").act() as ctx:
            limits.set_limit(ctx, app_id, AppLimitIn(per_minute=3, per_day=1000))
        assert client.get(url, headers=auth).status_code == 200
        r = client.get(url, headers=auth)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        # Counted calls reach the store (refused ones do not count).
        with world.org.as_("operator").act() as ctx:
            usage = limits.get_limit(ctx, app_id)
        assert (usage.per_minute, usage.used_today) == (3, 3)
        # The grant may be narrowed to named apps of the consumer.
        with world.org.db.transaction() as s:
            s.execute(update(Grant).values(app_ids=[_credential_id(world, other)]))
        r = client.get(url, headers={"authorization": f"Bearer {other}"})
        assert r.status_code == 200
        with world.org.db.transaction() as s:
            s.execute(update(Grant).values(app_ids=[app_id]))
        r = client.get(url, headers={"authorization": f"Bearer {other}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "sharing_app_not_granted"
    reads = [r for r in audits(world, "sharing.data.read") if r.actor_kind == "app"]
    assert reads and all(r.details and r.details["app"] for r in reads)


def _credential_id(world: World, token: str) -> str:
    from govdata.identity.actions import hash_token
    from govdata.identity.models import AppCredential

    with world.org.db.transaction() as s:
        return s.scalars(
            select(AppCredential.id).where(AppCredential.token_hash == hash_token(token))
        ).one()


# -- property: nothing outside the grant leaks, whatever the request ---------------------------

GRANTED_ITEMS = ["公民身份号码", "姓名", "年龄"]
GRANTED = ["resident_id", "name", "age"]
SCOPE = "630102"
ops = st.sampled_from(["=", "<", "<=", ">", ">=", "IN", "IS NULL", "IS NOT NULL"])
values = st.one_of(
    st.sampled_from([p[0] for p in PEOPLE] + ["张三", "王五", "630102", "632801"]),
    st.integers(min_value=0, max_value=60).map(str),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    fields = draw(st.one_of(st.none(), st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5)))
    conds = []
    for _ in range(draw(st.integers(0, 3))):
        field, op = draw(st.sampled_from(FIELDS)), draw(ops)
        if op in ("IS NULL", "IS NOT NULL"):
            conds.append((field, op, None))
        elif op == "IN":
            conds.append((field, op, draw(st.lists(values, min_size=1, max_size=3))))
        else:
            conds.append((field, op, draw(values)))
    return {"fields": fields, "filters": conds}


@pytest.mark.parametrize("mode", ["logical", "physical"])
def test_no_projection_or_filter_leaks_an_item_or_row_outside_the_grant(
    world: World, mode: str
) -> None:
    entry = granted_entry(
        world,
        mode,
        items=GRANTED_ITEMS,
        row_filter=[["户籍地区划", "=", SCOPE]],
        clear_items=["姓名"],
    )
    caller = world.caller("hx_officer")
    in_scope = [r for r in ROWS if r["region_code"] == SCOPE]
    masked_ids = {r["resident_id"][:6] + "*" * 8 + r["resident_id"][-4:] for r in in_scope}

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(requests())
    def check(req: dict[str, Any]) -> None:
        try:
            page = dataapi.read_data(caller, entry.resource_code, **req)
        except InvalidInput as exc:
            named = set(req["fields"] or []) | {c[0] for c in req["filters"]}
            assert exc.code in ("sharing_field_not_granted", "source_filter_invalid")
            if exc.code == "sharing_field_not_granted":
                assert named - set(GRANTED)
            return
        assert set(req["fields"] or []) <= set(GRANTED)
        for row in page.rows:
            assert set(row) <= set(GRANTED)
            if "resident_id" in row:
                assert row["resident_id"] in masked_ids
            if "name" in row:
                assert row["name"] in {r["name"] for r in in_scope}
        assert page.row_count <= len(in_scope)
        text = json.dumps(page.rows, ensure_ascii=False)
        for r in ROWS:
            assert r["phone"] not in text
            assert r["resident_id"] not in text
            if r["region_code"] != SCOPE:
                assert r["name"] not in text

    check()


@pytest.mark.parametrize("kind", ["mariadb", "postgres"])
def test_a_live_database_source_gets_the_same_answers(world: World, kind: str) -> None:
    from tests.exchange.sourcedb import mariadb_db, postgres_db
    from tests.exchange.test_mounts import add_source
    from tests.sharing.conftest import mount_logical

    make = mariadb_db if kind == "mariadb" else postgres_db
    with make() as src:
        src.execute(
            "CREATE TABLE people (id_no VARCHAR(18) PRIMARY KEY, xm VARCHAR(50),"
            " mobile VARCHAR(11), region VARCHAR(6), age INTEGER, secret_note VARCHAR(20))"
        )
        src.executemany(
            "INSERT INTO people VALUES (%s, %s, %s, %s, %s, 'internal')", [list(p) for p in PEOPLE]
        )
        entry = world.entry()
        mount_logical(world.org, entry.id, add_source(world.org, "xn_stats", src))
        world.apply(entry, row_filter=[["年龄", ">", 30]], items=["公民身份号码", "姓名", "年龄"])
        caller = world.caller("hx_officer")
        first = dataapi.read_data(caller, entry.resource_code, limit=2)
        second = dataapi.read_data(caller, entry.resource_code, limit=2, cursor=first.next_cursor)
        assert [r["name"] for r in first.rows + second.rows] == ["钱*", "李*", "张*", "王*"]
        assert second.next_cursor is None
        assert dataapi.lookup(caller, entry.resource_code, "632801200004047890").rows == []
        page = dataapi.read_data(caller, entry.resource_code, filters=[("age", "<=", "36")])
        assert [r["age"] for r in page.rows] == [36, 34]
