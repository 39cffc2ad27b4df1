"""Cross-source checks (多源校核) and authoritative sources (权威数据源).

A hand-built case of ten people in three departments' lake tables — household registration
(户籍, the police), social insurance (社保, Xining statistics) and civil affairs (民政, Haixi
statistics) — each spelling names, genders, birth dates and addresses its own way. Full-width
characters, stray white space and different codings must count as agreeing; the five real
disagreements must not. Agreement rates are asserted exactly; the authority order decides the
winner shown; conflict values are masked for everyone without ``data.preview`` on the source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryCreate, PublishRequest
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.jobs.worker import Worker
from govdata.exchange.models import Mount
from govdata.governance import authority, crosscheck, crosscheck_runs
from govdata.governance.crosscheck_compare import SourceInput, compare
from govdata.governance.crosscheck_schemas import (
    AuthorityIn,
    FieldKind,
    SourceIn,
    SourceUpdate,
    SubjectIn,
    SubjectUpdate,
)
from govdata.identity.schemas import RoleAssignmentIn
from govdata.lake.tables import Lake
from govdata.security.permissions import Role
from tests.catalog.conftest import CLASS_CODE, content, org, settings
from tests.conftest import fresh_store
from tests.identity.conftest import Org, audit_rows, build_org
from tests.sharing.conftest import add_sqlite_source

__all__ = ["org", "settings"]

# 户籍 (police): codes 1/2, birth dates as YYYYMMDD text.
HJ = [
    ("630102199001011234", "张三", "1", "19900101", "城东区八一路1号"),
    ("630102198502023456", "李四", "1", "19850202", "城东区八一路2号"),
    ("630102199203035678", "王芳", "2", "19920303", "城东区八一路１２号"),
    ("630102198804041111", "赵六", "1", "19880404", "城东区八一路4号"),
    ("630102199005052222", "钱七", "2", "19900505", "城东区八一路5号"),
    ("630102197606063333", "孙八", "1", "19760606", "城东区八一路6号"),
    ("630102200107074444", "周九", "2", "20010707", "城东区八一路7号"),
    ("630102196808085555", "吴十", "1", "19680808", "城东区八一路8号"),
    ("630102199510106666", "郑一", "2", "19951010", "城西区五四大街3号"),
]
# 社保 (Xining statistics): 男/女, birth dates typed as dates, white space in names/addresses.
SB = [
    ("630102199001011234", "张三", "男", dt.date(1990, 1, 1), "城东区八一路1号"),
    ("630102198502023456", "李\u3000四", "男", dt.date(1985, 2, 2), "城东区八一路2号"),
    ("630102199203035678", "王 芳", "女", dt.date(1992, 3, 3), "城东区八一路12号"),
    ("630102198804041111", "赵陆", "男", dt.date(1988, 4, 4), "城东区八一路4号"),
    ("630102199005052222", "钱七", "女", dt.date(1990, 5, 15), "城东区八一路5号"),
    ("630102197606063333", "孙八", "女", dt.date(1976, 6, 6), "城东区八一路6号"),
    ("630102200107074444", "周九 ", "女", dt.date(2001, 7, 7), "城东区 八一路7号"),
    ("630102199909099999", "孙七", "女", dt.date(1999, 9, 9), "城北区1号"),
    ("630102199510106666", "郑一", "女", dt.date(1995, 10, 10), "城西区 五四大街 3号"),
]
# 民政 (Haixi statistics): M/F, birth dates as 1990年1月1日 or 1990/1/1, one row without a key.
MZ = [
    ("630102199001011234", "张三", "M", "1990年1月1日", "城东区八一路1号"),
    ("630102198502023456", " 李四 ", "M", "1985/2/2", "城东区八一路2号"),
    ("630102199203035678", "王芳", "F", "1992年3月3日", "城东区八一路１２号"),
    ("630102198804041111", "赵六", "M", "1988年4月4日", "城东区八一路4号"),
    ("630102199005052222", "钱七", "F", "1990年5月5日", "城东区八一路5号"),
    ("630102197606063333", "孙八", "M", "1976年6月6日", "城东区八一路6号"),
    ("630102199909099999", "孙琪", "F", "1999年9月9日", "城北区1号"),
    ("630102199510106666", None, "F", "1995年10月10日", "城西区五四大街5号"),
    (None, "无名", "M", "2000年1月1日", "不详"),
]
FIELDS = ["name", "gender", "birth_date", "address"]
# field -> (compared, agreed) over all sources.
EXPECTED = {"name": (9, 7), "gender": (9, 8), "birth_date": (9, 8), "address": (9, 8)}
# name, per pair of sources: (户籍, 社保), (户籍, 民政), (社保, 民政).
EXPECTED_NAME_PAIRS = {("HJ", "SB"): (8, 7), ("HJ", "MZ"): (6, 6), ("SB", "MZ"): (7, 5)}


@dataclass
class Source:
    code: str
    department: str
    table: str
    columns: dict[str, str]  # subject field -> column
    rows: list[tuple[Any, ...]]
    types: list[pa.DataType]
    entry_id: str = ""
    source_id: str = ""


def _sources() -> list[Source]:
    text = [pa.string()] * 5
    return [
        Source(
            "HJ",
            "police",
            "police.hj_people",
            {
                "resident_id": "gmsfhm",
                "name": "xm",
                "gender": "xb",
                "birth_date": "csrq",
                "address": "zz",
            },
            HJ,
            text,
        ),
        Source(
            "SB",
            "xn_stats",
            "xn_stats.sb_people",
            {
                "resident_id": "id_no",
                "name": "name",
                "gender": "sex",
                "birth_date": "birth",
                "address": "addr",
            },
            SB,
            [pa.string(), pa.string(), pa.string(), pa.date32(), pa.string()],
        ),
        Source(
            "MZ",
            "hx_stats",
            "hx_stats.mz_people",
            {
                "resident_id": "sfzh",
                "name": "xingming",
                "gender": "xingbie",
                "birth_date": "chusheng",
                "address": "dizhi",
            },
            MZ,
            text,
        ),
    ]


def _arrow(src: Source) -> pa.Table:
    cols = list(src.columns.values())
    schema = pa.schema(list(zip(cols, src.types, strict=True)))
    return pa.Table.from_pylist([dict(zip(cols, r, strict=True)) for r in src.rows], schema)


def _entry(org: Org, src: Source) -> str:
    with org.as_("operator").act() as ctx:
        entry = catalog_actions.create_entry(
            ctx,
            EntryCreate(
                classification_code=CLASS_CODE,
                provider_code=src.department,
                **content(name=f"{src.code} 人口信息"),
            ),
        )
        catalog_actions.submit_entry(ctx, entry.id)
        catalog_actions.publish_entry(ctx, entry.id, PublishRequest())
    return entry.id


def _collect(org: Org, src: Source, tmp: Path) -> None:
    """The entry's lake table, written directly (collection has its own tests), and the
    physical mount that names it."""
    src.entry_id = _entry(org, src)
    source_system = add_sqlite_source(org, src.department, tmp / f"{src.code}.db")
    with org.db.transaction() as s:
        s.add(
            Mount(
                entry_id=src.entry_id,
                department_id=org.dept[src.department],
                source_id=source_system,
                mode="physical",
                target_kind="table",
                target="people",
                columns=[],
                key_columns=[src.columns["resident_id"]],
                lake_table=src.table,
            )
        )
    lake = Lake.from_settings(org.settings)
    table = _arrow(src)
    lake.create(src.table, table.schema, entry_id=src.entry_id)
    lake.overwrite(src.table, table)


@dataclass
class World:
    org: Org
    sources: dict[str, Source] = field(default_factory=dict)

    def sid(self, code: str) -> str:
        return self.sources[code].source_id

    def code_of(self, source_id: str) -> str:
        return next(c for c, s in self.sources.items() if s.source_id == source_id)


def build_world(org: Org, tmp: Path, *, with_authority: bool = True) -> World:
    w = World(org)
    for src in _sources():
        _collect(org, src, tmp)
        w.sources[src.code] = src
    labels = {"HJ": "户籍", "SB": "社保", "MZ": "民政"}
    with org.as_("operator").act() as ctx:
        for src in w.sources.values():
            out = crosscheck.add_source(
                ctx,
                "population",
                SourceIn(entry=src.entry_id, label=labels[src.code], mapping=src.columns),
            )
            src.source_id = out.id
    if with_authority:
        with org.as_("operator").act() as ctx:
            order = {"name": ["HJ", "MZ", "SB"], "birth_date": ["HJ"], "address": ["SB", "HJ"]}
            for fname, codes in order.items():
                authority.set_authority(
                    ctx, "population", fname, AuthorityIn(sources=[w.sid(c) for c in codes])
                )
    return w


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One SQLite store for the module: the data and the permissions do not depend on it."""
    tmp = tmp_path_factory.mktemp("crosscheck")
    store = fresh_store("sqlite", tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="crosscheck-secret-" + "k" * 40,
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


@pytest.fixture(scope="module")
def run(world: World) -> Any:
    with world.org.as_("operator").act() as ctx:
        return crosscheck_runs.run_check(ctx, "population")


def _overall(run: Any) -> dict[str, tuple[int, int]]:
    return {a.field: (a.compared, a.agreed) for a in run.agreements if a.source_a is None}


# -- the comparison ----------------------------------------------------------------------------


def test_agreement_rates_count_spelling_variants_as_agreeing_and_real_conflicts_not(
    world: World, run: Any
) -> None:
    assert run.status == "succeeded"
    assert _overall(run) == EXPECTED
    rates = {a.field: a.rate for a in run.agreements if a.source_a is None}
    assert rates == {"name": 7 / 9, "gender": 8 / 9, "birth_date": 8 / 9, "address": 8 / 9}
    pairs = {
        (world.code_of(a.source_a), world.code_of(a.source_b)): (a.compared, a.agreed)
        for a in run.agreements
        if a.field == "name" and a.source_a is not None
    }
    assert pairs == EXPECTED_NAME_PAIRS
    # Ten people; nine held by two sources or more (吴十 only by 户籍); the keyless row is left out.
    assert (run.key_count, run.shared_keys) == (10, 9)
    assert run.conflict_count == run.conflicts_stored == 5
    rows = {s["label"]: (s["rows"], s["keys"]) for s in run.sources}
    assert rows == {"户籍": (9, 9), "社保": (9, 9), "民政": (9, 8)}


def test_the_authority_order_decides_the_winner_and_falls_back_when_it_holds_nothing(
    world: World, run: Any
) -> None:
    with world.org.system.act() as ctx:
        page = crosscheck_runs.list_conflicts(ctx, run.id)
    found = {(c.key, c.field): c for c in page.items}
    assert set(found) == {
        ("630102198804041111", "name"),  # 赵六 / 赵陆 / 赵六
        ("630102199909099999", "name"),  # 孙七 / 孙琪, 户籍 holds nothing
        ("630102199005052222", "birth_date"),  # 19900505 / 1990-05-15 / 1990年5月5日
        ("630102197606063333", "gender"),  # 1 / 女 / M
        ("630102199510106666", "address"),  # 3号 / 3号 / 5号
    }
    winners = {k: world.code_of(c.winner_source_id) for k, c in found.items()}
    assert winners == {
        ("630102198804041111", "name"): "HJ",
        ("630102199909099999", "name"): "MZ",  # name: 户籍, 民政, 社保
        ("630102199005052222", "birth_date"): "HJ",
        ("630102197606063333", "gender"): "HJ",  # no order set: sources as added
        ("630102199510106666", "address"): "SB",  # address: 社保, 户籍
    }
    zhao = found[("630102198804041111", "name")]
    assert {v.label: v.value for v in zhao.values} == {
        "户籍": "赵六",
        "社保": "赵陆",
        "民政": "赵六",
    }
    assert [v.label for v in zhao.values if v.winner] == ["户籍"]


def test_conflicts_page_and_filter_by_field_and_source(world: World, run: Any) -> None:
    with world.org.system.act() as ctx:
        by_name = crosscheck_runs.list_conflicts(ctx, run.id, field="name")
        hj = crosscheck_runs.list_conflicts(ctx, run.id, source=world.sid("HJ"))
        first = crosscheck_runs.list_conflicts(ctx, run.id, size=2)
        last = crosscheck_runs.list_conflicts(ctx, run.id, size=2, page=3)
    assert by_name.total == 2 and {c.field for c in by_name.items} == {"name"}
    # 户籍 holds no value in the 孙七 / 孙琪 conflict.
    assert hj.total == 4
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    assert (last.page, len(last.items)) == (3, 1)
    keys = [(c.field, c.key) for c in first.items + last.items]
    assert keys == sorted(keys)
    assert not first.capped


def test_the_conflict_list_is_capped_while_the_counts_stay_exact(world: World) -> None:
    readers = []
    for src in world.sources.values():
        table = _arrow(src)
        readers.append(
            SourceInput(
                src.code,
                lambda t=table: t.to_reader(),
                src.columns["resident_id"],
                {f: src.columns[f] for f in FIELDS},
            )
        )
    kinds = {
        "name": FieldKind.NAME,
        "gender": FieldKind.GENDER,
        "birth_date": FieldKind.DATE,
        "address": FieldKind.ADDRESS,
    }
    result = compare(readers, kinds, FieldKind.ID, {}, cap=2)
    assert result.conflict_count == 5 and len(result.conflicts) == 2
    overall = {a.field: (a.compared, a.agreed) for a in result.agreements if a.source_a is None}
    assert overall == EXPECTED


@pytest.mark.parametrize(
    ("kind", "a", "b", "same"),
    [
        (FieldKind.NAME, "欧阳 娜娜", "欧阳娜娜", True),
        (FieldKind.NAME, "阿依古丽·买买提", "阿依古丽・买买提", True),
        (FieldKind.TEXT, "青海  某某  有限公司 ", "青海 某某 有限公司", True),
        (FieldKind.TEXT, "ＡＢＣ（青海）", "abc(青海)", True),
        (FieldKind.ID, "63010219900101123x", "63010219900101123X", True),
        (FieldKind.DATE, "2000-02-29", "2000年2月29日", True),
        (FieldKind.DATE, "20000229", "2000/2/29", True),
        (FieldKind.DATE, "2000-02-29", "2000-03-01", False),
        (FieldKind.GENDER, "男", "1", True),
        (FieldKind.GENDER, "女性", "F", True),
        (FieldKind.GENDER, "男", "2", False),
        (FieldKind.ADDRESS, "西宁市 城东区", "西宁市城东区", True),
        (FieldKind.CODE, "01", "1", False),
    ],
)
def test_normalisation_per_kind(kind: FieldKind, a: str, b: str, same: bool) -> None:
    def source(sid: str, value: str) -> SourceInput:
        table = pa.table({"k": ["1"], "v": [value]})
        return SourceInput(sid, lambda: table.to_reader(), "k", {"f": "v"})

    result = compare([source("a", a), source("b", b)], {"f": kind}, FieldKind.ID, {})
    assert [(x.compared, x.agreed) for x in result.agreements if x.source_a is None] == [
        (1, 1 if same else 0)
    ]


# -- who sees what -------------------------------------------------------------------------------


def _values(org: Org, user: str, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    with org.as_(user).act() as ctx:
        page = crosscheck_runs.list_conflicts(ctx, run_id, field="name")
    return {(c.field, c.key): {v.label: (v.value, v.masked) for v in c.values} for c in page.items}


def test_conflict_values_are_clear_only_with_data_preview_on_their_source(
    world: World, run: Any
) -> None:
    org = world.org
    officer = _values(org, "xn_officer", run.id)  # 社保's department
    zhao = officer[("name", "630102198804041111")]
    assert zhao == {"户籍": ("赵*", True), "社保": ("赵陆", False), "民政": ("赵*", True)}
    # The operator manages the check but never sees row content.
    operator = _values(org, "operator", run.id)
    assert all(masked for row in operator.values() for _v, masked in row.values())
    assert ("name", "630102198804041111") not in operator
    assert ("name", "630102********1111") in operator
    # A department user reads the figures, masked.
    clerk = _values(org, "xn_clerk", run.id)
    assert clerk[("name", "630102********1111")]["社保"] == ("赵*", True)
    haixi = _values(org, "hx_officer", run.id)
    assert haixi[("name", "630102198804041111")]["民政"] == ("赵六", False)
    reads = [
        r
        for r in audit_rows(org.db, "governance.crosscheck.conflicts.read")
        if r["target_id"] == run.id
    ]
    assert {r["actor_name"] for r in reads} >= {"xn_officer", "hx_officer"}
    assert not {"operator", "xn_clerk"} & {r["actor_name"] for r in reads}


def test_only_the_operator_manages_and_the_auditor_reads_nothing(world: World, run: Any) -> None:
    org = world.org
    for user in ("xn_officer", "xn_admin", "xn_clerk"):
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            crosscheck_runs.start_run(ctx, "population")
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            authority.set_authority(ctx, "population", "name", AuthorityIn(sources=[]))
        with pytest.raises(PermissionDenied), org.as_(user).act() as ctx:
            crosscheck.remove_source(ctx, world.sid("HJ"))
        with org.as_(user).act() as ctx:
            assert crosscheck_runs.get_run(ctx, run.id).conflict_count == 5
    with pytest.raises(PermissionDenied), org.as_("auditor").act() as ctx:
        crosscheck_runs.get_run(ctx, run.id)
    with pytest.raises(PermissionDenied), org.as_("auditor").act() as ctx:
        crosscheck.list_subjects(ctx)


def test_a_queued_run_runs_as_a_job_with_the_same_figures(world: World, run: Any) -> None:
    org = world.org
    with org.as_("operator").act() as ctx:
        queued = crosscheck_runs.start_run(ctx, "population")
    assert queued.status == "queued" and queued.job_id
    Worker(org.db, org.settings).run_until_idle()
    with org.as_("operator").act() as ctx:
        done = crosscheck_runs.get_run(ctx, queued.id)
        runs = crosscheck_runs.list_runs(ctx, "population")
    assert done.status == "succeeded", done.error
    assert _overall(done) == EXPECTED and done.conflict_count == 5
    assert runs.items[0].id == queued.id
    assert [r["details"]["conflicts"] for r in audit_rows(org.db, "governance.crosscheck.run")][
        -1
    ] == 5


# -- subjects, sources and authority on both stores ----------------------------------------------


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_subjects_sources_and_field_order(org: Org, tmp_path: Path) -> None:
    with org.as_("operator").act() as ctx:
        seeded = {s.code: s for s in crosscheck.list_subjects(ctx)}
    assert seeded["population"].key_field == "resident_id" and seeded["population"].builtin
    assert seeded["legal_entity"].key_field == "credit_code"
    w = build_world(org, tmp_path, with_authority=False)
    with org.as_("operator").act() as ctx:
        authority.set_authority(
            ctx, "population", "name", AuthorityIn(sources=[w.sid("MZ"), w.sid("HJ")])
        )
        with pytest.raises(InvalidInput):
            authority.set_authority(
                ctx, "population", "name", AuthorityIn(sources=[w.sid("MZ"), w.sid("MZ")])
            )
    with org.db.transaction() as s:
        order = authority.field_order(s, "population")
    name = order["name"]
    assert [(r.label, r.ranked) for r in name] == [("民政", True), ("户籍", True), ("社保", False)]
    assert name[0].lake_table == "hx_stats.mz_people" and name[0].column == "xingming"
    assert name[1].resource_code and name[1].entry_id == w.sources["HJ"].entry_id
    assert [r.label for r in order["gender"]] == ["户籍", "社保", "民政"]
    assert [r.column for r in order["resident_id"]] == ["gmsfhm", "id_no", "sfzh"]
    # A source that stops mapping a field leaves its order; removing it leaves every order.
    with org.as_("operator").act() as ctx:
        mapping = {k: v for k, v in w.sources["MZ"].columns.items() if k != "name"}
        crosscheck.update_source(ctx, w.sid("MZ"), SourceUpdate(mapping=mapping))
        crosscheck.remove_source(ctx, w.sid("HJ"))
        subject = crosscheck.get_subject(ctx, "population")
    assert {a.field: a.order for a in subject.authority}["name"] == [w.sid("SB")]
    assert len(subject.sources) == 2
    with org.as_("operator").act() as ctx:
        with pytest.raises(Conflict):
            crosscheck.add_source(
                ctx,
                "population",
                SourceIn(
                    entry=w.sources["SB"].entry_id, label="x", mapping=w.sources["SB"].columns
                ),
            )
        with pytest.raises(InvalidInput):
            crosscheck.add_source(
                ctx,
                "population",
                SourceIn(
                    entry=w.sources["HJ"].entry_id,
                    label="户籍",
                    mapping={"resident_id": "gmsfhm", "name": "no_such_column"},
                ),
            )
        created = crosscheck.create_subject(
            ctx,
            SubjectIn(
                code="vehicle",
                name="机动车",
                key_field="plate",
                fields=[
                    {"code": "plate", "label": "号牌号码", "kind": "id"},
                    {"code": "owner", "label": "所有人", "kind": "name"},
                ],
            ),
        )
        updated = crosscheck.update_subject(ctx, "vehicle", SubjectUpdate(name="机动车登记"))
    assert created.code == "vehicle" and updated.name == "机动车登记"
    actions = {r["action"] for r in audit_rows(org.db, "governance.authority.set")}
    assert actions == {"governance.authority.set"}
    assert audit_rows(org.db, "governance.subject.create")[0]["details"]["code"] == "vehicle"


def test_a_source_that_does_not_map_a_field_is_left_out_of_its_figures() -> None:
    a = pa.table({"k": ["1", "2", "3"], "name": ["甲", "乙", "丙"], "g": ["1", "2", "1"]})
    b = pa.table({"k": ["1", "2", "4"], "name": ["甲", "乙乙", "丁"], "g": ["男", "女", "男"]})
    c = pa.table({"k": ["1", "2", "3"], "g": ["M", "M", None]})
    result = compare(
        [
            SourceInput("a", lambda: a.to_reader(), "k", {"name": "name", "gender": "g"}),
            SourceInput("b", lambda: b.to_reader(), "k", {"name": "name", "gender": "g"}),
            SourceInput("c", lambda: c.to_reader(), "k", {"gender": "g"}),
        ],
        {"name": FieldKind.NAME, "gender": FieldKind.GENDER},
        FieldKind.ID,
        {"gender": ["c"]},
    )
    figures = {(x.field, x.source_a, x.source_b): (x.compared, x.agreed) for x in result.agreements}
    assert figures == {
        ("gender", None, None): (2, 1),  # key 3: c holds no value
        ("name", None, None): (2, 1),
        ("gender", "a", "b"): (2, 2),
        ("gender", "a", "c"): (2, 1),
        ("gender", "b", "c"): (2, 1),
        ("name", "a", "b"): (2, 1),
    }
    assert (result.key_count, result.shared_keys) == (4, 3)
    conflicts = {(x.key, x.field): (x.values, x.winner) for x in result.conflicts}
    assert conflicts == {
        ("2", "gender"): ({"a": "2", "b": "女", "c": "M"}, "c"),
        ("2", "name"): ({"a": "乙", "b": "乙乙"}, "a"),
    }


def test_a_run_that_cannot_read_a_source_ends_failed_with_the_reason_audited(
    world: World, run: Any
) -> None:
    from govdata.core.jobs.models import Job

    org = world.org
    folder = Lake.from_settings(org.settings).path(world.sources["SB"].table)
    aside = folder.with_name(folder.name + ".aside")
    with org.as_("operator").act() as ctx:
        queued = crosscheck_runs.start_run(ctx, "population")
    folder.rename(aside)
    try:
        Worker(org.db, org.settings).run_until_idle()
    finally:
        aside.rename(folder)
    with org.as_("operator").act() as ctx:
        done = crosscheck_runs.get_run(ctx, queued.id)
    assert done.status == "failed" and done.error
    with org.db.transaction() as s:
        job = s.get(Job, queued.job_id)
        assert job is not None and job.status == "failed"
    last = audit_rows(org.db, "governance.crosscheck.run")[-1]
    assert (last["outcome"], last["target_id"]) == ("failure", queued.id)
    assert last["details"] == {"subject": "population", "error": done.error}
