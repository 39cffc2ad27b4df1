"""Catalog items proposed from discovered tables: names, types, elements, sensitivity, grades."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govdata.catalog import actions as catalog
from govdata.catalog.schemas import EntryCreate
from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.sources import actions, proposals
from govdata.sources.base import ColumnInfo, TableInfo
from govdata.sources.schemas import ProposalOut, ProposedItem, SourceCreate
from govdata.standards import resident_id, uscc
from tests.catalog.conftest import CLASS_CODE, content, org, settings
from tests.exchange.sourcedb import mariadb_db, postgres_db
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]

ELEMENTS = [
    proposals.ElementRef("DE00001", "公民身份号码", "resident_id", "string", 18),
    proposals.ElementRef("DE00002", "姓名", "name", "string", 50),
    proposals.ElementRef("DE00021", "联系电话", "phone", "string", 20),
    proposals.ElementRef("DE00015", "户内人数", "household_size", "integer", 3),
]


def card(prefix: str, length: int = 16) -> str:
    """A bank card number with a valid Luhn check digit."""
    body = prefix + "".join(random.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return next(body + d for d in "0123456789" if proposals.luhn_ok(body + d))


def people_ids(n: int) -> list[str]:
    return [
        resident_id.make("630102", dt.date(1960 + i, 1 + i % 12, 1 + i % 28), i) for i in range(n)
    ]


def by_column(items: list[ProposedItem]) -> dict[str, ProposedItem]:
    return {p.column: p for p in items}


def codes(p: ProposedItem) -> set[str]:
    return {r.code for r in p.reasons}


# Rules on their own ----------------------------------------------------------------------------


def test_luhn() -> None:
    assert proposals.luhn_ok("79927398713")
    assert proposals.luhn_ok("4111111111111111")
    assert not proposals.luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    ("column", "zh", "how"),
    [
        ("sfzh", "公民身份号码", "exact"),
        ("GMSFHM", "公民身份号码", "exact"),
        ("applicant_sfzh", "公民身份号码", "suffix"),
        ("身份证号", "公民身份号码", "zh"),
        ("xm", "姓名", "exact"),
        ("Mobile", "联系电话", "exact"),
        ("tyshxydm", "统一社会信用代码", "exact"),
        ("csrq", "出生日期", "exact"),
        ("jtzz", "地址", "exact"),
    ],
)
def test_column_names_are_recognised(column: str, zh: str, how: str) -> None:
    found = proposals._term_for(column)
    assert found is not None and (found[0].zh, found[1]) == (zh, how)


@pytest.mark.parametrize("column", ["foo", "order_id", "金额", "abc_xyz"])
def test_unknown_names_are_not_guessed(column: str) -> None:
    assert proposals._term_for(column) is None


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=30))
def test_resident_ids_are_found_by_their_values_whatever_the_column_name(seqs: list[int]) -> None:
    values = [resident_id.make("632801", dt.date(1988, 3, 9), n) for n in seqs]
    info = TableInfo("main", "t", (ColumnInfo("c1", "TEXT", pa.string(), True),))
    out = proposals.propose(info, pa.table({"c1": values}), ELEMENTS)
    [p] = out["items"]
    assert (p.item.name, p.item.is_sensitive, p.item.grade) == ("公民身份号码", True, 3)
    assert p.item.data_element == "DE00001" and "values_resident_id" in codes(p)


def test_values_reveal_what_the_names_do_not() -> None:
    n = 20
    ids = people_ids(n)
    broken = [v[:17] + ("0" if v[17] != "0" else "1") for v in ids]  # wrong check characters
    cols = {
        "c_id": ids,
        "c_bad": broken,
        "c_phone": [f"1{3 + i % 7}{i:09d}" for i in range(n)],
        "c_card": [card("622202") for _ in range(n)],
        "c_org": [uscc.make("9", "1", "630100", f"MA{i:06d}") for i in range(n)],
        "c_name": ["张伟", "王芳", "李娜", "刘洋", "陈静"] * 4,
        "c_num": [str(10**15 + i) for i in range(n)],
    }
    info = TableInfo(
        "main",
        "t",
        tuple(ColumnInfo(c, "TEXT", pa.string(), True) for c in cols),
    )
    out = proposals.propose(info, pa.table(cols), ELEMENTS)
    got = by_column(out["items"])
    assert got["c_id"].item.is_sensitive and got["c_id"].item.grade == 3
    assert not got["c_bad"].item.is_sensitive and got["c_bad"].item.grade == 1
    assert "values_mobile" in codes(got["c_phone"]) and got["c_phone"].item.is_sensitive
    assert "values_bank_card" in codes(got["c_card"]) and got["c_card"].item.grade == 3
    assert "values_uscc" in codes(got["c_org"]) and not got["c_org"].item.is_sensitive
    assert "values_person_name" in codes(got["c_name"]) and got["c_name"].item.grade == 2
    # Consecutive numbers pass Luhn one time in ten: far below the share a rule needs.
    assert got["c_num"].item.grade == 1 and not got["c_num"].item.is_sensitive
    assert out["grade"] == 3


def test_types_lengths_keys_and_elements() -> None:
    info = TableInfo(
        "db",
        "t",
        (
            ColumnInfo("id", "bigint", pa.int64(), False, is_key=True),
            ColumnInfo("xm", "varchar(100)", pa.string(), True),
            ColumnInfo("amount", "decimal(12,2)", pa.decimal128(12, 2), True),
            ColumnInfo("born", "date", pa.date32(), True),
            ColumnInfo("seen", "datetime", pa.timestamp("us"), True),
            ColumnInfo("ok", "bool", pa.bool_(), True),
            ColumnInfo("photo", "blob", pa.binary(), True),
            ColumnInfo("note", "text", pa.string(), True, comment="备注，自由填写"),
            ColumnInfo("household_size", "int", pa.int32(), True),
        ),
        primary_key=("id",),
    )
    sample = pa.table(
        {
            "id": [1, 2],
            "xm": ["张三", "欧阳娜娜"],
            "amount": pa.array([None, None], pa.decimal128(12, 2)),
            "born": pa.array([None, None], pa.date32()),
            "seen": pa.array([None, None], pa.timestamp("us")),
            "ok": [True, False],
            "photo": [b"x", None],
            "note": ["一二三四五六七八九十一二", None],
            "household_size": [3, 4],
        }
    )
    got = by_column(proposals.propose(info, sample, ELEMENTS)["items"])
    assert got["id"].item.is_key and got["id"].item.data_type == "integer"
    # varchar(100) holds names of at most 4 characters: the standard's 50 fits them.
    assert (got["xm"].item.length, got["xm"].item.data_element) == (50, "DE00002")
    assert "element_length_capped" in codes(got["xm"])
    assert (got["amount"].item.data_type, got["amount"].item.length) == ("decimal", 12)
    assert got["born"].item.data_type == "date" and got["seen"].item.data_type == "datetime"
    assert got["ok"].item.data_type == "boolean" and got["photo"].item.data_type == "binary"
    assert got["note"].item.name == "备注" and got["note"].item.description == "备注，自由填写"
    assert got["note"].item.length == 16 and "length_from_samples" in codes(got["note"])
    assert got["household_size"].item.data_element == "DE00015"
    assert got["household_size"].item.name == "户内人数"
    assert proposals.propose(info, sample, ELEMENTS)["grade"] == 2


def test_duplicate_names_are_told_apart() -> None:
    info = TableInfo(
        "main",
        "t",
        (
            ColumnInfo("xm", "TEXT", pa.string(), True),
            ColumnInfo("name", "TEXT", pa.string(), True),
        ),
    )
    items = proposals.propose(info, pa.table({"xm": ["a"], "name": ["b"]}), [])["items"]
    assert [p.item.name for p in items] == ["姓名", "姓名（name）"]
    assert [p.item.name_en for p in items] == ["name", "name_2"]


# From a real source to an entry that passes the catalog's checks ----------------------------------

_ROWS = 30


def _fill(db: Any, engine: str) -> None:
    if engine == "mariadb":
        db.execute(
            "CREATE TABLE residents (id INT PRIMARY KEY COMMENT '人员编号',"
            " xm VARCHAR(50), sfzh CHAR(18), dh VARCHAR(20), dz VARCHAR(200) COMMENT '现住址',"
            " csrq DATE, zz_bz TEXT, c1 VARCHAR(30))"
        )
    else:
        db.execute(
            "CREATE TABLE residents (id int PRIMARY KEY, xm varchar(50), sfzh char(18),"
            " dh varchar(20), dz varchar(200), csrq date, zz_bz text, c1 varchar(30))"
        )
        db.execute("COMMENT ON COLUMN residents.id IS '人员编号'")
        db.execute("COMMENT ON COLUMN residents.dz IS '现住址'")
    ids = people_ids(_ROWS)
    db.executemany(
        "INSERT INTO residents VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (
                i,
                ["张伟", "王芳", "李娜"][i % 3],
                ids[i],
                f"139{i:08d}",
                f"西宁市城东区{i}号",
                dt.date(1980, 1, 1 + i % 28),
                None,
                ids[(i + 1) % _ROWS],
            )
            for i in range(_ROWS)
        ],
    )


@pytest.mark.parametrize("engine", ["mariadb", "postgresql"])
def test_proposals_from_a_real_table_make_a_valid_entry(
    org: Org, db: Database, engine: str
) -> None:
    make = mariadb_db if engine == "mariadb" else postgres_db
    with make() as src_db:
        _fill(src_db, engine)
        with org.as_("xn_officer").act() as ctx:
            src = actions.create_source(
                ctx,
                SourceCreate(kind=engine, name="人口库", config=src_db.config()),
            )
        with org.as_("xn_officer").act() as ctx:
            out: ProposalOut = actions.propose_items(ctx, src.id, "residents", sample_rows=50)
        with org.as_("operator").act() as ctx:
            with pytest.raises(GovDataError) as err:
                actions.propose_items(ctx, src.id, "residents")
            assert err.value.code == "permission_denied"
    got = by_column(out.items)
    assert out.sampled_rows == _ROWS and out.grade >= 3
    assert {"grade_from_items", "grade_combination"} <= {r.code for r in out.grade_reasons}
    sfzh, dh, xm, dz = got["sfzh"].item, got["dh"].item, got["xm"].item, got["dz"].item
    assert (sfzh.name, sfzh.is_sensitive, sfzh.grade, sfzh.data_element) == (
        "公民身份号码",
        True,
        3,
        "DE00001",
    )
    assert (dh.name, dh.is_sensitive, dh.grade) == ("联系电话", True, 3)
    assert (xm.name, xm.grade, xm.data_element) == ("姓名", 2, "DE00002")
    assert dz.name == "现住址" and "name_from_comment" in codes(got["dz"])
    assert got["id"].item.is_key and got["id"].item.name == "人员编号"
    assert got["c1"].item.is_sensitive and "values_resident_id" in codes(got["c1"])
    assert got["csrq"].item.data_type == "date" and got["csrq"].item.name == "出生日期"
    # The items are ready for an entry: it passes the catalog's conformance check.
    with org.as_("xn_officer").act() as ctx:
        entry = catalog.create_entry(
            ctx,
            EntryCreate(
                classification_code=CLASS_CODE,
                **content(items=[p.item.model_dump() for p in out.items], grade=out.grade),
            ),
        )
        findings = catalog.check_entry(ctx, entry.id)
    assert [f for f in findings if f.severity == "error"] == []
    [audit] = audit_rows(db, "source.propose")
    assert audit["details"] == {"table": "residents"}
