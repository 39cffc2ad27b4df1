"""The quality pages (数据质量) through real requests as each role: the dashboard shows the scores
of real runs over a lake table, the entry page adds, edits, switches and deletes rules and
applies suggestions, the run button queues a job whose progress ends in a link to the run,
and the run page shows failing samples to the provider's officer but not to the operator.

One SQLite store and one app for the module: the pages do not depend on the store.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govdata.app import create_app
from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.models import Job
from govdata.core.jobs.worker import Worker
from govdata.exchange import mounts
from govdata.exchange.models import Mount
from govdata.exchange.schemas import MountCreate
from govdata.governance import pages_quality as quality_pages
from govdata.governance import quality_rules, quality_runs
from govdata.governance.quality_models import QualityRule, QualityRun
from govdata.governance.quality_schemas import RuleIn, RunOut
from govdata.identity.schemas import RoleAssignmentIn
from govdata.lake.tables import Lake
from govdata.security.permissions import Role
from govdata.standards import resident_id
from tests.catalog.conftest import published_entry
from tests.conftest import fresh_store
from tests.identity.conftest import PASSWORD, Org, build_org
from tests.sharing.conftest import MAPPING, add_sqlite_source, entry_content, people_file
from tests.web.conftest import csrf_from

GOOD = [resident_id.make("630102", date(1990, 1, 1), 10 + i) for i in range(3)]
BAD_CHECK = GOOD[2][:17] + ("0" if GOOD[2][17] != "0" else "1")
# resident_id, name, phone, region_code, age: one missing name, one bad check digit, one
# 10-digit phone, one impossible age.
ROWS: list[tuple[Any, ...]] = [
    (GOOD[0], "张三", "13800001111", "630102", 36),
    (GOOD[1], None, "1390000222", "630102", 41),
    (BAD_CHECK, "王五", "13700003333", "630102", 34),
    (resident_id.make("632801", date(1985, 5, 5), 7), "赵六", "13600004444", "632801", 250),
]
SCHEMA = pa.schema(
    [
        ("resident_id", pa.string()),
        ("name", pa.string()),
        ("phone", pa.string()),
        ("region_code", pa.string()),
        ("age", pa.int64()),
    ]
)


def mounted(
    org: Org, tmp: Path, user: str, department: str, rows: list[tuple[Any, ...]], name: str
) -> str:
    """A published entry of ``user``'s department with a physical mount holding ``rows``."""
    entry = published_entry(org, user, **entry_content(name=name))
    source = add_sqlite_source(org, department, people_file(tmp / f"{entry.id[-8:]}.db"))
    with org.as_(user).act() as ctx:
        out = mounts.create_mount(
            ctx,
            MountCreate(
                entry_id=entry.id,
                source_id=source,
                target="people",
                mode="physical",
                columns=MAPPING,
                key_columns=["resident_id"],
            ),
        )
    with org.db.transaction() as s:
        mount = s.get(Mount, out.id)
        assert mount is not None and mount.lake_table
        table = mount.lake_table
    lake = Lake.from_settings(org.settings)
    if not lake.exists(table):
        lake.create(table, SCHEMA, entry_id=entry.id)
    lake.overwrite(table, pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in rows], SCHEMA))
    return str(entry.id)


def add_rule(org: Org, entry_id: str, user: str, **rule: Any) -> str:
    with org.as_(user).act() as ctx:
        return str(quality_rules.create_rule(ctx, entry_id, RuleIn(**rule)).id)


@dataclass
class QW:
    org: Org
    settings: Settings
    client: TestClient
    main: str  # 西宁市统计局's entry, collected, with five rules and one run
    run: RunOut
    rules: dict[str, str]  # kind -> rule id on ``main``
    haixi: str  # 海西州统计局's entry, not collected: its run failed
    failed_run: RunOut
    scratch: str  # 城东区卫生健康局's entry, collected, one rule, not run
    plain: str  # 西宁市统计局's entry without data: rule forms and suggestions


