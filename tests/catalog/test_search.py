"""Catalog search on real SQLite FTS5 and PostgreSQL: Chinese ranking, synonyms, facets, filters,
visibility, pages and orders. One small catalog per store is built for the whole module, by
writing rows and calling ``index_entry`` as the catalog actions do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog import api_search, search, synonyms
from govdata.catalog.models import CatalogClass, CatalogEntry, EntryItem, EntryVersion
from govdata.catalog.search import SearchParams, make_params, search_entries
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.errors import InvalidInput
from govdata.core.pagination import encode_cursor
from govdata.identity import actions as identity
from govdata.identity.schemas import DepartmentCreate, RoleAssignmentIn
from govdata.security.context import Caller
from govdata.security.permissions import Role
from tests.conftest import STORES, fresh_store
from tests.identity.conftest import PASSWORD, Org, build_org, credit_code

EXTRA_DEPTS = [
    ("market", "青海省市场监督管理局", "630000"),
    ("hrss", "青海省人力资源和社会保障厅", "630000"),
    ("xn_civil", "西宁市民政局", "630100"),
]


@dataclass
class Spec:
    key: str
    name: str
    dept: str
    class_code: str
    status: str = "published"
    summary: str = ""
    items: tuple[str, ...] = ()
    share_type: str = "unconditional"
    open_type: str = "closed"
    grade: int = 1
    format: str = "database"
    update_cycle: str = "daily"


SPECS = [
    # 户籍
    Spec("hj_exact", "户籍", "police", "101002", summary="户籍登记总表", grade=3),
    Spec(
        "hj_name",
        "户籍人口基本信息",
        "police",
        "101001",
        summary="全省户籍人口的基本登记信息",
        share_type="conditional",
        grade=3,
    ),
    Spec(
        "hj_body",
        "人口迁移登记",
        "police",
        "101001",
        summary="记录户籍迁入、迁出情况",
        update_cycle="monthly",
    ),
    Spec(
        "hj_item",
        "流动人口居住登记",
        "xn_stats",
        "101006",
        items=("姓名", "户籍地址", "现居住地址"),
        format="spreadsheet",
    ),
    # 营业执照
    Spec("yy_exact", "营业执照", "market", "105004", share_type="conditional", format="api"),
    Spec("yy_name", "企业营业执照登记信息", "market", "102002", open_type="open"),
    Spec(
        "yy_item",
        "市场主体年报信息",
        "market",
        "102001",
        summary="企业年度报告公示内容",
        items=("统一社会信用代码", "营业执照注册号"),
        update_cycle="yearly",
    ),
    # 低保 / 最低生活保障
    Spec("db_name", "城乡低保对象信息", "xn_civil", "203002", grade=2, share_type="conditional"),
    Spec("db_syn", "最低生活保障金发放记录", "xn_civil", "203002", update_cycle="monthly"),
    Spec(
        "db_body",
        "特困人员救助供养信息",
        "xn_civil",
        "203003",
        summary="与低保对象信息比对后确定的特困人员",
    ),
    # 社保缴费 / 社会保险
    Spec("sb_exact", "社保缴费", "hrss", "203001", grade=2),
    Spec("sb_name", "职工社保缴费基数", "hrss", "203001", update_cycle="monthly"),
    Spec("sb_syn", "社会保险参保缴费明细", "hrss", "203001", open_type="conditional"),
    Spec("sb_other", "养老保险待遇发放", "hrss", "203005", summary="按月发放，社保经办机构负责"),
    # unrelated published entries
    Spec("med", "医疗机构执业登记", "cd_health", "202002", format="api", grade=2),
    Spec("stats", "海西州国民经济主要指标", "hx_stats", "302001", update_cycle="quarterly"),
    # not published
    Spec("police_draft", "户籍迁移草稿目录", "police", "101002", status="draft"),
    Spec("cd_draft", "城东区户籍人口健康档案", "cd_health", "202001", status="submitted"),
    Spec("hx_withdrawn", "格尔木户籍统计", "hx_stats", "101002", status="withdrawn"),
]
PUBLISHED = [s for s in SPECS if s.status == "published"]
KEYS = {s.key for s in SPECS}


@dataclass
class World:
    org: Org
    ids: dict[str, str] = field(default_factory=dict)

    def key(self, entry_id: str) -> str:
        return next(k for k, v in self.ids.items() if v == entry_id)

    def search(self, user: str | None = None, **params: Any) -> tuple[list[str], Any]:
        caller: Caller = self.org.system if user is None else self.org.as_(user)
        with caller.act() as ctx:
            result = search_entries(ctx, make_params(**params))
        return [self.key(i.id) for i in result.items], result


def _insert(org: Org, specs: list[Spec]) -> dict[str, str]:
    ids: dict[str, str] = {}
    base = now() - timedelta(days=30)
    with org.system.act() as ctx:
        s = ctx.session
        depts = {}
        for code in {spec.dept for spec in specs}:
            depts[code] = identity.get_department_by_code(ctx, code)
        classes = {c.code: c for c in s.scalars(select(CatalogClass))}
        for n, spec in enumerate(specs):
            dept, cls = depts[spec.dept], classes[spec.class_code]
            stamp = base + timedelta(hours=n)
            entry = CatalogEntry(
                resource_code=f"{spec.class_code}/{n + 1:06d}",
                classification_id=cls.id,
                class_code=cls.code,
                category=cls.category,
                provider_department_id=dept.id,
                provider_code=dept.code,
                provider_name=dept.name,
                provider_credit_code=dept.credit_code,
                region_code=dept.region_code,
                region_path=dept.region_path,
                status=spec.status,
                working_status=None if spec.status == "published" else spec.status,
                name=spec.name,
                share_type=spec.share_type,
                open_type=spec.open_type,
                grade=spec.grade,
                format=spec.format,
                update_cycle=spec.update_cycle,
                item_count=len(spec.items),
                created_at=stamp,
                updated_at=stamp,
            )
            s.add(entry)
            s.flush()
            version = EntryVersion(
                entry_id=entry.id,
                version_no=1,
                status=spec.status,
                name=spec.name,
                summary=spec.summary,
                format=spec.format,
                share_type=spec.share_type,
                share_modes=["api"],
                open_type=spec.open_type,
                update_cycle=spec.update_cycle,
                grade=spec.grade,
                items=[
                    EntryItem(
                        position=i, name=item, data_type="string", grade=1, share_type="conditional"
                    )
                    for i, item in enumerate(spec.items)
                ],
            )
            s.add(version)
            s.flush()
            if spec.status == "published":
                entry.published_version_id = version.id
            else:
                entry.working_version_id = version.id
            search.index_entry(s, entry, version)
            # index_entry must not touch the timestamps the order tests rely on.
            entry.updated_at = stamp
            ids[spec.key] = entry.id
    return ids


@pytest.fixture(scope="module", params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("search")
    stores = fresh_store(request.param, tmp, request)
    url = next(stores)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="test-secret-key-" + "x" * 32,
        embedded_worker=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    db = Database(url)
    try:
        org = build_org(db, settings)
        with org.system.act() as ctx:
            for i, (code, name, region) in enumerate(EXTRA_DEPTS):
                out = identity.create_department(
                    ctx,
                    DepartmentCreate(
                        code=code, name=name, credit_code=credit_code(50 + i), region_code=region
                    ),
                )
                org.dept[code] = out.id
        org.add_user("police_clerk", RoleAssignmentIn(role=Role.DEPT_USER), department="police")
        yield World(org, _insert(org, SPECS))
    finally:
        db.dispose()
        stores.close()


def spec(key: str) -> Spec:
    return next(s for s in SPECS if s.key == key)


# Ranking -------------------------------------------------------------------------------------


def test_huji_ranks_exact_name_then_name_then_body_and_items(world: World) -> None:
    keys, result = world.search("xn_clerk", q="户籍")
    assert keys[:2] == ["hj_exact", "hj_name"]
    # Found through the summary and through an item name only.
    assert set(keys) == {"hj_exact", "hj_name", "hj_body", "hj_item"}
    assert keys.index("hj_item") > keys.index("hj_name")
    assert keys.index("hj_body") > keys.index("hj_name")
    assert not {"yy_exact", "med", "sb_exact"} & set(keys)
    assert result.total == len(keys)


def test_business_licence_query(world: World) -> None:
    keys, _ = world.search("xn_clerk", q="营业执照")
    assert keys[0] == "yy_exact"
    assert keys[1] == "yy_name"
    assert "yy_item" in keys  # only an item mentions it
    assert set(keys) == {"yy_exact", "yy_name", "yy_item"}


def test_dibao_and_social_insurance_payment(world: World) -> None:
    keys, _ = world.search("xn_clerk", q="低保")
    assert keys[0] == "db_name"
    assert set(keys) == {"db_name", "db_body"}  # 最低生活保障 needs a synonym
    keys, _ = world.search("xn_clerk", q="社保缴费")
    assert keys[:2] == ["sb_exact", "sb_name"]
    # 社保 alone (sb_other) is not enough: every query word must occur.
    assert set(keys) == {"sb_exact", "sb_name"}


def test_words_found_inside_longer_words_and_codes(world: World) -> None:
    keys, _ = world.search("xn_clerk", q="公积金")
    assert keys == []
    # 保险 is a dictionary word inside 社会保险 (names, and the class name 社会保险参保缴费
    # of the 203001 entries) and 养老保险.
    keys, _ = world.search("xn_clerk", q="保险")
    assert set(keys) == {"sb_exact", "sb_name", "sb_syn", "sb_other"}
    keys, _ = world.search("xn_clerk", q="105004/000005")
    assert keys == ["yy_exact"]
    keys, _ = world.search("xn_clerk", q="ＹＹ 的")  # full-width latin, a stop word: no match
    assert keys == []


def test_synonyms_widen_the_search_both_ways(world: World) -> None:
    with world.org.system.act() as ctx:
        synonyms.set_synonyms(ctx, synonyms.SynonymIn(term="低保", synonyms=["最低生活保障"]))
        synonyms.set_synonyms(ctx, synonyms.SynonymIn(term="社保", synonyms=["社会保险"]))
    try:
        keys, _ = world.search("xn_clerk", q="低保")
        assert keys[0] == "db_name"
        assert set(keys) == {"db_name", "db_syn", "db_body"}
        keys, _ = world.search("xn_clerk", q="社保缴费")
        assert keys[:2] == ["sb_exact", "sb_name"]
        assert set(keys) == {"sb_exact", "sb_name", "sb_syn"}
        # Symmetric: the long form finds the abbreviation.
        keys, _ = world.search("xn_clerk", q="社会保险")
        assert {"sb_exact", "sb_name", "sb_syn", "sb_other"} == set(keys)
    finally:
        with world.org.system.act() as ctx:
            synonyms.delete_synonym(ctx, "低保")
            synonyms.delete_synonym(ctx, "社保")
    keys, _ = world.search("xn_clerk", q="低保")
    assert "db_syn" not in keys


# Visibility ----------------------------------------------------------------------------------


def test_visibility_of_unpublished_entries(world: World) -> None:
    published = {s.key for s in PUBLISHED}
    seen = {
        user: set(world.search(user, limit=200)[0])
        for user in ("xn_clerk", "police_clerk", "xn_admin", "cd_clerk", "operator")
    }
    assert seen["xn_clerk"] == published
    assert seen["police_clerk"] == published | {"police_draft"}
    # The Xining region operator sees drafts of departments in Xining and its districts.
    assert seen["xn_admin"] == published | {"cd_draft"}
    assert seen["cd_clerk"] == published | {"cd_draft"}
    assert seen["operator"] == KEYS
    keys, result = world.search("xn_clerk", q="户籍")
    assert not {"police_draft", "cd_draft", "hx_withdrawn"} & set(keys)
    assert result.total == len(keys)
    keys, _ = world.search("police_clerk", q="户籍")
    assert "police_draft" in keys and "cd_draft" not in keys
    keys, _ = world.search("operator", status=["draft", "withdrawn"])
    assert set(keys) == {"police_draft", "hx_withdrawn"}


def test_secadmin_may_not_search(world: World) -> None:
    world.org.add_user("sec", RoleAssignmentIn(role=Role.SECADMIN))
    from govdata.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        world.search("sec")


# Facets and filters --------------------------------------------------------------------------


def _facet_key(s: Spec, name: str, depts: dict[str, tuple[str, str]]) -> str:
    if name == "provider":
        return s.dept
    if name == "region":
        return depts[s.dept][0]
    if name == "classification":
        return s.class_code[:3]
    if name == "category":
        return s.class_code[0]
    return str(getattr(s, name))


DEPT_REGION = {
    "police": ("630000", ""),
    "market": ("630000", ""),
    "hrss": ("630000", ""),
    "xn_stats": ("630100", ""),
    "xn_civil": ("630100", ""),
    "cd_health": ("630102", ""),
    "hx_stats": ("632800", ""),
}


def _counts(specs: list[Spec], name: str) -> dict[str, int]:
    return dict(Counter(_facet_key(s, name, DEPT_REGION) for s in specs))


def _facets(result: Any) -> dict[str, dict[str, int]]:
    return {name: {v.value: v.count for v in values} for name, values in result.facets.items()}


def test_facet_counts_are_exact(world: World) -> None:
    _, result = world.search("xn_clerk", limit=1)
    facets = _facets(result)
    assert result.total == len(PUBLISHED)
    for name in search.FACETS:
        assert facets[name] == _counts(PUBLISHED, name), name
    labels = {name: {v.value: v.label for v in vs} for name, vs in result.facets.items()}
    assert labels["provider"]["hrss"] == "青海省人力资源和社会保障厅"
    assert labels["region"]["630100"] == "西宁市"
    assert labels["classification"]["203"] == "社会保障"
    assert labels["share_type"]["conditional"] == "有条件共享"
    assert labels["grade"]["3"] == "三级（重要数据）"
    assert labels["category"]["1"] == "基础"
    # Largest first.
    counts = [v.count for v in result.facets["provider"]]
    assert counts == sorted(counts, reverse=True)


def test_a_facet_ignores_its_own_filter(world: World) -> None:
    _, result = world.search("xn_clerk", share_type=["conditional"], update_cycle=["daily"])
    facets = _facets(result)
    chosen = [s for s in PUBLISHED if s.share_type == "conditional" and s.update_cycle == "daily"]
    assert result.total == len(chosen) == 3
    assert {world.key(i.id) for i in result.items} == {s.key for s in chosen}
    daily = [s for s in PUBLISHED if s.update_cycle == "daily"]
    conditional = [s for s in PUBLISHED if s.share_type == "conditional"]
    assert facets["share_type"] == _counts(daily, "share_type")
    assert facets["update_cycle"] == _counts(conditional, "update_cycle")
    assert facets["provider"] == _counts(chosen, "provider")
    assert facets["grade"] == _counts(chosen, "grade")


def test_facets_with_a_query(world: World) -> None:
    _, result = world.search("xn_clerk", q="户籍", provider=["police"])
    facets = _facets(result)
    assert result.total == 3
    assert facets["provider"] == {"police": 3, "xn_stats": 1}
    assert facets["classification"] == {"101": 3}
    # A selected value with no match still shows, with zero.
    _, result = world.search("xn_clerk", q="户籍", provider=["hrss"])
    assert result.total == 0 and _facets(result)["provider"]["hrss"] == 0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": ["market", "hrss"]}, lambda s: s.dept in ("market", "hrss")),
        ({"region": ["630100"]}, lambda s: s.dept in ("xn_stats", "xn_civil", "cd_health")),
        ({"region": ["630102"]}, lambda s: s.dept == "cd_health"),
        ({"classification": ["203"]}, lambda s: s.class_code.startswith("203")),
        ({"classification": ["101001", "105"]}, lambda s: s.class_code in ("101001", "105004")),
        ({"category": ["基础"]}, lambda s: s.class_code.startswith("1")),
        ({"grade": ["2", "3"]}, lambda s: s.grade in (2, 3)),
        ({"share_type": ["有条件共享"]}, lambda s: s.share_type == "conditional"),
        ({"open_type": ["open", "conditional"]}, lambda s: s.open_type != "closed"),
        ({"format": ["api"]}, lambda s: s.format == "api"),
        ({"update_cycle": ["每月", "yearly"]}, lambda s: s.update_cycle in ("monthly", "yearly")),
    ],
)
def test_each_filter(world: World, params: dict[str, Any], expected: Any) -> None:
    keys, result = world.search("xn_clerk", limit=200, **params)
    want = {s.key for s in PUBLISHED if expected(s)}
    assert want and set(keys) == want and result.total == len(want)


def test_bad_facet_values(world: World) -> None:
    for params in (
        {"share_type": ["sometimes"]},
        {"grade": ["5"]},
        {"region": ["63"]},
        {"classification": ["10a"]},
        {"format": ["pdf"]},
        {"status": ["gone"]},
    ):
        with pytest.raises(InvalidInput) as exc:
            make_params(**params)
        assert exc.value.code == "invalid_facet" and exc.value.status == 422, params
    with pytest.raises(InvalidInput) as exc:
        make_params(limit=0)
    assert exc.value.code == "invalid_limit"
    with pytest.raises(InvalidInput) as exc:
        make_params(sort="random")
    assert exc.value.code == "invalid_sort"


# Orders and pages ----------------------------------------------------------------------------


def _all_pages(world: World, user: str, **params: Any) -> list[str]:
    keys: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, result = world.search(user, cursor=cursor, **params)
        keys.extend(page)
        pages += 1
        cursor = result.next_cursor
        if cursor is None:
            return keys
        assert pages < 50


def test_sort_orders(world: World) -> None:
    published = sorted(PUBLISHED, key=lambda s: SPECS.index(s))
    keys, _ = world.search("xn_clerk", limit=200)
    assert keys == [s.key for s in reversed(published)]  # newest first by default
    keys, _ = world.search("xn_clerk", limit=200, sort="name")
    assert keys == [s.key for s in sorted(published, key=lambda s: s.name)]
    keys, _ = world.search("xn_clerk", limit=200, sort="code")
    codes = {s.key: f"{s.class_code}/{SPECS.index(s) + 1:06d}" for s in published}
    assert keys == sorted(codes, key=codes.__getitem__)
    keys, _ = world.search("xn_clerk", q="户籍", sort="updated")
    assert keys == ["hj_item", "hj_body", "hj_name", "hj_exact"]


@pytest.mark.parametrize("sort", ["updated", "name", "code"])
def test_pages_have_no_gaps_or_repeats(world: World, sort: str) -> None:
    whole, _ = world.search("xn_clerk", limit=200, sort=sort)
    assert _all_pages(world, "xn_clerk", limit=3, sort=sort) == whole


def test_relevance_pages(world: World) -> None:
    whole, _ = world.search("operator", q="户籍", limit=200)
    assert len(whole) == 7
    assert _all_pages(world, "operator", q="户籍", limit=2) == whole


def test_invalid_cursors(world: World) -> None:
    for cursor, sort in (
        ("not base64!!", None),
        (encode_cursor(["name", "x"]), "name"),
        (encode_cursor(["updated", "yesterday", "x"]), None),
        (encode_cursor(["relevance", -1]), "relevance"),
        (encode_cursor(["relevance", 0]), None),  # no query: the order is "updated"
        (encode_cursor({"a": 1}), None),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInput) as exc:
            world.search("xn_clerk", cursor=cursor, sort=sort, q="户籍" if sort else None)
        assert exc.value.code == "invalid_cursor", cursor
    # A cursor of another order is refused, not misread.
    _, result = world.search("xn_clerk", limit=2, sort="code")
    with pytest.raises(InvalidInput):
        world.search("xn_clerk", limit=2, sort="name", cursor=result.next_cursor)


# Over HTTP -----------------------------------------------------------------------------------


def _app(settings: Settings) -> Any:
    from govdata.catalog import api as catalog_api

    app = create_app(settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/catalog/entries" not in paths:
        app.include_router(catalog_api.router, prefix="/api/v1")
    if "/api/v1/catalog/synonyms" not in paths:
        app.include_router(api_search.router, prefix="/api/v1")
    return app


def test_http_query_string(world: World) -> None:
    with TestClient(_app(world.org.settings)) as client:
        token = client.post(
            "/api/v1/auth/token", json={"username": "xn_clerk", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = client.get(
            "/api/v1/catalog/entries",
            params=[("q", "户籍"), ("provider", "police"), ("provider", "xn_stats")],
            headers=headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 4 and body["items"][0]["name"] == "户籍"
        assert body["items"][0]["provider"]["code"] == "police"
        r = client.get("/api/v1/catalog/entries", params={"cursor": "@@"}, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"
        r = client.get("/api/v1/catalog/entries", params={"grade": "9"}, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_facet"
        r = client.get("/api/v1/catalog/entries", params={"limit": "500"}, headers=headers)
        assert r.status_code == 422


def test_params_model_defaults() -> None:
    p = SearchParams()
    assert p.limit == 20 and p.sort is None and p.provider == []
    assert make_params(share_type="无条件共享", grade="3").share_type == ["unconditional"]


def test_index_text_keeps_dictionary_words_inside_words(tmp_path: Path) -> None:
    assert search.tokens("社保缴费") == ["社保", "缴费"]
    assert search.tokens("户籍、Ａbc-12") == ["户籍", "abc", "12"]
    text = search.index_text("住房公积金缴存")
    assert set(text.split()) >= {"住房", "公积金", "缴存", "公积"}


@examples(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.lists(
        st.sampled_from(
            [*"户籍低保\"'*()-:^+~/\\%_&|!,，。 ", "NEAR", "AND", "OR", "NOT", "营业执照"]
        ),
        max_size=12,
    ).map("".join)
)
def test_any_query_text_is_searched_not_parsed(world: World, q: str) -> None:
    """FTS syntax in user input (quotes, NEAR, AND, *, ^, :) is text to find, never an error."""
    keys, result = world.search("xn_clerk", q=q)
    assert result.total == len(keys) or result.next_cursor is not None
