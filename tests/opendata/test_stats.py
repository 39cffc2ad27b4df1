"""Usage statistics: exact sums by month, dataset and publisher over a range, the public
view (public datasets only) against the government side's (its scope, any status), the
pages, the exports and the public REST endpoint."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from govdata.app import create_app
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.opendata import datasets, stats, usage
from govdata.opendata.schemas import WithdrawIn
from govdata.opendata.vocab import UsageKind
from tests.identity.conftest import PASSWORD, Org
from tests.opendata.fixtures import Opened, opened_schools
from tests.web.conftest import login

R = {"from_month": "2026-01", "to_month": "2026-03"}


@pytest.fixture
def client(org: Org) -> Iterator[TestClient]:
    # Demo mode lets the operator sign in with a password alone (no TOTP enrolment).
    settings = org.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(settings), follow_redirects=False) as c:
        yield c


def _usage(org: Org, tmp_path: Path) -> tuple[Opened, Opened]:
    a = opened_schools(org, tmp_path)
    b = opened_schools(org, tmp_path, name="全省幼儿园名录")
    xn, hx = org.dept["xn_stats"], org.dept["hx_stats"]
    counts = [
        (a, xn, "2026-01", UsageKind.VIEW, 10),
        (a, xn, "2026-01", UsageKind.DOWNLOAD, 3),
        (a, xn, "2026-01", UsageKind.CALL, 1),
        (a, xn, "2026-02", UsageKind.VIEW, 5),
        (a, xn, "2026-02", UsageKind.DOWNLOAD, 2),
        # Counted under another department: the publisher rows follow the usage row's.
        (b, hx, "2026-02", UsageKind.VIEW, 7),
        (b, hx, "2026-02", UsageKind.CALL, 4),
        (b, hx, "2025-12", UsageKind.VIEW, 100),  # before the range
    ]
    with org.db.transaction(immediate=True) as s:
        for ds, dept, month, kind, n in counts:
            usage.record_usage(s, ds.dataset_id, dept, kind, n, month=month)
    return a, b


def _triples(out: stats.UsageStats) -> list[tuple[str, int, int, int]]:
    return [(r.key, r.views, r.downloads, r.calls) for r in out.rows]


def test_sums_by_month_dataset_and_publisher(org: Org, tmp_path: Path) -> None:
    a, b = _usage(org, tmp_path)
    with org.db.sessions() as s:
        by_month = stats.public_stats(s, by="month", **R)
        assert _triples(by_month) == [
            ("2026-01", 10, 3, 1),
            ("2026-02", 12, 2, 4),
            ("2026-03", 0, 0, 0),
        ]
        assert by_month.totals.model_dump() == {"views": 22, "downloads": 5, "calls": 5}
        by_ds = stats.public_stats(s, by="dataset", **R)
        assert _triples(by_ds) == [(a.name, 15, 5, 1), (b.name, 7, 0, 4)]
        assert by_ds.rows[0].label == "全省中小学校名录" and by_ds.rows[0].publisher
        assert _triples(stats.public_stats(s, by="dataset", limit=1, **R)) == [(a.name, 15, 5, 1)]
        by_pub = stats.public_stats(s, by="publisher", **R)
        assert _triples(by_pub) == [("xn_stats", 15, 5, 1), ("hx_stats", 7, 0, 4)]
        assert by_pub.rows[1].label == "海西州统计局"
        wide = stats.public_stats(s, by="month", from_month="2025-12", to_month="2026-02")
        assert wide.totals.views == 122 and next(r.key for r in wide.rows) == "2025-12"
    # Withdrawn: off the public statistics, still on the government side's.
    with org.as_("operator").act() as ctx:
        datasets.withdraw_dataset(ctx, b.dataset_id, WithdrawIn(reason="停止开放"))
    with org.db.sessions() as s:
        public = stats.public_stats(s, by="dataset", **R)
    assert _triples(public) == [(a.name, 15, 5, 1)] and public.totals.views == 15
    with org.as_("operator").act() as ctx:
        internal = stats.internal_stats(ctx, by="dataset", **R)
        assert _triples(internal) == [(a.name, 15, 5, 1), (b.name, 7, 0, 4)]
    with org.as_("xn_officer").act() as ctx:
        assert stats.internal_stats(ctx, by="month", **R).totals.views == 22
        narrowed = stats.internal_stats(ctx, by="month", department_id=org.dept["hx_stats"], **R)
        assert narrowed.totals.views == 0
    with org.as_("hx_officer").act() as ctx:
        assert stats.internal_stats(ctx, by="month", **R).totals.views == 0
    with pytest.raises(PermissionDenied), org.as_("xn_clerk").act() as ctx:
        stats.internal_stats(ctx, **R)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"from_month": "2026-13"}, "opendata_month_invalid"),
        ({"from_month": "2026-03", "to_month": "2026-01"}, "opendata_month_invalid"),
        ({"to_month": "26-01"}, "opendata_month_invalid"),
        ({"by": "region"}, "opendata_stats_by_invalid"),
    ],
)
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_bad_ranges_are_refused(org: Org, kw: dict[str, str], code: str) -> None:
    with org.db.sessions() as s, pytest.raises(InvalidInput) as exc:
        stats.public_stats(s, **kw)
    assert exc.value.code == code


def test_default_range_is_the_last_twelve_months(org: Org) -> None:
    with org.db.sessions() as s:
        out = stats.public_stats(s)
    assert len(out.rows) == 12 and out.to_month == usage.month_now()
    assert all(r.views == 0 for r in out.rows)


def test_public_page_exports_and_rest(org: Org, tmp_path: Path, client: TestClient) -> None:
    a, _b = _usage(org, tmp_path)
    page = client.get("/open/stats?from=2026-01&to=2026-03")
    assert page.status_code == 200
    text = page.text
    assert '<span class="stat-value" data-total="views">22</span>' in text
    assert 'data-month="2026-02"><th scope="row">2026-02</th><td class="num">12</td>' in text
    assert f'data-dataset="{a.name}"' in text and 'data-publisher="hx_stats"' in text
    chart = re.search(r'id="stats-month-data">(.*?)</script>', text, re.S)
    assert chart is not None
    data = json.loads(chart.group(1))
    assert data["labels"] == ["2026-01", "2026-02", "2026-03"]
    assert [s["values"] for s in data["series"]] == [[10, 12, 0], [3, 2, 0], [1, 4, 0]]
    assert "/static/js/opendata_stats.js" in text and "浏览量" in text
    assert "/static/css/open.css" in text  # the portal's own stylesheet, not replaced
    bad = client.get("/open/stats?from=2026-05&to=2026-01")
    assert bad.status_code == 422 and "alert-error" in bad.text
    # The form shows what was typed after an error, the range shown otherwise.
    assert 'name="from" value="2026-05"' in bad.text
    assert 'name="to" value="2026-03"' in text

    got = client.get("/open/stats/export.csv?from=2026-01&to=2026-03")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content[3:].decode())))
    assert rows[0][0] == "月份" and len(rows) == 1 + 3
    assert rows[1] == ["2026-01", "全省中小学校名录", a.name, "西宁市统计局", "10", "3", "1"]
    xlsx = client.get("/open/stats/export.xlsx?from=2026-01&to=2026-03")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert wb.sheetnames == ["按月", "按部门", "按数据集", "明细"]
    months = [list(r) for r in wb["按月"].iter_rows(values_only=True)]
    assert months[1] == ["2026-01", 10, 3, 1] and months[-1] == ["合计", 22, 5, 5]
    assert client.get("/open/stats/export.pdf").status_code == 404

    api = client.get("/api/v1/opendata/stats?by=publisher&from=2026-01&to=2026-03")
    assert api.status_code == 200
    body = api.json()
    assert body["totals"] == {"views": 22, "downloads": 5, "calls": 5}
    assert [(r["key"], r["views"]) for r in body["rows"]] == [("xn_stats", 15), ("hx_stats", 7)]
    wrong = client.get("/api/v1/opendata/stats?from=2026-05&to=2026-01")
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "opendata_month_invalid"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_internal_page_per_role(org: Org, tmp_path: Path, client: TestClient) -> None:
    _a, b = _usage(org, tmp_path)
    with org.as_("operator").act() as ctx:
        datasets.withdraw_dataset(ctx, b.dataset_id, WithdrawIn(reason="停止开放"))
    login(client, "operator", PASSWORD)
    page = client.get("/opendata/stats?from=2026-01&to=2026-03")
    assert page.status_code == 200
    assert '<span class="stat-value" data-total="views">22</span>' in page.text
    assert f'data-dataset="{b.name}"' in page.text
    assert 'name="department"' in page.text
    export = client.get(
        f"/opendata/stats/export.xlsx?from=2026-01&to=2026-03&department={org.dept['xn_stats']}"
    )
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert client.get("/open/stats?from=2026-01&to=2026-03").text.count("data-dataset=") == 1
    client.cookies.clear()
    login(client, "xn_clerk", PASSWORD)
    assert client.get("/opendata/stats").status_code == 403
    assert client.get("/opendata/stats/export.csv").status_code == 403