@pytest.fixture(scope="module")
def qw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QW]:
    tmp = tmp_path_factory.mktemp("quality_pages")
    store = fresh_store("sqlite", tmp, request)
    url = next(store)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key="quality-pages-" + "k" * 40,
        embedded_worker=False,
        ledger_seal_seconds=0,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        demo_mode=True,
    )
    db = Database(url)
    org = build_org(db, settings)
    org.add_user("cd_officer", RoleAssignmentIn(role=Role.DEPT_OFFICER), department="cd_health")
    org.add_user("secadmin", RoleAssignmentIn(role=Role.SECADMIN))
    org.add_user("auditor", RoleAssignmentIn(role=Role.AUDITOR))
    main = mounted(org, tmp, "xn_officer", "xn_stats", ROWS, "户籍人口基本信息")
    rules = {
        "not_null": add_rule(org, main, "xn_officer", kind="not_null", item="姓名"),
        "resident_id": add_rule(org, main, "xn_officer", kind="resident_id", item="公民身份号码"),
        "mobile": add_rule(org, main, "xn_officer", kind="mobile", item="手机号码"),
        "range": add_rule(
            org, main, "xn_officer", kind="range", item="年龄", params={"min": 0, "max": 150}
        ),
        "unique": add_rule(org, main, "xn_officer", kind="unique", item="公民身份号码"),
    }
    with org.as_("xn_officer").act() as ctx:
        run = quality_runs.run_entry(ctx, main)
    assert run.status == "succeeded", run.error_message
    haixi = published_entry(org, "hx_officer", **entry_content(name="海西人口信息")).id
    add_rule(org, haixi, "hx_officer", kind="not_null", item="姓名")
    with org.as_("hx_officer").act() as ctx:
        failed_run = quality_runs.run_entry(ctx, haixi)
    assert failed_run.status == "failed"
    scratch = mounted(org, tmp, "cd_officer", "cd_health", ROWS[:2], "城东区居民信息")
    add_rule(org, scratch, "cd_officer", kind="not_null", item="姓名")
    plain = published_entry(org, "xn_officer", **entry_content(name="流动人口登记")).id
    with TestClient(create_app(settings, migrate=False), follow_redirects=False) as client:
        yield QW(org, settings, client, main, run, rules, haixi, failed_run, scratch, plain)
    db.dispose()
    next(store, None)  # the rest of the generator: its clean-up


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303, r.text
    return csrf_from(client.get("/workbench").text)


def section(text: str, section_id: str) -> str:
    start = text.index(f'id="{section_id}"')
    return text[start : text.index("</section>", start)]


def row(text: str, key: str) -> str:
    start = text.index(f'data-key="{key}"')
    return text[start : text.index("</tr>", start)]


def result_row(text: str, rule_id: str) -> str:
    start = text.index(f'data-result="{rule_id}"')
    return text[start : text.index("</tr>", start)]


