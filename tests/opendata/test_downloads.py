"""Open-data files and the preview: each format's bytes, versions, the cache, the gate
(hidden datasets, conditional data, unchosen and sensitive fields), audit and counts."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog import actions as catalog_actions
from govdata.catalog.schemas import EntryUpdate, NewVersion, PublishRequest
from govdata.lake.tables import Lake
from govdata.opendata import datasets, downloads, grants
from govdata.opendata.models import OpenDataset, OpenUsage
from govdata.opendata.schemas import ProposeIn, ReviewIn, WithdrawIn
from govdata.security.audit import AuditRecord
from tests.identity.conftest import Org
from tests.opendata.fixtures import (
    OPEN_FIELDS,
    SCHOOLS,
    Opened,
    collected_schools,
    opened_schools,
    recollect,
    school_content,
)

EXPECTED = sorted([list(r[:4]) for r in SCHOOLS])
MOBILES = [r[4] for r in SCHOOLS]


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.settings), follow_redirects=False) as c:
        yield c


def _csv_rows(body: bytes) -> tuple[list[str], list[list[Any]]]:
    assert body.startswith(b"\xef\xbb\xbf"), body[:10]
    reader = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
    header, rows = reader[0], reader[1:]
    return header, sorted([r[0], r[1], r[2], int(r[3])] for r in rows)


def _audits(org: Org, action: str, target: str | None = None) -> list[AuditRecord]:
    with org.db.sessions() as s:
        stmt = select(AuditRecord).where(AuditRecord.action == action)
        if target:
            stmt = stmt.where(AuditRecord.target_id == target)
        return list(s.scalars(stmt.order_by(AuditRecord.at, AuditRecord.id)))


def _downloads(org: Org, dataset_id: str) -> tuple[int, int]:
    with org.db.sessions() as s:
        ds = s.get(OpenDataset, dataset_id)
        month = s.scalars(select(OpenUsage).where(OpenUsage.dataset_id == dataset_id)).all()
        assert ds is not None
        return ds.downloads, sum(m.downloads for m in month)


def _cache_files(org: Org, dataset_id: str) -> list[str]:
    folder = downloads.cache_dir(org.settings, dataset_id)
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".json"))


def test_each_format_holds_exactly_the_open_rows(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    opened = opened_schools(org, tmp_path)
    base = f"/open/datasets/{opened.name}/download"
    got = client.get(f"{base}.csv")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    header, rows = _csv_rows(got.content)
    assert header == OPEN_FIELDS and rows == EXPECTED
    version = int(got.headers["x-lake-version"])
    disposition = got.headers["content-disposition"]
    assert f'filename="{opened.name}-v{version}.csv"' in disposition
    assert f"filename*=UTF-8''{quote(f'全省中小学校名录-v{version}.csv')}" in disposition
    assert got.headers["etag"].startswith(f'"{version}-')

    xlsx = client.get(f"{base}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == OPEN_FIELDS
    assert sorted(values[1:]) == EXPECTED

    data = client.get(f"{base}.json")
    assert data.status_code == 200 and data.headers["content-type"] == "application/json"
    records = json.loads(data.content)
    assert sorted([r[f] for f in OPEN_FIELDS] for r in records) == EXPECTED
    assert all(set(r) == set(OPEN_FIELDS) for r in records)

    # The sensitive column is in the lake but in no file.
    for body in (got.content, data.content):
        assert not any(m.encode() in body for m in MOBILES)
    assert "head_mobile" not in str(values)

    assert client.get(f"{base}.parquet").status_code == 404
    # Three downloads, counted and audited with fields, rows, format and lake version.
    assert _downloads(org, opened.dataset_id) == (3, 3)
    audits = _audits(org, "opendata.data.download", opened.dataset_id)
    assert [a.details["format"] for a in audits] == ["csv", "xlsx", "json"]
    assert all(a.row_count == 5 and a.fields == ",".join(OPEN_FIELDS) for a in audits)
    assert all(a.details["lake_version"] == version for a in audits)
    assert all(a.actor_kind == "anonymous" for a in audits)


def test_versions_and_the_cache(org: Org, tmp_path: Path, client: TestClient) -> None:
    opened = opened_schools(org, tmp_path)
    url = f"/open/datasets/{opened.name}/download.csv"
    first = client.get(url)
    v1 = int(first.headers["x-lake-version"])
    (name,) = _cache_files(org, opened.dataset_id)
    path = downloads.cache_dir(org.settings, opened.dataset_id) / name
    mtime = os.stat(path).st_mtime_ns
    again = client.get(url)
    assert again.content == first.content and os.stat(path).st_mtime_ns == mtime
    assert _audits(org, "opendata.data.download")[-1].details["cached"] is True
    # A client holding this version's file revalidates: 304, nothing counted or audited.
    same = client.get(url, headers={"if-none-match": first.headers["etag"]})
    assert same.status_code == 304 and same.content == b""
    assert _downloads(org, opened.dataset_id) == (2, 2)
    assert len(_audits(org, "opendata.data.download")) == 2

    # A second collection run changes the data: a new version, a new file.
    changed = [*SCHOOLS[:3], ("6301000009", "西宁市第九中学", "城西区", 800, "13800000009")]
    recollect(org, opened.entry_id, changed)
    now = client.get(url, headers={"if-none-match": first.headers["etag"]})
    assert now.status_code == 200 and now.headers["etag"] != first.headers["etag"]
    v2 = int(now.headers["x-lake-version"])
    assert v2 > v1
    assert _csv_rows(now.content)[1] == sorted([list(r[:4]) for r in changed])
    # The old version's file is pruned once the new one is made.
    assert _cache_files(org, opened.dataset_id) == [f"{v2}-{name.split('-', 1)[1]}"]
    # The old version is still served on request, with its own rows.
    old = client.get(f"{url}?version={v1}")
    assert old.status_code == 200 and int(old.headers["x-lake-version"]) == v1
    assert _csv_rows(old.content)[1] == EXPECTED
    missing = client.get(f"{url}?version={v2 + 5}", headers={"accept": "application/json"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "lake_version_not_found"
    # Once a vacuum removed the old version's data, asking for it is a clear 404.
    Lake.from_settings(org.settings).vacuum(opened.table, timedelta(0), allow_short_retention=True)
    for path in downloads.cache_dir(org.settings, opened.dataset_id).glob(f"{v1}-*"):
        path.unlink()
    gone = client.get(f"{url}?version={v1}", headers={"accept": "application/json"})
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["code"] == "opendata_version_unavailable"
    assert client.get(url).status_code == 200
    # Making a pruned file again for a request already counted counts nothing more.
    before = _downloads(org, opened.dataset_id)
    for path in downloads.cache_dir(org.settings, opened.dataset_id).iterdir():
        path.unlink()
    again_made = downloads.download(
        org.db, org.settings, grants.ANONYMOUS_IDENTITY, opened.name, "csv", count=False
    )
    assert again_made.path.exists() and not again_made.cached and again_made.rows == 4
    assert _downloads(org, opened.dataset_id) == before


def test_only_the_chosen_fields_are_in_files(org: Org, tmp_path: Path, client: TestClient) -> None:
    entry_id, _, _ = collected_schools(org, tmp_path)
    with org.as_("xn_officer").act() as ctx:
        ds = datasets.propose_opening(
            ctx, entry_id, ProposeIn(fields=["school_code", "school_name"])
        )
    with org.as_("operator").act() as ctx:
        datasets.review_opening(ctx, ds.id, ReviewIn(approve=True))
    got = client.get(f"/open/datasets/{ds.name}/download.csv")
    header = got.content[3:].decode().splitlines()[0]
    assert header == '"school_code","school_name"'
    data = json.loads(client.get(f"/open/datasets/{ds.name}/download.json").content)
    assert all(set(r) == {"school_code", "school_name"} for r in data) and len(data) == 5
    assert "county" not in client.get(f"/open/datasets/{ds.name}/preview").text


def _regrade(org: Org, opened: Opened, **changes: Any) -> None:
    body = school_content(**changes)
    with org.as_("xn_officer").act() as ctx:
        catalog_actions.new_version(ctx, opened.entry_id, NewVersion(change_note="调整"))
        catalog_actions.update_entry(ctx, opened.entry_id, EntryUpdate(**body))
        catalog_actions.submit_entry(ctx, opened.entry_id)
    with org.as_("operator").act() as ctx:
        catalog_actions.publish_entry(ctx, opened.entry_id, PublishRequest())


@pytest.mark.parametrize("how", ["grade3", "closed", "withdrawn"])
def test_hidden_datasets_give_no_file_and_no_preview(
    org: Org, tmp_path: Path, client: TestClient, how: str
) -> None:
    opened = opened_schools(org, tmp_path)
    assert client.get(f"/open/datasets/{opened.name}/download.csv").status_code == 200
    if how == "grade3":
        _regrade(org, opened, grade=3)
    elif how == "closed":
        _regrade(org, opened, open_type="closed")
    else:
        with org.as_("operator").act() as ctx:
            datasets.withdraw_dataset(ctx, opened.dataset_id, WithdrawIn(reason="停止开放"))
    for fmt in downloads.FORMATS:
        got = client.get(f"/open/datasets/{opened.name}/download.{fmt}")
        assert got.status_code == 404 and 'data-code="opendata_dataset_not_found"' in got.text
    assert client.get(f"/open/datasets/{opened.dataset_id}/download.csv").status_code == 404
    assert client.get(f"/open/datasets/{opened.name}/preview").status_code == 404
    api = client.get(f"/open/datasets/{opened.name}/preview?format=json")
    assert api.status_code == 404 and api.json()["error"]["code"] == "opendata_dataset_not_found"
    assert _downloads(org, opened.dataset_id) == (1, 1)


def test_conditional_data_needs_an_approved_application(
    org: Org, tmp_path: Path, client: TestClient
) -> None:
    opened = opened_schools(org, tmp_path, open_type="conditional")
    page = client.get(f"/open/datasets/{opened.name}/download.csv")
    assert page.status_code == 403 and 'data-code="opendata_access_required"' in page.text
    assert f'href="/open/datasets/{opened.name}/apply"' in page.text
    api = client.get(
        f"/open/datasets/{opened.name}/download.json", headers={"accept": "application/json"}
    )
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "opendata_access_required"
    assert api.json()["error"]["details"]["apply"] == f"/open/datasets/{opened.name}/apply"
    fragment = client.get(f"/open/datasets/{opened.name}/preview?format=html")
    assert fragment.status_code == 200 and 'data-access="required"' in fragment.text
    assert "<html" not in fragment.text
    assert "<td>" not in fragment.text and "西宁市第一中学" not in fragment.text
    as_json = client.get(f"/open/datasets/{opened.name}/preview?format=json")
    assert as_json.status_code == 403
    # Refusals are audited as denied reads; nothing is counted.
    denied = _audits(org, "opendata.data.download")
    assert [a.outcome for a in denied] == ["denied", "denied"]
    assert [a.outcome for a in _audits(org, "opendata.data.preview")] == ["denied", "denied"]
    assert _downloads(org, opened.dataset_id) == (0, 0)
    assert not downloads.cache_dir(org.settings, opened.dataset_id).exists()


def test_the_preview(org: Org, tmp_path: Path, client: TestClient) -> None:
    opened = opened_schools(org, tmp_path)
    got = client.get(f"/open/datasets/{opened.name}/preview", headers={"HX-Request": "true"})
    assert got.status_code == 200
    text = got.text
    assert "<html" not in text and text.count("<tr>") == 6  # header + five rows
    for title in ("学校代码", "学校名称", "所在县区", "在校学生数"):
        assert f">{title}</th>" in text
    assert "校长手机号码" not in text and not any(m in text for m in MOBILES)
    assert "西宁市第一中学" in text
    # Without htmx (the no-JavaScript link) the same table comes inside a page.
    page = client.get(f"/open/datasets/{opened.name}/preview").text
    assert page.startswith("<!doctype html>") and page.count("<tr>") == 6
    assert f'href="/open/datasets/{opened.name}"' in page
    short = client.get(f"/open/datasets/{opened.name}/preview?format=json&rows=2").json()
    assert [f["name"] for f in short["fields"]] == OPEN_FIELDS and len(short["records"]) == 2
    assert set(short["records"][0]) == set(OPEN_FIELDS)
    audits = _audits(org, "opendata.data.preview", opened.dataset_id)
    assert [a.row_count for a in audits] == [5, 5, 2] and audits[0].fields == ",".join(OPEN_FIELDS)
    # Not a view: the dataset page counts those.
    with org.db.sessions() as s:
        ds = s.get(OpenDataset, opened.dataset_id)
        assert ds is not None and ds.views == 0


def test_a_failed_write_leaves_no_cache_file(
    org: Org, tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = opened_schools(org, tmp_path)
    real = downloads.WRITERS["csv"]

    def crash(reader: Any, out: Any) -> int:
        out.write(b"\xef\xbb\xbfpartial")
        raise OSError("disk full")

    monkeypatch.setitem(downloads.WRITERS, "csv", crash)
    with pytest.raises(OSError):
        client.get(f"/open/datasets/{opened.name}/download.csv")
    folder = downloads.cache_dir(org.settings, opened.dataset_id)
    assert list(folder.iterdir()) == []
    assert _downloads(org, opened.dataset_id) == (0, 0)
    monkeypatch.setitem(downloads.WRITERS, "csv", real)
    got = client.get(f"/open/datasets/{opened.name}/download.csv")
    assert _csv_rows(got.content)[1] == EXPECTED


def test_xlsx_refuses_more_rows_than_excel_holds(
    org: Org, tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = opened_schools(org, tmp_path)
    # Five rows stand in for a million: the limit is what is checked, not Excel itself.
    monkeypatch.setattr(downloads, "XLSX_MAX_ROWS", 4)
    got = client.get(
        f"/open/datasets/{opened.name}/download.xlsx", headers={"accept": "application/json"}
    )
    assert got.status_code == 422
    error = got.json()["error"]
    assert error["code"] == "opendata_xlsx_too_large" and error["details"]["use"] == "csv"
    assert client.get(f"/open/datasets/{opened.name}/download.csv").status_code == 200


def test_json_values_of_every_kind() -> None:
    """The vectorised JSON writer against ``json`` itself: escapes, nulls, non-finite floats,
    dates, times with zones, decimals as exact strings, binary as hex."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    shanghai = dt.timezone(dt.timedelta(hours=8))
    batch = pa.record_batch(
        {
            "s": pa.array(['引号"与\\反斜杠', None, "中文"]),
            "ctl": pa.array(["换行\n制表\t", "\x01", None]),
            "n": pa.array([1, None, -3]),
            "f": pa.array([0.5, float("nan"), float("inf")]),
            "b": pa.array([True, False, None]),
            "d": pa.array([dt.date(2024, 1, 2), None, dt.date(2000, 12, 31)]),
            "ts": pa.array(
                [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)] * 3,
                pa.timestamp("us", tz="Asia/Shanghai"),
            ),
            "dec": pa.array([Decimal("12.30"), None, Decimal("-1.05")], pa.decimal128(10, 2)),
            "bin": pa.array([b"\x01", None, b"ab"]),
        }
    )
    out = io.BytesIO()
    reader = pa.RecordBatchReader.from_batches(batch.schema, [batch, batch.slice(0, 0), batch])
    assert downloads._write_json(reader, out) == 6
    records = json.loads(out.getvalue())
    assert len(records) == 6 and records[:3] == records[3:]
    first, second, third = records[:3]
    assert first["s"] == '引号"与\\反斜杠' and second["s"] is None and third["s"] == "中文"
    assert [r["ctl"] for r in records[:3]] == ["换行\n制表\t", "\x01", None]
    assert [r["n"] for r in records[:3]] == [1, None, -3]
    assert [r["f"] for r in records[:3]] == [0.5, None, None]
    assert [r["b"] for r in records[:3]] == [True, False, None]
    assert [r["d"] for r in records[:3]] == ["2024-01-02", None, "2000-12-31"]
    assert dt.datetime.fromisoformat(first["ts"]) == dt.datetime(
        2024, 1, 2, 11, 4, 5, tzinfo=shanghai
    )
    assert [r["dec"] for r in records[:3]] == ["12.30", None, "-1.05"]
    assert [r["bin"] for r in records[:3]] == ["01", None, "6162"]


