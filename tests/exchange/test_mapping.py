"""Mount mappings: proposal, checks (types, lengths, unknown columns, unmapped items), conform."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pytest

from govdata.core.errors import InvalidInput
from govdata.exchange import mapping
from govdata.sources.base import ColumnInfo, TableInfo


@dataclass(frozen=True)
class Item:
    name: str
    name_en: str | None
    data_type: str
    length: int | None = None
    is_key: bool = False
    data_element: str | None = None


@dataclass(frozen=True)
class M:
    columns: list[dict[str, object]]


def col(name: str, native: str, t: pa.DataType, comment: str | None = None) -> ColumnInfo:
    return ColumnInfo(name=name, type=native, arrow_type=t, nullable=True, comment=comment)


PEOPLE = TableInfo(
    schema="hr",
    name="people",
    columns=(
        col("ID_NO", "char(18)", pa.string()),
        col("xm", "varchar(100)", pa.string(), comment="姓名"),
        col("birth", "varchar(10)", pa.string(), comment="出生日期"),
        col("born_on", "date", pa.date32()),
        col("age", "int", pa.int32(), comment="年龄（周岁）"),
        col("salary", "decimal(12,2)", pa.decimal128(12, 2)),
        col("zjlx", "varchar(2)", pa.string()),
    ),
    primary_key=("ID_NO",),
)
ITEMS = [
    Item("公民身份号码", "id_no", "string", 18, is_key=True),
    Item("姓名", "name", "string", 50),
    Item("出生日期", "birth_date", "date"),
    Item("年龄", "Age", "integer"),
    Item("月工资", "salary", "decimal", 12),
    Item("证件类型", "doc_type", "string", 2, data_element="DE01001"),
    Item("备注", "remark", "string", 200),
]


def test_proposal_matches_by_english_name_comment_and_data_element() -> None:
    proposed = mapping.propose_mapping(ITEMS, PEOPLE, {"DE01001": ["证件类型", "zjlx"]})
    by_item = {c["item"]: c for c in proposed}
    # English name, case-insensitively.
    assert by_item["公民身份号码"]["column"] == "ID_NO"
    assert by_item["公民身份号码"]["field"] == "id_no"
    # The column comment equals the Chinese item name.
    assert by_item["姓名"] == {"item": "姓名", "column": "xm", "field": "name", "type": "string"}
    # A text column named like the date item does not feed it; the real date column does not
    # match by any name, so the item stays unmapped rather than being fed from text.
    assert "出生日期" not in by_item
    # The comment mentions the item; "Age" is no valid field name, so the column names it.
    assert by_item["年龄"] == {"item": "年龄", "column": "age", "field": "age", "type": "int64"}
    assert by_item["月工资"]["type"] == "decimal128(12, 2)"
    # Through the data element's names.
    assert by_item["证件类型"]["column"] == "zjlx"
    assert "备注" not in by_item
    check = mapping.check_mapping(ITEMS, PEOPLE, proposed)
    assert check.errors == []
    assert check.unmapped == ["出生日期", "备注"]


def test_check_flags_type_mismatch_cast_and_length_overflow() -> None:
    columns = [
        {"item": "公民身份号码", "column": "ID_NO", "field": "id_no", "type": "string"},
        # varchar(100) into a 50-character item: allowed, but a warning.
        {"item": "姓名", "column": "xm", "field": "name", "type": "string"},
        # A date item from a text column: refused.
        {"item": "出生日期", "column": "birth", "field": "birth_date", "type": "date32[day]"},
        # A string item from an int column: a cast, allowed.
        {"item": "证件类型", "column": "age", "field": "doc_type", "type": "string"},
    ]
    check = mapping.check_mapping(ITEMS, PEOPLE, columns)
    codes = {(i.code, i.column) for i in check.issues}
    assert ("mount_type_mismatch", "birth") in codes
    assert ("mount_length_overflow", "xm") in codes
    assert ("mount_type_cast", "age") in codes
    assert [i.code for i in check.errors] == ["mount_type_mismatch"]
    with pytest.raises(InvalidInput) as err:
        check.raise_errors()
    assert err.value.code == "mount_type_mismatch"
    assert err.value.details["column"] == "birth"
    assert len(err.value.details["issues"]) == len(check.issues)


def test_check_accepts_date_from_date_column_and_refuses_a_fraction_into_an_integer() -> None:
    ok = [{"item": "出生日期", "column": "born_on", "field": "birth_date", "type": "date32[day]"}]
    assert mapping.check_mapping(ITEMS, PEOPLE, ok).errors == []
    bad = [{"item": "年龄", "column": "salary", "field": "age", "type": "int64"}]
    assert [i.code for i in mapping.check_mapping(ITEMS, PEOPLE, bad).errors] == [
        "mount_type_mismatch"
    ]


def test_unknown_column_item_and_bad_fields_are_errors_unmapped_items_are_not() -> None:
    columns = [
        {"item": "姓名", "column": "nope", "field": "name", "type": "string"},
        {"item": "不存在", "column": "zjlx", "field": "doc", "type": "string"},
        {"item": None, "column": "ID_NO", "field": "Bad Field", "type": "string"},
        {"item": None, "column": "age", "field": "doc", "type": "int64"},
        {"item": None, "column": "age", "field": "age2", "type": "int64"},
    ]
    check = mapping.check_mapping(ITEMS, PEOPLE, columns)
    codes = [i.code for i in check.errors]
    assert codes == [
        "mount_column_unknown",
        "mount_item_unknown",
        "mount_field_invalid",
        "mount_field_invalid",
        "mount_column_duplicate",
    ]
    assert len(check.unmapped) == len(ITEMS) - 1
    with pytest.raises(InvalidInput) as err:
        check.raise_errors()
    assert err.value.code == "mount_column_unknown"
    assert err.value.details["column"] == "nope"
    # Unmapped items alone never block a mount.
    only = [{"item": "姓名", "column": "xm", "field": "name", "type": "string"}]
    assert mapping.check_mapping(ITEMS, PEOPLE, only).errors == []


@pytest.mark.parametrize(
    "text",
    ["int64", "string", "decimal128(12, 2)", "timestamp[us, tz=UTC]", "date32[day]", "bool"],
)
def test_type_strings_round_trip(text: str) -> None:
    assert str(mapping.parse_type(text)) == text


def test_unknown_type_string_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        mapping.parse_type("varchar(10)")
    assert err.value.code == "mount_type_unknown"


def test_conform_selects_renames_casts_and_names_the_bad_column() -> None:
    m = M(
        [
            {"item": "年龄", "column": "age", "field": "age", "type": "int64"},
            {"item": "姓名", "column": "xm", "field": "name", "type": "string"},
            {"item": "月工资", "column": "salary", "field": "pay", "type": "decimal128(12, 2)"},
        ]
    )
    batch = pa.record_batch(
        {
            "xm": ["张三", "李四"],
            "age": pa.array([30, 41], pa.int32()),
            "salary": pa.array([Decimal("1.50"), None], pa.decimal128(12, 2)),
            "ignored": [1, 2],
        }
    )
    out = mapping.conform(batch, m)
    assert out.schema == mapping.mount_schema(m)
    assert out.schema.names == ["age", "name", "pay"]
    assert out.to_pylist()[0] == {"age": 30, "name": "张三", "pay": Decimal("1.50")}

    narrow = M([{"item": None, "column": "n", "field": "n", "type": "int8"}])
    with pytest.raises(InvalidInput) as err:
        mapping.conform(pa.record_batch({"n": pa.array([1, 1000], pa.int64())}), narrow)
    assert err.value.code == "mount_value_invalid"
    assert err.value.details["column"] == "n"


def test_lake_types_are_what_delta_can_hold() -> None:
    assert mapping.lake_type(pa.uint32()) == pa.int64()
    assert mapping.lake_type(pa.uint64()) == pa.decimal128(20, 0)
    assert mapping.lake_type(pa.duration("us")) == pa.string()
    assert mapping.lake_type(pa.timestamp("ns", tz="UTC")) == pa.timestamp("us", tz="UTC")
    t = mapping.target_type("datetime", pa.date32())
    assert t == pa.timestamp("us")
    days = pa.array([dt.date(2024, 1, 2)], pa.date32())
    assert days.cast(t).to_pylist() == [dt.datetime(2024, 1, 2)]
