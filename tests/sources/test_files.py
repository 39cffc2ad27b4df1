"""File sources against real CSV/TSV, XLSX, JSON and JSON Lines files written in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest

from govdata.core.errors import GovDataError
from govdata.sources import FileConnector

PEOPLE = [
    # 编号, 姓名, 邮编, 金额, 出生日期, 登记时间, 在册
    (1, "张三", "010000", 1234.5, "1990-01-02", "2024-05-06 07:08:09", "true"),
    (2, "李四", "810000", -0.25, "1985-12-31", "2024-05-07 08:00:00", "false"),
    (3, "王五·青海", "", 0.0, "", "", ""),
    (4, "赵六", "810001", 88.0, "2001-07-01", "2024-05-08 23:59:59.5", "TRUE"),
]
HEADER = ("编号", "姓名", "邮编", "金额", "出生日期", "登记时间", "在册")


def _csv_text(delimiter: str = ",") -> str:
    lines = [delimiter.join(HEADER)]
    lines += [delimiter.join(str(v) for v in row) for row in PEOPLE]
    return "\n".join(lines) + "\n"


def _error(fn: Any, *args: Any, **kwargs: Any) -> GovDataError:
    with pytest.raises(GovDataError) as caught:
        result = fn(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    return caught.value


def _rows(connector: FileConnector, table: str, **kwargs: Any) -> list[dict[str, Any]]:
    return pa.Table.from_batches(list(connector.read_batches(table, **kwargs))).to_pylist()


# -- CSV encodings and delimiters ----------------------------------------------------------


def test_gbk_csv_with_chinese_headers_and_values(tmp_path: Path) -> None:
    (tmp_path / "人口.csv").write_bytes(_csv_text().encode("gbk"))
    conn = FileConnector(tmp_path)
    (info,) = conn.discover()
    assert info.name == "人口.csv"
    assert info.row_estimate == 4
    assert info.primary_key == ()
    types = {c.name: c.arrow_type for c in info.columns}
    assert types == {
        "编号": pa.int64(),
        "姓名": pa.string(),
        # Leading zeros would be lost as a number: a postcode stays text.
        "邮编": pa.string(),
        "金额": pa.float64(),
        "出生日期": pa.date32(),
        "登记时间": pa.timestamp("us"),
        "在册": pa.bool_(),
    }
    rows = _rows(conn, "人口.csv")
    assert [r["姓名"] for r in rows] == ["张三", "李四", "王五·青海", "赵六"]
    assert rows[0]["邮编"] == "010000"
    assert rows[0]["出生日期"] == dt.date(1990, 1, 2)
    assert rows[3]["登记时间"] == dt.datetime(2024, 5, 8, 23, 59, 59, 500000)
    assert [r["在册"] for r in rows] == [True, False, None, True]
    # Empty cells are NULL whatever the column's type.
    assert rows[2]["邮编"] is None and rows[2]["出生日期"] is None


def test_gb18030_csv_with_characters_beyond_gbk(tmp_path: Path) -> None:
    rare = "𠀀䶵𪚥"  # CJK extension characters that GBK cannot encode
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    text = "编号,姓名,备注\n" + "".join(f"{i},{rare}{i},青海省西宁市\n" for i in range(1, 30))
    (tmp_path / "rare.csv").write_bytes(text.encode("gb18030"))
    rows = _rows(FileConnector(tmp_path), "rare.csv")
    assert len(rows) == 29
    assert rows[0] == {"编号": 1, "姓名": f"{rare}1", "备注": "青海省西宁市"}


def test_short_gbk_sample_is_not_taken_for_another_code_page(tmp_path: Path) -> None:
    # charset-normalizer alone calls this CP949 (Korean); the connector reads it as GB18030.
    (tmp_path / "short.csv").write_bytes(
        "id,name,city\n1,王小明,西宁\n2,Bob,Xining\n".encode("gbk")
    )
    rows = _rows(FileConnector(tmp_path), "short.csv")
    assert rows == [
        {"id": 1, "name": "王小明", "city": "西宁"},
        {"id": 2, "name": "Bob", "city": "Xining"},
    ]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + _csv_text().encode("utf-8"))
    conn = FileConnector(tmp_path)
    assert [c.name for c in conn.table("bom.csv").columns] == list(HEADER)
    assert _rows(conn, "bom.csv", columns=["编号"]) == [{"编号": i} for i in (1, 2, 3, 4)]


def test_tsv_and_sniffed_delimiters(tmp_path: Path) -> None:
    (tmp_path / "people.tsv").write_text(_csv_text("\t"), encoding="utf-8")
    (tmp_path / "semi.csv").write_text(_csv_text(";"), encoding="utf-8")
    (tmp_path / "pipe.csv").write_text(_csv_text("|"), encoding="utf-8")
    # A comma inside quoted values must not fool the sniffer.
    (tmp_path / "quoted.csv").write_text(
        'id;addr\n1;"西宁市, 城东区"\n2;"海东市, 乐都区"\n', encoding="utf-8"
    )
    conn = FileConnector(tmp_path)
    assert sorted(t.name for t in conn.discover()) == [
        "people.tsv",
        "pipe.csv",
        "quoted.csv",
        "semi.csv",
    ]
    for name in ("people.tsv", "semi.csv", "pipe.csv"):
        rows = _rows(conn, name)
        assert [r["姓名"] for r in rows] == ["张三", "李四", "王五·青海", "赵六"], name
    assert _rows(conn, "quoted.csv")[0] == {"id": 1, "addr": "西宁市, 城东区"}


def test_utf16_tab_separated_text_as_excel_saves_it(tmp_path: Path) -> None:
    # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated, CRLF line ends.
    text = _csv_text("\t").replace("\n", "\r\n")
    (tmp_path / "excel.csv").write_bytes(text.encode("utf-16"))
    rows = _rows(FileConnector(tmp_path), "excel.csv")
    assert [r["姓名"] for r in rows] == ["张三", "李四", "王五·青海", "赵六"]
    assert rows[0]["邮编"] == "010000"


def test_header_with_blank_and_repeated_names_and_a_quoted_newline(tmp_path: Path) -> None:
    (tmp_path / "odd.csv").write_text(
        'id,,name,name,"multi\nline"\n1,a,b,c,d\n2,e,f,g,h\n', encoding="utf-8"
    )
    conn = FileConnector(tmp_path)
    names = [c.name for c in conn.table("odd.csv").columns]
    assert names == ["id", "column_2", "name", "name_2", "multi\nline"]
    assert _rows(conn, "odd.csv")[1] == {
        "id": 2,
        "column_2": "e",
        "name": "f",
        "name_2": "g",
        "multi\nline": "h",
    }


def test_identity_numbers_stay_text(tmp_path: Path) -> None:
    (tmp_path / "ids.csv").write_text(
        "身份证号,电话\n630102199001011234,09718888888\n630102199001015678,13900000000\n",
        encoding="utf-8",
    )
    conn = FileConnector(tmp_path)
    assert {c.arrow_type for c in conn.table("ids.csv").columns} == {pa.string()}
    assert _rows(conn, "ids.csv")[0] == {"身份证号": "630102199001011234", "电话": "09718888888"}


def test_a_row_of_the_wrong_width_is_a_clear_file_error(tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    err = _error(FileConnector(tmp_path).read_batches, "ragged.csv")
    assert err.code == "source_file_invalid"
    assert "ragged.csv" in err.message_zh and "ragged.csv" in err.message_en


def test_binary_content_named_csv_is_refused(tmp_path: Path) -> None:
    (tmp_path / "image.csv").write_bytes(bytes(range(256)) * 4)
    err = _error(FileConnector(tmp_path).discover)
    assert err.code == "source_file_invalid"
    assert err.details["file"] == "image.csv"


def test_a_later_value_that_does_not_fit_names_its_row_and_column(tmp_path: Path) -> None:
    lines = ["id,score"] + [f"{i},{i * 2}" for i in range(1, 301)]
    lines[250] = "250,n/a"  # data row 250
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    conn = FileConnector(tmp_path, sample_rows=100)
    assert conn.table("late.csv").column("score").arrow_type == pa.int64()
    err = _error(conn.read_batches, "late.csv", batch_rows=64)
    assert err.code == "source_value_invalid"
    assert err.details["column"] == "score"
    assert err.details["row"] == 250
    assert "n/a" in err.details["value"]
    assert "250" in err.message_zh and "score" in err.message_en
    # The rows before it are readable: a limit that stops earlier never meets the bad value.
    assert len(_rows(conn, "late.csv", limit=200)) == 200


def test_inference_is_stable_between_discovery_and_later_reads(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(_csv_text(), encoding="utf-8")
    discovered = FileConnector(tmp_path).discover()[0].arrow_schema()
    # A new connector (a later pipeline run) infers the same schema and reads into it.
    batch = next(FileConnector(tmp_path).read_batches("p.csv"))
    assert batch.schema == discovered


# -- XLSX ------------------------------------------------------------------------------------


def _workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人员"
    ws.append(["编号", "姓名", "出生日期", "登记时间", "金额", "在册", "备注"])
    ws.append([1, "张三", dt.date(1990, 1, 2), dt.datetime(2024, 5, 6, 7, 8, 9), 1234.5, True, 7])
    ws.append([2, "李四", dt.date(1985, 12, 31), dt.datetime(2024, 5, 7, 8, 0), 3, False, "无"])
    ws.append([3, "王五", None, None, None, None, None])
    summary = wb.create_sheet("汇总 2024")
    summary.append([])
    summary.append([])
    summary.append(["区县", "人口"])
    summary.append(["城东区", 370000])
    summary.append([])
    summary.append(["城西区", 250000])
    wb.create_sheet("空白")
    wb.save(path)


def test_xlsx_sheets_are_tables_with_types(tmp_path: Path) -> None:
    _workbook(tmp_path / "book.xlsx")
    conn = FileConnector(tmp_path)
    tables = {t.name: t for t in conn.discover()}
    # The empty sheet has no header, so it is no table.
    assert sorted(tables) == ["book.xlsx#人员", "book.xlsx#汇总 2024"]
    people = tables["book.xlsx#人员"]
    assert people.row_estimate == 3
    assert {c.name: c.arrow_type for c in people.columns} == {
        "编号": pa.int64(),
        "姓名": pa.string(),
        "出生日期": pa.date32(),
        "登记时间": pa.timestamp("us"),
        "金额": pa.float64(),
        "在册": pa.bool_(),
        "备注": pa.string(),  # a number and a word: text
    }
    rows = _rows(conn, "book.xlsx#人员")
    assert rows[0] == {
        "编号": 1,
        "姓名": "张三",
        "出生日期": dt.date(1990, 1, 2),
        "登记时间": dt.datetime(2024, 5, 6, 7, 8, 9),
        "金额": 1234.5,
        "在册": True,
        "备注": "7",
    }
    assert rows[1]["金额"] == 3.0 and rows[1]["备注"] == "无"
    assert rows[2]["出生日期"] is None
    # The header sits below two blank rows; a blank row between data rows is skipped.
    assert _rows(conn, "book.xlsx#汇总 2024") == [
        {"区县": "城东区", "人口": 370000},
        {"区县": "城西区", "人口": 250000},
    ]
    assert _rows(conn, "book.xlsx#人员", columns=["姓名"], where=[("编号", ">=", 2)]) == [
        {"姓名": "李四"},
        {"姓名": "王五"},
    ]


def test_xlsx_sheet_can_be_read_without_discovering_the_folder(tmp_path: Path) -> None:
    _workbook(tmp_path / "book.xlsx")
    conn = FileConnector(tmp_path)
    assert conn.preview("book.xlsx#汇总 2024", limit=1).num_rows == 1
    err = _error(conn.table, "book.xlsx#没有这个表")
    assert err.code == "source_table_unknown"


def test_xlsx_value_after_the_sample_that_does_not_fit(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "amount"])
    for i in range(1, 51):
        ws.append([i, i * 10 if i != 40 else "待定"])
    wb.save(tmp_path / "late.xlsx")
    conn = FileConnector(tmp_path, sample_rows=20)
    err = _error(conn.read_batches, "late.xlsx#Sheet")
    assert err.code == "source_value_invalid"
    assert (err.details["column"], err.details["row"]) == ("amount", 40)


@pytest.mark.parametrize("damage", ["random", "truncated", "csv_inside", "zip_not_xlsx"])
def test_malformed_xlsx_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.xlsx"
    _workbook(good)
    bad = tmp_path / "data" / "bad.xlsx"
    bad.parent.mkdir()
    if damage == "random":
        bad.write_bytes(random.Random(4).randbytes(4096))
    elif damage == "truncated":
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "csv_inside":
        bad.write_text(_csv_text(), encoding="utf-8")
    else:
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("hello.txt", "not a workbook")
    conn = FileConnector(tmp_path / "data")
    for call in (conn.discover, lambda: conn.preview("bad.xlsx#Sheet1")):
        err = _error(call)
        assert err.code == "source_file_invalid"
        assert err.status == 422
        assert "bad.xlsx" in err.message_zh and "bad.xlsx" in err.message_en
        assert err.details["file"] == "bad.xlsx"


# -- JSON and JSON Lines ---------------------------------------------------------------------

RECORDS = [
    {"id": 1, "name": "张三", "addr": {"city": "西宁", "zip": "810000"}, "tags": ["a", "b"]},
    {"id": 2, "name": "李四", "addr": {"city": "海东"}, "score": 9.5, "tags": []},
    {"id": 3, "name": None, "score": 7, "active": True, "note": None},
]


def _expect_records(rows: list[dict[str, Any]]) -> None:
    assert rows == [
        {
            "id": 1,
            "name": "张三",
            "addr.city": "西宁",
            "addr.zip": "810000",
            "tags": '["a", "b"]',
            "score": None,
            "active": None,
            "note": None,
        },
        {
            "id": 2,
            "name": "李四",
            "addr.city": "海东",
            "addr.zip": None,
            "tags": "[]",
            "score": 9.5,
            "active": None,
            "note": None,
        },
        {
            "id": 3,
            "name": None,
            "addr.city": None,
            "addr.zip": None,
            "tags": None,
            "score": 7.0,
            "active": True,
            "note": None,
        },
    ]


def test_json_array_of_objects(tmp_path: Path) -> None:
    (tmp_path / "people.json").write_text(
        json.dumps(RECORDS, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    conn = FileConnector(tmp_path)
    (info,) = conn.discover()
    assert info.row_estimate == 3
    assert {c.name: c.arrow_type for c in info.columns} == {
        "id": pa.int64(),
        "name": pa.string(),
        "addr.city": pa.string(),
        "addr.zip": pa.string(),
        "tags": pa.string(),
        "score": pa.float64(),
        "active": pa.bool_(),
        "note": pa.string(),
    }
    _expect_records(_rows(conn, "people.json", batch_rows=2))


def test_json_object_with_the_records_under_a_key(tmp_path: Path) -> None:
    body = {"code": 0, "meta": {"pages": [1, 2]}, "ids": [1, 2], "data": RECORDS, "total": 3}
    (tmp_path / "wrapped.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "bom.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8-sig")
    conn = FileConnector(tmp_path)
    _expect_records(_rows(conn, "wrapped.json"))
    _expect_records(_rows(conn, "bom.json"))


def test_json_lines(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n\n"
    (tmp_path / "people.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / "people.ndjson").write_bytes(text.encode("gbk"))
    conn = FileConnector(tmp_path)
    _expect_records(_rows(conn, "people.jsonl"))
    _expect_records(_rows(conn, "people.ndjson"))


def test_json_lines_read_natively_agree_with_the_records_rules(tmp_path: Path) -> None:
    # Several 1 MB blocks; some parse natively in pyarrow, others need the line-by-line path
    # (a number in a text column, an array, a kind that changes). Both must give what the
    # same records give as a JSON array, which is always read by the records rules.
    rng = random.Random(11)
    records: list[dict[str, Any]] = []
    for i in range(24_000):
        record: dict[str, Any] = {
            "id": i,
            "name": f"居民{i}",
            "day": f"2024-01-{1 + i % 28:02d}",
            "addr": {"city": "西宁", "code": rng.randint(1, 9)},
            "score": rng.choice([1, 2.5, None]),
            "whole": 3.0,
        }
        if 9_000 <= i < 9_010:
            record["name"] = 42  # a number where text was seen
        if 17_000 <= i < 17_005:
            record["tags"] = ["a", i]
        if i == 23_990:
            record["addr"] = "unknown"  # an object that turns into text
        records.append(record)
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    (tmp_path / "r.jsonl").write_text(lines, encoding="utf-8")
    (tmp_path / "g.jsonl").write_bytes(lines.encode("gb18030"))
    (tmp_path / "r.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert (tmp_path / "r.jsonl").stat().st_size > 2 * 2**20
    conn = FileConnector(tmp_path, sample_rows=30_000)
    expected = _rows(conn, "r.json")
    assert conn.table("r.jsonl").arrow_schema() == conn.table("r.json").arrow_schema()
    assert _rows(conn, "r.jsonl") == expected
    assert _rows(conn, "g.jsonl") == expected
    assert expected[9_000]["name"] == "42"
    assert expected[17_000]["tags"] == '["a", 17000]'
    assert expected[23_990]["addr"] == "unknown" and expected[23_990]["addr.city"] is None
    assert expected[5]["whole"] == 3.0 and expected[0]["day"] == "2024-01-01"


def test_large_json_array_streams_across_buffer_refills(tmp_path: Path) -> None:
    n = 30_000
    with (tmp_path / "big.json").open("w", encoding="utf-8") as f:
        f.write('{"result": {"ok": true}, "items": [')
        f.write(
            ",".join(json.dumps({"id": i, "v": i * 1.5, "s": "值" * (i % 7)}) for i in range(n))
        )
        f.write("]}")
    conn = FileConnector(tmp_path, sample_rows=1000)
    info = conn.table("big.json")
    assert abs((info.row_estimate or 0) - n) < n * 0.3
    total = 0
    ids = 0
    for batch in conn.read_batches("big.json", batch_rows=7000):
        assert batch.num_rows <= 7000
        total += batch.num_rows
        ids += sum(batch.column("id").to_pylist())
    assert total == n and ids == n * (n - 1) // 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[{"a": 1}, 5]', "element 2"),
        ('{"a": 1, "b": "x"}', "no array of objects"),
        ('[{"a": 1}, {"a": ', "invalid JSON"),
        ('"just text"', "not a JSON array or object"),
    ],
)
def test_json_that_is_not_records_is_refused(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "x.json").write_text(content, encoding="utf-8")
    err = _error(FileConnector(tmp_path).read_batches, "x.json")
    assert err.code == "source_file_invalid"
    assert reason in err.details["reason"]


def test_json_lines_type_mismatch_after_the_sample(tmp_path: Path) -> None:
    lines = [json.dumps({"id": i, "n": i}) for i in range(1, 21)]
    lines[14] = json.dumps({"id": 15, "n": "fifteen"})
    (tmp_path / "x.jsonl").write_text("\n".join(lines), encoding="utf-8")
    err = _error(FileConnector(tmp_path, sample_rows=10).read_batches, "x.jsonl", batch_rows=4)
    assert err.code == "source_value_invalid"
    assert (err.details["column"], err.details["row"]) == ("n", 15)


# -- projection, filters, limits -------------------------------------------------------------


def _numbers(tmp_path: Path) -> FileConnector:
    rng = random.Random(7)
    lines = ["id,grp,val,day"]
    for i in range(1, 1001):
        val = "" if i % 10 == 0 else str(rng.randint(-50, 50))
        lines.append(f"{i},g{i % 4},{val},2024-01-{1 + i % 28:02d}")
    (tmp_path / "n.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return FileConnector(tmp_path)


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ([("val", "=", 7)], lambda r: r["val"] == 7),
        ([("val", "<", -40)], lambda r: r["val"] is not None and r["val"] < -40),
        ([("val", "<=", -40)], lambda r: r["val"] is not None and r["val"] <= -40),
        (
            [("val", ">", 45), ("grp", "=", "g1")],
            lambda r: (r["val"] or -99) > 45 and r["grp"] == "g1",
        ),
        ([("val", ">=", 49)], lambda r: r["val"] is not None and r["val"] >= 49),
        ([("grp", "IN", ["g0", "g3"])], lambda r: r["grp"] in ("g0", "g3")),
        ([("val", "IS NULL")], lambda r: r["val"] is None),
        ([("val", "is not null", None)], lambda r: r["val"] is not None),
        ([("day", ">=", "2024-01-27")], lambda r: r["day"] >= dt.date(2024, 1, 27)),
    ],
)
def test_filters_match_python(tmp_path: Path, where: list[Any], check: Any) -> None:
    conn = _numbers(tmp_path)
    everything = _rows(conn, "n.csv")
    expected = [r["id"] for r in everything if check(r)]
    assert expected, "the case must select something"
    got = _rows(conn, "n.csv", columns=["id"], where=where, batch_rows=100)
    assert [r["id"] for r in got] == expected


def test_projection_order_batches_and_limit(tmp_path: Path) -> None:
    conn = _numbers(tmp_path)
    batches = list(conn.read_batches("n.csv", columns=["day", "id"], batch_rows=300))
    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert batches[0].schema.names == ["day", "id"]
    limited = list(
        conn.read_batches(
            "n.csv", columns=["id"], where=[("grp", "=", "g2")], batch_rows=40, limit=90
        )
    )
    assert [b.num_rows for b in limited] == [40, 40, 10]
    ids = [i for b in limited for i in b.column("id").to_pylist()]
    assert ids == [i for i in range(1, 1001) if i % 4 == 2][:90]
    assert conn.preview("n.csv", limit=5).column("id").to_pylist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"columns": ["nope"]}, "source_column_unknown"),
        ({"columns": []}, "source_filter_invalid"),
        ({"where": [("val", "LIKE", "x")]}, "source_filter_invalid"),
        ({"where": [("val", "=", None)]}, "source_filter_invalid"),
        ({"where": [("val", "IN", [])]}, "source_filter_invalid"),
        ({"where": [("val", "=", "not a number")]}, "source_filter_invalid"),
        ({"batch_rows": 0}, "source_limit_invalid"),
        ({"limit": 0}, "source_limit_invalid"),
    ],
)
def test_bad_requests_fail_when_made(tmp_path: Path, kwargs: dict[str, Any], code: str) -> None:
    conn = _numbers(tmp_path)
    with pytest.raises(GovDataError) as caught:
        conn.read_batches("n.csv", **kwargs)  # no iteration: the call itself refuses
    assert caught.value.code == code


# -- the folder ------------------------------------------------------------------------------


def test_paths_cannot_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.csv").write_text("a\n1\n", encoding="utf-8")
    (tmp_path / "secret.csv").write_text("password\nhunter2\n", encoding="utf-8")
    os.symlink(tmp_path / "secret.csv", root / "link.csv")
    (root / ".hidden.csv").write_text("a\n1\n", encoding="utf-8")
    (root / "notes.txt").write_text("not a table", encoding="utf-8")
    conn = FileConnector(root)
    assert [t.name for t in conn.discover()] == ["sub/ok.csv"]
    for name in ("../secret.csv", "sub/../../secret.csv", str(tmp_path / "secret.csv"), "link.csv"):
        err = _error(conn.read_batches, name)
        assert err.code == "source_path_invalid", name
    assert _error(conn.table, "missing.csv").code == "source_table_unknown"
    assert _error(conn.table, "notes.txt").code == "source_table_unknown"


def test_root_can_be_one_file_and_keys_can_be_declared(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(_csv_text(), encoding="utf-8")
    conn = FileConnector(tmp_path / "p.csv", keys={"p.csv": ["编号"]})
    conn.test_connection()
    (info,) = conn.discover()
    assert info.primary_key == ("编号",)
    assert info.column("编号").is_key and not info.column("姓名").is_key
    with pytest.raises(GovDataError) as caught:
        FileConnector(tmp_path, keys={"p.csv": ["无此列"]}).discover()
    assert caught.value.code == "source_column_unknown"


def test_missing_root_is_unreachable(tmp_path: Path) -> None:
    err = _error(FileConnector(tmp_path / "gone").test_connection)
    assert err.code == "source_unreachable"
    assert _error(FileConnector(tmp_path / "gone").discover).code == "source_unreachable"


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    for kwargs in ({"encoding": "klingon-8"}, {"delimiter": ",,"}, {"sample_rows": 0}):
        with pytest.raises(GovDataError) as caught:
            FileConnector(tmp_path, **kwargs)
        assert caught.value.code == "source_config_invalid"


# -- a large file ----------------------------------------------------------------------------


def _big_csv(path: Path, rows: int) -> int:
    with path.open("w", encoding="gbk") as f:
        f.write("编号,姓名,地址,金额,日期\n")
        for i in range(rows):
            f.write(
                f"{i},居民{i},青海省西宁市城东区第{i % 977}号,{i * 0.5},2024-03-{1 + i % 28:02d}\n"
            )
    return path.stat().st_size


def _stream(conn: FileConnector, table: str) -> tuple[list[int], int, int, int]:
    """Batch sizes, sum of ids, peak Python and peak Arrow bytes while streaming ``table``."""
    arrow_base = pa.total_allocated_bytes()
    arrow_peak = 0
    total = 0
    sizes = []
    tracemalloc.start()
    try:
        for batch in conn.read_batches(table, batch_rows=20_000):
            sizes.append(batch.num_rows)
            total += pa.compute.sum(batch.column("编号")).as_py()
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - arrow_base)
            del batch
        _, py_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return sizes, total, py_peak, arrow_peak


def test_200k_row_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    rows = 200_000
    size = _big_csv(tmp_path / "big.csv", rows)
    header, body = (tmp_path / "big.csv").read_bytes().split(b"\n", 1)
    (tmp_path / "triple.csv").write_bytes(header + b"\n" + body * 3)
    conn = FileConnector(tmp_path)
    info = conn.table("big.csv")
    assert abs((info.row_estimate or 0) - rows) < rows * 0.1
    conn.table("triple.csv")

    sizes, total, py_peak, arrow_peak = _stream(conn, "big.csv")
    assert sizes == [20_000] * 10
    assert total == rows * (rows - 1) // 2
    # As Python objects the file would take several times its size; the stream holds a few
    # GBK blocks being transcoded (pyarrow calls Python's codec), never rows.
    assert py_peak < min(size / 5, 4 * 2**20), (py_peak, size)
    # Arrow holds the reader's read-ahead blocks and a batch or two, whatever the file's size:
    # the same budget holds for a file three times as large (larger than the budget itself).
    budget = 24 * 2**20
    assert arrow_peak < budget, arrow_peak
    triple_sizes, _, triple_py, triple_arrow = _stream(conn, "triple.csv")
    assert sum(triple_sizes) == 3 * rows
    assert (tmp_path / "triple.csv").stat().st_size > budget * 1.4
    assert triple_arrow < budget, triple_arrow
    assert triple_py < 4 * 2**20, triple_py