def test_pruning_keeps_the_current_version_and_fresh_temporaries(tmp_path: Path) -> None:
    from govdata.config import Settings

    settings = Settings(data_dir=tmp_path, secret_key="k" * 48)
    folder = downloads.cache_dir(settings, "ds1")
    folder.mkdir(parents=True)
    names = ["3-aaaa.csv", "3-aaaa.csv.json", "4-aaaa.csv", "4-aaaa.csv.json", "4-bbbb.json"]
    for name in [*names, ".tmp-old.5-aaaa.csv", ".tmp-new.5-aaaa.csv"]:
        (folder / name).write_bytes(b"x")
    hour_ago = os.stat(folder / ".tmp-old.5-aaaa.csv").st_mtime - 7200
    os.utime(folder / ".tmp-old.5-aaaa.csv", (hour_ago, hour_ago))
    removed = downloads.prune_cache(settings, "ds1", keep_version=4)
    assert sorted(p.name for p in removed) == [
        ".tmp-old.5-aaaa.csv",
        "3-aaaa.csv",
        "3-aaaa.csv.json",
    ]
    left = sorted(p.name for p in folder.iterdir())
    assert left == [".tmp-new.5-aaaa.csv", "4-aaaa.csv", "4-aaaa.csv.json", "4-bbbb.json"]
    assert downloads.prune_cache(settings, "missing", keep_version=1) == []