def chart(text: str, script_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{script_id}">(.*?)</script>', text)
    assert match, script_id
    return json.loads(html.unescape(match.group(1)))


def score(value: float | None) -> str:
    assert value is not None
    return f"{value:.1f}"


# -- dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_shows_the_scores_of_real_runs(qw: QW) -> None:
    c = qw.client
    sign_in(c, "operator")
    with qw.org.db.transaction() as s:
        xn_stats = qw.org.dept["xn_stats"]
        assert s.get(CatalogEntry, qw.main) is not None
    r = c.get("/quality")
    assert r.status_code == 200
    page = r.text
    assert "数据质量" in page and "按部门" in page and "按地区" in page
    # 4 rows: one missing name, one bad check digit (and one duplicate-free ID column), one
    # short phone, one impossible age; every figure below comes from that run.
    by_rule = {res.kind: res for res in qw.run.results}
    assert (by_rule["not_null"].checked, by_rule["not_null"].failed) == (4, 1)
    assert by_rule["resident_id"].failed == 1
    assert by_rule["mobile"].failed == 1
    assert by_rule["range"].failed == 1
    assert by_rule["unique"].failed == 0
    expected = score(qw.run.score)
    dept_row = row(section(page, "scores-department"), xn_stats)
    assert "西宁市统计局" in dept_row and f'data-score="{qw.run.score}"' in dept_row
    assert expected in dept_row
    # completeness: the not-null rule alone, 3 of 4 rows.
    assert qw.run.dimension_scores["completeness"] == 75.0
    assert re.search(r'data-dimension="completeness">75\.0<', dept_row)
    assert "西宁市" in section(page, "scores-region")
    entry_row = row(section(page, "scores-entry"), qw.main)
    assert f'href="/quality/entries/{qw.main}"' in entry_row and expected in entry_row
    # The charts carry the same figures.
    dept_chart = chart(page, "department-chart-data")
    assert qw.run.score in dept_chart["values"] and "西宁市统计局" in dept_chart["labels"]
    radar = chart(page, "radar-chart-data")
    # The dimensions some rule measured (none here is consistency or timeliness).
    assert radar["indicators"] == ["准确性", "完整性", "唯一性", "规范性"]
    assert radar["series"][0]["values"][1] == 75.0
    # Latest runs: both, the failed one with its reason; the status filter keeps one.
    runs = section(page, "latest-runs")
    assert f'href="/quality/runs/{qw.run.id}"' in runs
    assert f'href="/quality/runs/{qw.failed_run.id}"' in runs and "quality_no_data" in runs
    failed_only = section(c.get("/quality?status=failed").text, "latest-runs")
    assert qw.failed_run.id in failed_only and qw.run.id not in failed_only


def test_each_role_sees_its_own_scope(qw: QW) -> None:
    c = qw.client
    sign_in(c, "xn_clerk")  # 西宁市统计局's department user: read only, own department
    page = c.get("/quality").text
    assert qw.run.id in page and qw.failed_run.id not in page
    assert 'href="/quality"' in page  # the navigation item
    entry = c.get(f"/quality/entries/{qw.main}")
    assert entry.status_code == 200
    assert 'id="rule-form"' not in entry.text and 'id="run-now"' not in entry.text
    assert c.get(f"/quality/entries/{qw.haixi}").status_code == 404
    assert c.get(f"/quality/runs/{qw.failed_run.id}").status_code == 404
    sign_in(c, "xn_admin")  # Xining's region operator: Haixi is outside
    assert qw.run.id in c.get("/quality").text
    assert c.get(f"/quality/entries/{qw.haixi}").status_code == 404
    for outsider in ("secadmin", "auditor"):
        sign_in(c, outsider)
        r = c.get("/quality")
        assert r.status_code == 403, outsider
        assert 'href="/quality"' not in c.get("/workbench").text


def test_english_is_available(qw: QW) -> None:
    c = qw.client
    token = sign_in(c, "operator")
    r = c.post("/locale", data={"locale": "en", "next": "/quality", "csrf_token": token})
    assert r.status_code == 303
    page = c.get("/quality").text
    assert "Data quality" in page and "By department" in page and "Completeness" in page
    c.post("/locale", data={"locale": "zh_CN", "next": "/quality", "csrf_token": token})
    assert "数据质量" in c.get("/quality").text


# -- the entry page -----------------------------------------------------------------------------


def test_the_entry_page_lists_rules_trend_and_runs(qw: QW) -> None:
    c = qw.client
    sign_in(c, "xn_officer")
    page = c.get(f"/quality/entries/{qw.main}").text
    rules = section(page, "rules")
    for rule_id in qw.rules.values():
        assert f'data-rule="{rule_id}"' in rules
    assert "公民身份号码校验" in rules and "min=0" in rules and "max=150" in rules
    assert 'id="rule-form"' in page and 'id="run-now"' in page
    trend = chart(page, "trend-chart-data")
    assert trend["series"][0]["values"] == [qw.run.score]
    assert f'href="/quality/runs/{qw.run.id}"' in section(page, "entry-runs")
    # The catalog entry page links here from its mount card.
    catalog = c.get(f"/catalog/entries/{qw.main}").text
    assert f'href="/quality/entries/{qw.main}"' in section(catalog, "entry-mount")


def test_the_add_rule_form_creates_a_rule_and_shows_what_is_wrong(qw: QW) -> None:
    c = qw.client
    token = sign_in(c, "xn_officer")
    url = f"/quality/entries/{qw.plain}/rules"
    r = c.post(
        url,
        data={
            "csrf_token": token,
            "kind": "pattern",
            "item": "户籍地区划",
            "severity": "4",
            "name": "区划代码六位",
            "pattern.regex": r"63\d{4}",
            "length.min": "ignored: another kind's field",
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/quality/entries/{qw.plain}?done=created"
    page = c.get(r.headers["location"]).text
    assert "规则已添加" in page
    with qw.org.db.transaction() as s:
        rule = s.scalars(select(QualityRule).where(QualityRule.entry_id == qw.plain)).one()
        assert (rule.kind, rule.item, rule.params, rule.severity, rule.name) == (
            "pattern",
            "户籍地区划",
            {"regex": r"63\d{4}"},
            4,
            "区划代码六位",
        )
        assert rule.origin == "manual" and rule.dimension == "validity"
    assert f'data-rule="{rule.id}"' in section(page, "rules")
    # A custom condition over the whole table: no item, the predicate from its textarea.
    r = c.post(
        url,
        data={
            "csrf_token": token,
            "kind": "custom",
            "item": "姓名",
            "custom.predicate": "age >= 0",
        },
    )
    assert r.status_code == 303, r.text
    # What is wrong comes back in Chinese, with the form filled as typed.
    bad = {
        "a number": (
            {"kind": "range", "item": "年龄", "range.min": "十八"},
            "参数“最小值”须为数字",
        ),
        "an unknown item": ({"kind": "not_null", "item": "不存在的项"}, "信息项 不存在的项 不存在"),
        "a statement": (
            {"kind": "custom", "custom.predicate": "1; DROP TABLE people"},
            "自定义规则条件无效",
        ),
        "a missing parameter": ({"kind": "pattern", "item": "姓名"}, "参数不完整"),
    }
    for case, (fields, message) in bad.items():
        r = c.post(url, data={"csrf_token": token, **fields})
        assert r.status_code == 422, (case, r.status_code)
        assert 'role="alert"' in r.text and message in html.unescape(r.text), case
        assert "<details open>" in r.text.replace("\n", ""), case
    assert 'value="十八"' in c.post(url, data={"csrf_token": token, **bad["a number"][0]}).text
    with qw.org.db.transaction() as s:
        kinds = s.scalars(select(QualityRule.kind).where(QualityRule.entry_id == qw.plain))
        assert sorted(kinds) == ["custom", "pattern"]
    # A department user may read the rules but not add one.
    clerk = sign_in(c, "xn_clerk")
    r = c.post(url, data={"csrf_token": clerk, "kind": "not_null", "item": "姓名"})
    assert r.status_code == 403


def test_rules_are_edited_switched_off_and_deleted(qw: QW) -> None:
    c = qw.client
    rule_id = add_rule(
        qw.org, qw.plain, "xn_officer", kind="length", item="姓名", params={"min": 1, "max": 50}
    )
    token = sign_in(c, "xn_officer")
    r = c.post(
        f"/quality/rules/{rule_id}/edit",
        data={
            "csrf_token": token,
            "entry": qw.plain,
            "kind": "length",
            "name": "姓名长度",
            "severity": "5",
            "dimension": "accuracy",
            "length.min": "2",
            "length.max": "20",
        },
    )
    assert r.status_code == 303, r.text
    with qw.org.db.transaction() as s:
        rule = s.get(QualityRule, rule_id)
        assert rule is not None
        assert (rule.name, rule.severity, rule.dimension, rule.params) == (
            "姓名长度",
            5,
            "accuracy",
            {"min": 2, "max": 20},
        )
    r = c.post(
        f"/quality/rules/{rule_id}/edit",
        data={"csrf_token": token, "entry": qw.plain, "kind": "length", "length.min": "两"},
    )
    assert r.status_code == 422 and "参数“最小长度”须为数字" in html.unescape(r.text)
    r = c.post(f"/quality/rules/{rule_id}/toggle", data={"csrf_token": token, "enabled": "0"})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert re.search(rf'data-rule="{rule_id}" data-kind="length" data-enabled="off"', page)
    r = c.post(f"/quality/rules/{rule_id}/delete", data={"csrf_token": token, "entry": qw.plain})
    assert r.status_code == 303
    assert f'data-rule="{rule_id}"' not in c.get(r.headers["location"]).text
    with qw.org.db.transaction() as s:
        assert s.get(QualityRule, rule_id) is None
    # Another department's officer may not touch the rules.
    other = add_rule(qw.org, qw.plain, "xn_officer", kind="not_null", item="年龄")
    hx = sign_in(c, "hx_officer")
    r = c.post(f"/quality/rules/{other}/delete", data={"csrf_token": hx, "entry": qw.plain})
    assert r.status_code == 404


def test_suggestions_are_shown_with_reasons_and_applied_by_kind(qw: QW) -> None:
    c = qw.client
    token = sign_in(c, "xn_officer")
    page = c.get(f"/quality/entries/{qw.plain}?suggest=1").text
    box = section(page, "suggestions")
    assert "须符合 GB 11643" in box  # the resident-ID item's reason
    assert 'data-suggestion="resident_id:公民身份号码"' in box
    assert 'value="unique"' in box and 'value="freshness"' in box
    url = f"/quality/entries/{qw.plain}/suggestions/apply"
    r = c.post(url, data={"csrf_token": token, "scope": "selected"})
    assert r.status_code == 422 and "请至少勾选一类建议规则" in r.text
    r = c.post(
        url, data={"csrf_token": token, "scope": "selected", "kind": ["resident_id", "unique"]}
    )
    assert r.status_code == 303
    with qw.org.db.transaction() as s:
        suggested = s.execute(
            select(QualityRule.kind, QualityRule.item).where(
                QualityRule.entry_id == qw.plain, QualityRule.origin == "suggested"
            )
        ).all()
    assert sorted(suggested) == [("resident_id", "公民身份号码"), ("unique", "公民身份号码")]
    page = c.get(f"/quality/entries/{qw.plain}?suggest=1").text
    assert "已添加" in section(page, "suggestions")
    assert 'value="resident_id"' not in section(page, "suggestion-kinds")
    r = c.post(url, data={"csrf_token": token, "scope": "all"})
    assert r.status_code == 303
    with qw.org.db.transaction() as s:
        kinds = set(
            s.scalars(
                select(QualityRule.kind).where(
                    QualityRule.entry_id == qw.plain, QualityRule.origin == "suggested"
                )
            )
        )
    assert {"not_null", "resident_id", "unique", "freshness", "row_count"} <= kinds


def test_the_run_button_queues_a_job_whose_progress_ends_at_the_run(qw: QW) -> None:
    c = qw.client
    token = sign_in(c, "cd_officer")
    r = c.post(f"/quality/entries/{qw.scratch}/run", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    match = re.search(r"job=([0-9a-f-]+)", r.headers["location"])
    assert match and "done=queued" in r.headers["location"]
    job_id = match.group(1)
    with qw.org.db.transaction() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.kind == quality_runs.JOB_KIND
        assert job.payload == {"entry_id": qw.scratch, "trigger": "manual"}
    page = c.get(r.headers["location"]).text
    panel = section(page, "run-job")
    assert 'data-job-status="queued"' in panel and f'hx-get="/quality/jobs/{job_id}"' in panel
    Worker(qw.org.db, qw.settings).run_until_idle()
    fragment = c.get(f"/quality/jobs/{job_id}").text
    assert 'data-job-status="succeeded"' in fragment and "hx-get" not in fragment
    link = re.search(r'id="run-result" href="/quality/runs/([0-9a-f-]+)"', fragment)
    assert link
    run_page = c.get(f"/quality/runs/{link.group(1)}").text
    assert "城东区居民信息" in run_page and 'data-checked="2"' in run_page
    # No enabled rule: the button says so instead of queueing.
    with qw.org.db.transaction() as s:
        for rule in s.scalars(select(QualityRule).where(QualityRule.entry_id == qw.scratch)):
            rule.enabled = False
    r = c.post(f"/quality/entries/{qw.scratch}/run", data={"csrf_token": token})
    assert r.status_code == 422 and "该目录尚未配置启用的质量规则" in r.text


# -- the run page -------------------------------------------------------------------------------


def test_the_run_page_shows_samples_to_the_officer_and_withholds_them_from_the_operator(
    qw: QW,
) -> None:
    c = qw.client
    sign_in(c, "xn_officer")
    page = c.get(f"/quality/runs/{qw.run.id}").text
    nn = result_row(page, qw.rules["not_null"])
    assert 'data-checked="4"' in nn and 'data-failed="1"' in nn and "75.00%" in nn
    assert 'data-pass-rate=""' not in nn
    assert f'data-samples="{qw.rules["range"]}"' in page
    ages = page[page.index(f'data-samples="{qw.rules["range"]}"') :]
    assert ">250<" in ages[: ages.index("</table>")]
    assert 'id="samples-withheld"' not in page
    dims = section(page, "run-dimensions")
    assert re.search(r'data-dimension="completeness"><td>完整性</td><td class="num">', dims)
    assert 'data-score="75.0"' in dims
    sign_in(c, "operator")
    page = c.get(f"/quality/runs/{qw.run.id}").text
    assert 'id="samples-withheld"' in page and "data-samples=" not in page
    assert f'data-withheld="{qw.rules["range"]}"' in page
    assert 'data-failed="1"' in result_row(page, qw.rules["range"])
    # A failed run shows why.
    page = c.get(f"/quality/runs/{qw.failed_run.id}").text
    assert "quality_no_data" in section_or_all(page, "run-error")


def section_or_all(text: str, element_id: str) -> str:
    start = text.index(f'id="{element_id}"')
    return text[start : text.index("</div>", start)]


def test_runs_are_listed_a_page_at_a_time_and_a_scope_without_scores_says_so(qw: QW) -> None:
    # Older failed runs of Haixi's entry than any other: the first page is the newest.
    with qw.org.db.transaction() as s:
        first = s.get(QualityRun, qw.failed_run.id)
        assert first is not None
        for i in range(quality_pages.PAGE_SIZE + 2):
            s.add(
                QualityRun(
                    entry_id=qw.haixi,
                    resource_code=first.resource_code,
                    entry_name=first.entry_name,
                    department_id=first.department_id,
                    region_path=first.region_path,
                    trigger="schedule",
                    status="failed",
                    started_at=first.started_at - timedelta(days=30, minutes=i),
                    finished_at=first.started_at - timedelta(days=30, minutes=i),
                    dimension_scores={},
                    error_code="quality_no_data",
                )
            )
    c = qw.client
    sign_in(c, "hx_officer")
    page = c.get("/quality?status=failed").text
    runs = section(page, "latest-runs")
    assert runs.count("data-run=") == quality_pages.PAGE_SIZE
    assert f'data-run="{qw.failed_run.id}"' in runs
    # No successful run in Haixi: no scores, said plainly.
    assert "尚无质量检查记录" in section(page, "scores-department")
    assert 'id="chart-dimensions"' not in page
    more = re.search(r'href="\?(status=failed&amp;cursor=[^"]+)">下一页', runs)
    assert more, runs[-600:]
    rest = section(c.get(f"/quality?{html.unescape(more.group(1))}").text, "latest-runs")
    assert rest.count("data-run=") == 3 and qw.failed_run.id not in rest
    # The entry page pages its runs the same way.
    entry = section(c.get(f"/quality/entries/{qw.haixi}").text, "entry-runs")
    assert entry.count("data-run=") == quality_pages.PAGE_SIZE and "下一页" in entry
