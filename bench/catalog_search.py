"""Catalog search at 100k entries, as a ratio to the bare full-text query on the same index.

Builds a catalog of ``--entries`` realistic entries (fixed seed: names, summaries,
keywords and items from the vocabulary of the seeded classification tree, 126
departments in Qinghai's 9 regions, 90 % published) by bulk inserts into a fresh
SQLite file and a fresh PostgreSQL database (dropped afterwards), with the search
text segmented by the platform's own ``index_text``. Then, for each query:

* platform: ``search.search_entries`` through ``Caller(...).act()`` as a department
  user (visibility, synonyms, ranking tiers, nine facets, total, one page of 20);
* direct:   the same full-text expression straight on the index — SQLite
  ``catalog_fts MATCH`` ordered by ``bm25`` with ``LIMIT 20`` plus a ``count(*)``;
  PostgreSQL ``@@ to_tsquery`` on the indexed vector column ordered by ``ts_rank``
  with ``LIMIT 20`` plus a ``count(*)``.

p50 / p95 over ``--runs`` timed runs after warm-up, and platform/direct ratios.

    python bench/catalog_search.py                       # both stores, 100k entries
    python bench/catalog_search.py --entries 20000 --only sqlite
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from govdata.catalog import search
from govdata.catalog.facet_cache import FACET_CACHE
from govdata.catalog.models import CatalogEntry, EntryItem, EntryVersion, SearchDoc
from govdata.catalog.search_text import expand, fts5_query, pg_tsquery, tokens
from govdata.catalog.synonyms import seed_default_synonyms
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.identity import actions as identity
from govdata.identity import auth
from govdata.identity.models import User
from govdata.identity.schemas import DepartmentCreate, RegionCreate, RoleAssignmentIn, UserCreate
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.permissions import Role
from govdata.standards import uscc

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
BENCH_DB = "govdata_bench_catalog"
SEED = 20261125
QUERIES = [
    "户籍",
    "营业执照",
    "低保",
    "社保缴费",
    "不动产登记",
    "公积金",
    "医疗机构",
    "企业 年报",
    "行政处罚",
    "格尔木 人口",
]
BROWSE = "(浏览, 无 q)"

REGIONS = [
    ("630000", "青海省", None, "省"),
    ("630100", "西宁市", "630000", "西宁市"),
    ("630200", "海东市", "630000", "海东市"),
    ("632200", "海北藏族自治州", "630000", "海北州"),
    ("632300", "黄南藏族自治州", "630000", "黄南州"),
    ("632500", "海南藏族自治州", "630000", "海南州"),
    ("632600", "果洛藏族自治州", "630000", "果洛州"),
    ("632700", "玉树藏族自治州", "630000", "玉树州"),
    ("632800", "海西蒙古族藏族自治州", "630000", "海西州"),
]
BUREAUS = [
    ("police", "公安局", "公安厅"),
    ("market", "市场监督管理局", "市场监督管理局"),
    ("hrss", "人力资源和社会保障局", "人力资源和社会保障厅"),
    ("civil", "民政局", "民政厅"),
    ("land", "自然资源局", "自然资源厅"),
    ("health", "卫生健康委员会", "卫生健康委员会"),
    ("housing", "住房和城乡建设局", "住房和城乡建设厅"),
    ("stats", "统计局", "统计局"),
    ("medins", "医疗保障局", "医疗保障局"),
    ("edu", "教育局", "教育厅"),
    ("transport", "交通运输局", "交通运输厅"),
    ("agri", "农业农村局", "农业农村厅"),
    ("env", "生态环境局", "生态环境厅"),
    ("fund", "住房公积金管理中心", "住房公积金管理中心"),
]
# Which bureaus catalogue which classification 项 (first three digits).
BUREAU_CLASSES = {
    "police": ["101", "105", "212"],
    "market": ["102", "104", "204", "206", "306"],
    "hrss": ["203", "201"],
    "civil": ["203", "101", "210"],
    "land": ["103", "305"],
    "health": ["202", "204"],
    "housing": ["209", "307"],
    "stats": ["302", "301"],
    "medins": ["202"],
    "edu": ["213", "309"],
    "transport": ["214", "307"],
    "agri": ["215", "308"],
    "env": ["211", "305"],
    "fund": ["209"],
}
QUALIFIERS = ["", "", "全省", "城镇", "农村牧区", "城乡", "年度", "季度", "历史", "新增", "重点"]
SUFFIXES = ["", "信息", "明细", "统计表", "台账", "名单", "记录", "汇总", "目录", "数据"]
EXTRA_SUBJECTS = {
    "101": ["户籍人口", "常住人口", "户口迁移"],
    "102": ["企业营业执照", "企业年报", "个体工商户登记"],
    "103": ["不动产登记", "国有土地使用权"],
    "104": ["行政处罚", "失信被执行人"],
    "202": ["医疗机构执业登记", "医保定点医疗机构"],
    "203": ["低保对象", "社保缴费", "最低生活保障金发放", "特困人员供养"],
    "209": ["住房公积金缴存", "公积金贷款", "公租房保障"],
}
GENERIC_ITEMS = [
    ("姓名", "name"),
    ("单位名称", "org_name"),
    ("登记日期", "reg_date"),
    ("地址", "address"),
    ("联系电话", "phone"),
    ("行政区划代码", "division_code"),
    ("审批日期", "approval_date"),
    ("数据更新时间", "updated_at"),
    ("备注", "remark"),
    ("经办人", "handler"),
    ("状态", "status"),
]
# Items typical of one classification 项 (first three digits).
CLASS_ITEMS = {
    "101": [
        ("公民身份号码", "resident_id"),
        ("户籍地址", "household_address"),
        ("户口类型", "hukou_type"),
    ],
    "102": [
        ("统一社会信用代码", "uscc"),
        ("营业执照注册号", "licence_no"),
        ("法定代表人", "legal_rep"),
    ],
    "103": [("不动产单元号", "property_unit"), ("宗地面积", "parcel_area"), ("权利人", "owner")],
    "104": [
        ("处罚决定书文号", "penalty_no"),
        ("统一社会信用代码", "uscc"),
        ("失信行为", "default"),
    ],
    "105": [("证照编号", "certificate_no"), ("持证主体", "holder"), ("有效期", "valid_until")],
    "202": [("医疗机构名称", "hospital_name"), ("诊疗科目", "departments"), ("床位数", "beds")],
    "203": [
        ("公民身份号码", "resident_id"),
        ("缴费基数", "contribution_base"),
        ("发放金额", "amount"),
    ],
    "209": [("公积金账号", "fund_account"), ("缴存基数", "deposit_base"), ("项目名称", "project")],
    "211": [("监测点位", "site"), ("污染物名称", "pollutant"), ("监测值", "value")],
    "214": [("车牌号码", "plate_no"), ("道路运输证号", "transport_permit"), ("线路名称", "route")],
}
SUMMARY = [
    "{region}{bureau}归集的{subject}，包括{a}、{b}等内容，用于政务服务和监管。",
    "记录{subject}的{a}和{b}，由{bureau}按{cycle}更新。",
    "{subject}数据，支撑“一网通办”事项办理，涉及{a}、{b}。",
]
FORMATS = ["database", "database", "database", "api", "spreadsheet", "document", "other"]
CYCLES = ["daily", "daily", "monthly", "monthly", "quarterly", "yearly", "realtime", "irregular"]
CYCLE_ZH = {"daily": "日", "monthly": "月", "quarterly": "季度", "yearly": "年"}
SHARES = ["unconditional", "unconditional", "conditional", "conditional", "none"]
OPENS = ["closed", "closed", "closed", "conditional", "open"]
STATUSES = ["published"] * 90 + ["draft"] * 5 + ["submitted"] * 3 + ["withdrawn"] * 2


@lru_cache(maxsize=200_000)
def segment(text: str) -> str:
    return search.index_text(text)


# Building the store --------------------------------------------------------------------------


def build_org(db: Database, settings: Settings) -> tuple[list[dict[str, Any]], Caller]:
    caller = Caller(db, settings, SYSTEM)
    depts: list[dict[str, Any]] = []
    with caller.act() as ctx:
        for code, name, parent, _ in REGIONS:
            identity.create_region(ctx, RegionCreate(code=code, name=name, parent_code=parent))
        n = 0
        for code, name, _, short in REGIONS:
            for key, city_name, province_name in BUREAUS:
                n += 1
                full = ("青海省" + province_name) if code == "630000" else (name + city_name)
                out = identity.create_department(
                    ctx,
                    DepartmentCreate(
                        code=f"{key}_{code}",
                        name=full,
                        credit_code=uscc.make("1", "1", code, f"MB{n:06d}"),
                        region_code=code,
                    ),
                )
                depts.append({**out.model_dump(), "bureau": key, "short": short})
        target = next(d for d in depts if d["code"] == "market_630100")
        identity.create_user(
            ctx,
            UserCreate(
                username="bench_user",
                display_name="检索用户",
                password="Bench@2026-x",
                department_id=target["id"],
                roles=[RoleAssignmentIn(role=Role.DEPT_USER)],
            ),
        )
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == "bench_user")).one()
        actor = auth.actor_for_user(user)
    return depts, Caller(db, settings, actor)


def generate(
    n: int, depts: list[dict[str, Any]], classes: dict[str, dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[str, Any]]]:
    """Rows of one entry: the entry, its version, its items, its search text."""
    rng = random.Random(SEED)
    by_item: dict[str, list[dict[str, Any]]] = {}
    for cls in classes.values():
        if len(cls["code"]) == 6:
            by_item.setdefault(cls["code"][:3], []).append(cls)
    start = now() - timedelta(days=700)
    for i in range(n):
        dept = rng.choice(depts)
        item = rng.choice([c for c in BUREAU_CLASSES[dept["bureau"]] if c in by_item])
        cls = rng.choice(by_item[item])
        base = cls["name"].removesuffix("信息")
        subject = rng.choice([base, base, *EXTRA_SUBJECTS.get(item, [])])
        qual = rng.choice(QUALIFIERS)
        prefix = dept["short"] if rng.random() < 0.5 and dept["short"] != "省" else ""
        name = f"{prefix}{qual}{subject}{rng.choice(SUFFIXES)}"
        pool = [*GENERIC_ITEMS, *CLASS_ITEMS.get(item, [])]
        items = rng.sample(pool, rng.randint(3, 8))
        cycle = rng.choice(CYCLES)
        summary = rng.choice(SUMMARY).format(
            region=dept["region_name"],
            bureau=dept["name"],
            subject=subject,
            a=items[0][0],
            b=items[1][0],
            cycle=CYCLE_ZH.get(cycle, "需"),
        )
        status = rng.choice(STATUSES)
        stamp = start + timedelta(minutes=i * 7 + rng.randint(0, 6))
        entry_id, version_id = new_id(), new_id()
        share, grade = rng.choice(SHARES), rng.choice([1, 1, 2, 2, 3, 4])
        fmt, open_type = rng.choice(FORMATS), rng.choice(OPENS)
        keywords = [subject, dept["short"]]
        entry = {
            "id": entry_id,
            "resource_code": f"{cls['code']}/{i + 1:06d}",
            "classification_id": cls["id"],
            "class_code": cls["code"],
            "category": cls["category"],
            "provider_department_id": dept["id"],
            "provider_code": dept["code"],
            "provider_name": dept["name"],
            "provider_credit_code": dept["credit_code"],
            "region_code": dept["region_code"],
            "region_path": dept["region_path"],
            "origin": "local",
            "upper_code": None,
            "status": status,
            "working_status": None if status in ("published", "withdrawn") else status,
            "name": name,
            "share_type": share,
            "open_type": open_type,
            "grade": grade,
            "format": fmt,
            "update_cycle": cycle,
            "item_count": len(items),
            "published_at": stamp if status == "published" else None,
            "published_version_id": version_id if status == "published" else None,
            "working_version_id": None if status == "published" else version_id,
            "latest_version_no": 1,
            "withdrawn_at": None,
            "withdrawn_reason": None,
            "created_by": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        version = {
            "id": version_id,
            "entry_id": entry_id,
            "version_no": 1,
            "status": status,
            "name": name,
            "summary": summary,
            "format": fmt,
            "share_type": share,
            "share_modes": ["api"],
            "open_type": open_type,
            "update_cycle": cycle,
            "related_codes": [],
            "keywords": keywords,
            "grade": grade,
            "conformance": [],
            "review_reasons": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        item_rows = [
            {
                "id": new_id(),
                "version_id": version_id,
                "position": p,
                "name": zh,
                "name_en": en,
                "data_type": "string",
                "is_key": p == 0,
                "is_sensitive": False,
                "grade": grade,
                "share_type": share,
            }
            for p, (zh, en) in enumerate(items)
        ]
        class_names = [classes[cls["code"][:k]]["name"] for k in (1, 3, 6)]
        parts = [summary, *keywords, *(f"{zh}\n{en}" for zh, en in items), dept["name"]]
        body = "\n".join([*parts, *class_names, entry["resource_code"]])
        # Fields are joined by newlines, which jieba never reads across: the text of the whole
        # body is the texts of its parts, so repeated parts are segmented once.
        assert "\n".join(parts) in body
        doc = {
            "entry_id": entry_id,
            "name_tokens": segment(name),
            "body_tokens": " ".join(t for t in map(segment, body.split("\n")) if t),
        }
        yield entry, version, item_rows, doc


def load(db: Database, rows: list[Any]) -> float:
    started = time.perf_counter()
    tables = [
        CatalogEntry.__table__,
        EntryVersion.__table__,
        EntryItem.__table__,
        SearchDoc.__table__,
    ]
    chunk = 5000
    with db.engine.begin() as conn:
        for lo in range(0, len(rows), chunk):
            part = rows[lo : lo + chunk]
            for k, table in enumerate(tables):
                values = [r[k] for r in part]
                if k == 2:
                    values = [item for items in values for item in items]
                conn.execute(table.insert(), values)
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql("INSERT INTO catalog_fts(catalog_fts) VALUES ('optimize')")
        conn.exec_driver_sql("ANALYZE")
    with db.transaction() as s:
        seed_default_synonyms(s)
    return time.perf_counter() - started


# Measuring -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def direct_fn(db: Database, q: str | None) -> Callable[[], Any]:
    """The bare index query: the same expanded full-text expression, LIMIT 20, and a count."""
    if q is None:
        page = "SELECT id FROM catalog_entries ORDER BY updated_at DESC, id DESC LIMIT 20"
        count = "SELECT count(*) FROM catalog_entries"
        params: dict[str, Any] = {}
    else:
        with db.transaction() as s:
            groups = expand(s, tokens(q))
        if db.dialect == "sqlite":
            params = {"q": fts5_query(groups)}
            page = (
                "SELECT s.entry_id FROM catalog_fts JOIN catalog_search s "
                "ON s.id = catalog_fts.rowid WHERE catalog_fts MATCH :q "
                "ORDER BY bm25(catalog_fts, 10.0, 1.0) LIMIT 20"
            )
            count = "SELECT count(*) FROM catalog_fts WHERE catalog_fts MATCH :q"
        else:
            params = {"q": pg_tsquery(groups)}
            vec, tsq = "catalog_fts_vector", "to_tsquery('simple', :q)"
            page = (
                f"SELECT entry_id FROM catalog_search WHERE {vec} @@ {tsq} "
                f"ORDER BY ts_rank({vec}, {tsq}, 32) DESC LIMIT 20"
            )
            count = f"SELECT count(*) FROM catalog_search WHERE {vec} @@ {tsq}"

    def run() -> Any:
        with db.engine.connect() as conn:
            ids = conn.execute(text(page), params).all()
            total = conn.execute(text(count), params).scalar_one()
        return ids, total

    return run


def platform_fn(caller: Caller, q: str | None, *, cold: bool = True) -> Callable[[], Any]:
    """One search; ``cold`` empties the facet cache first, so every run counts its facets."""
    params = search.make_params(q=q)

    def run() -> Any:
        if cold:
            FACET_CACHE.clear()
        with caller.act() as ctx:
            return search.search_entries(ctx, params)

    return run


def measure(label: str, db: Database, caller: Caller, runs: int, warmup: int) -> list[str]:
    lines = [
        f"\n{label}",
        f"{'query':<14}{'matches':>9}{'shown':>7} | {'platform p50':>12}{'p95':>8} | "
        f"{'direct p50':>10}{'p95':>8} | {'ratio p50':>9}{'p95':>7}",
    ]
    ratios = []
    for q in [*QUERIES, None]:
        result = platform_fn(caller, q)()
        _, direct_total = direct_fn(db, q)()
        p50, p95 = timed(platform_fn(caller, q), runs, warmup)
        d50, d95 = timed(direct_fn(db, q), runs, warmup)
        ratios.append((p50 / d50, p95 / d95))
        name = q or BROWSE
        lines.append(
            f"{name:<14}{direct_total:>9}{result.total:>7} | {p50:>10.1f}ms{p95:>6.1f}ms | "
            f"{d50:>8.1f}ms{d95:>6.1f}ms | {p50 / d50:>8.1f}x {p95 / d95:>6.1f}x"
        )
    # The catalog home and the next pages of a result reuse the facet counts of the first.
    w50, w95 = timed(platform_fn(caller, None, cold=False), runs, warmup)
    lines.append(
        f"{BROWSE + ' cached':<30} | {w50:>10.1f}ms{w95:>6.1f}ms | {'':>18} | "
        f"{w50 / d50:>8.1f}x {w95 / d95:>6.1f}x"
    )
    lines.append(
        f"{'median ratio':<30} | {'':>20} | {'':>18} | "
        f"{statistics.median(r[0] for r in ratios):>8.1f}x "
        f"{statistics.median(r[1] for r in ratios):>6.1f}x"
    )
    return lines


def run_store(
    label: str, url: str, data_dir: Path, n: int, runs: int, warmup: int, cache: dict[str, Any]
) -> list[str]:
    db = Database(url)
    try:
        db.migrate()
        settings = Settings(
            data_dir=data_dir, database_url=url, secret_key="bench-" + "x" * 40, demo_mode=True
        )
        depts, caller = build_org(db, settings)
        with db.engine.connect() as conn:
            classes = {
                r.code: dict(r._mapping)
                for r in conn.execute(text("SELECT id, code, name, category FROM catalog_classes"))
            }
        if "rows" not in cache:
            t0 = time.perf_counter()
            cache["rows"] = list(generate(n, depts, classes))
            cache["segment_s"] = time.perf_counter() - t0
        # Department and class ids differ per store: remap them.
        rows = remap(cache["rows"], depts, classes)
        load_s = load(db, rows)
        head = f"{label}: {n} entries (segmenting {cache['segment_s']:.0f}s, loading {load_s:.0f}s)"
        return measure(head, db, caller, runs, warmup)
    finally:
        db.dispose()


def remap(
    rows: list[Any], depts: list[dict[str, Any]], classes: dict[str, dict[str, Any]]
) -> list[Any]:
    by_code = {d["code"]: d["id"] for d in depts}
    out = []
    for entry, version, items, doc in rows:
        entry = {
            **entry,
            "provider_department_id": by_code[entry["provider_code"]],
            "classification_id": classes[entry["class_code"]]["id"],
        }
        out.append((entry, version, items, doc))
    return out


def pg_admin(sql: str) -> None:
    engine = create_engine(PG_BASE + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    cache: dict[str, Any] = {}
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="govdata-bench-") as tmp:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{tmp}/catalog.db"
            report += run_store(
                "SQLite", url, Path(tmp), args.entries, args.runs, args.warmup, cache
            )
            print("\n".join(report), flush=True)
        if args.only in (None, "postgres"):
            pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            pg_admin(f'CREATE DATABASE "{BENCH_DB}"')
            try:
                lines = run_store(
                    "PostgreSQL",
                    f"{PG_BASE}/{BENCH_DB}",
                    Path(tmp),
                    args.entries,
                    args.runs,
                    args.warmup,
                    cache,
                )
                print("\n".join(lines), flush=True)
                report += lines
            finally:
                pg_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(
        "\nplatform = search_entries as a department user (visibility, synonyms, ranking, "
        "9 facets counted afresh each run, total, 20 rows); direct = the same full-text match "
        "on the index, LIMIT 20 + count(*). The cached browse line reuses facet counts; the "
        "median ratios leave it out."
    )
    print(json.dumps({"entries": args.entries, "runs": args.runs}))


if __name__ == "__main__":
    main()
