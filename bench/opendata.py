"""Open data: CKAN package_search at 50k open datasets, and a 1M-row CSV download.

1. Search. ``--datasets`` open datasets (plus 10 % more entries that stay closed or
   unpublished, so the public gate has something to filter) are bulk-inserted into a fresh
   store with the catalog benchmark's generator (``bench/catalog_search.py``: names,
   summaries, keywords and items of the seeded classification tree, 126 departments,
   the platform's own jieba segmentation for the index), plus their ``opendata_datasets``
   rows. For each query, p50/p95 over ``--runs`` runs (the three taken in turns) of:

   * ckan:     ``GET /api/3/action/package_search`` through the ASGI app (FastAPI's
               TestClient: routing, parameters, fq/sort translation, the search, CKAN
               package dicts of the page, JSON);
   * platform: ``search.search_datasets`` in-process (the same query, same facets, the
               page as ``DatasetSummary``) — ckan/platform is the compatibility layer's cost;
   * direct:   the same work in raw SQL on the index — full-text match, the public gate,
               the count, the page of 10 ids by score, one GROUP BY per facet — the limit.

2. Download. A 1M-row lake table (7 columns: text, integers, decimals, dates, timestamps;
   generated column by column with pyarrow) is opened as a dataset; then
   ``GET /open/datasets/<name>/download.csv`` (helper A2's download action) with an empty
   cache (the file is generated) and again (the cached file is served), against reading
   the table into Arrow with ``Lake.scan(...).read_all()`` (the limit). rows/s and MB/s.

    python bench/opendata.py                      # SQLite, 50k datasets, 1M rows
    python bench/opendata.py --only postgres --datasets 20000 --rows 200000
    python bench/opendata.py --json data/bench-opendata.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

import catalog_search as catalog_bench
from govdata.app import create_app
from govdata.catalog.models import CatalogEntry, EntryItem, EntryVersion
from govdata.catalog.search_text import expand, fts5_query, pg_tsquery, tokens
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.exchange.models import Mount
from govdata.lake.tables import Lake
from govdata.opendata import search
from govdata.opendata.datasets import dataset_name
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import LICENSES
from govdata.sources.models import SourceSystem

SEED = 20261206
ROWS = 10  # CKAN's default page
QUERIES: list[tuple[str, str | None, str | None]] = [
    # (label, q, fq organization)
    ("学校 + 2 facets", "学校", None),
    ("学校 + org fq", "学校", "edu_630000"),
    ("医疗机构 + 2 facets", "医疗机构", None),
    ("户籍 + org fq", "户籍", "police_630100"),
    ("browse + 2 facets", None, None),
]
FACETS_CKAN = ["organization", "groups"]
FACETS_PLATFORM = ["publisher", "topic"]


def timed_together(
    fns: list[Callable[[], Any]], runs: int, warmup: int
) -> list[tuple[float, float]]:
    """p50/p95 of each function, run in turns: load from other processes on the machine
    falls on all of them alike instead of on whichever ran during it."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            samples[k].append((time.perf_counter() - t0) * 1000)
    out = []
    for s in samples:
        s.sort()
        out.append((statistics.median(s), s[max(0, int(len(s) * 0.95) - 1)]))
    return out


# -- 1. search -------------------------------------------------------------------------------


def open_rows(rows: list[Any], n_open: int) -> list[Any]:
    """The first ``n_open`` generated entries made openable: published, grade ≤ 2, open or
    conditional; the rest stay as generated (mostly closed or above grade 2)."""
    rng = random.Random(SEED)
    out = []
    for i, (entry, version, items, doc) in enumerate(rows):
        if i < n_open:
            open_type = "conditional" if rng.random() < 0.2 else "open"
            grade = rng.choice([1, 2])
            entry = {
                **entry,
                "status": "published",
                "working_status": None,
                "published_version_id": version["id"],
                "working_version_id": None,
                "published_at": entry["created_at"],
                "grade": grade,
                "open_type": open_type,
            }
            version = {**version, "status": "published", "grade": grade, "open_type": open_type}
            items = [{**item, "grade": min(item["grade"], grade)} for item in items]
        out.append((entry, version, items, doc))
    return out


def load_open(db: Database, rows: list[Any], n_open: int) -> None:
    rng = random.Random(SEED + 1)
    licenses = list(LICENSES)
    values = []
    for entry, _, _, _ in rows[:n_open]:
        views = rng.randint(0, 5000)
        values.append(
            {
                "id": new_id(),
                "entry_id": entry["id"],
                "name": dataset_name(entry["resource_code"]),
                "status": "open",
                "fields": [],
                "license_id": rng.choice(licenses),
                "featured": False,
                "opened_at": entry["created_at"],
                "views": views,
                "downloads": views // 5,
                "calls": views // 3,
                "created_at": entry["created_at"],
                "updated_at": entry["created_at"],
            }
        )
    with db.engine.begin() as conn:
        for lo in range(0, len(values), 5000):
            conn.execute(insert(OpenDataset), values[lo : lo + 5000])
        conn.exec_driver_sql("ANALYZE")


def _match_sql(db: Database, q: str) -> tuple[str, dict[str, Any]]:
    with db.transaction() as s:
        groups = expand(s, tokens(q))
    if db.dialect == "sqlite":
        return (
            "SELECT s.entry_id AS entry_id, bm25(catalog_fts, 10.0, 1.0) AS score "
            "FROM catalog_fts JOIN catalog_search s ON s.id = catalog_fts.rowid "
            "WHERE catalog_fts MATCH :q",
            {"q": fts5_query(groups)},
        )
    vec, tsq = "catalog_fts_vector", "to_tsquery('simple', :q)"
    return (
        f"SELECT entry_id, -ts_rank({vec}, {tsq}, 32) AS score FROM catalog_search "
        f"WHERE {vec} @@ {tsq}",
        {"q": pg_tsquery(groups)},
    )


def direct_fn(db: Database, q: str | None, org: str | None) -> Callable[[], Any]:
    """The limit: match, the public gate, count, a page of 10 by score, two facet GROUP BYs
    (each facet ignoring its own filter, as the platform's facets do)."""
    params: dict[str, Any] = {"org": org}
    if q is None:
        source = "SELECT id AS entry_id, 0 AS score FROM catalog_entries"
    else:
        source, match = _match_sql(db, q)
        params |= match
    public = (
        f"WITH m AS ({source}), f AS ("
        "SELECT d.id AS id, e.provider_code AS pub, substr(e.class_code, 1, 3) AS topic, "
        "m.score AS score, e.updated_at AS modified "
        "FROM m JOIN catalog_entries e ON e.id = m.entry_id "
        "JOIN opendata_datasets d ON d.entry_id = e.id "
        "WHERE d.status = 'open' AND e.status = 'published' "
        "AND e.published_version_id IS NOT NULL AND e.grade <= 2 "
        "AND e.open_type IN ('open', 'conditional')) "
    )
    own = "WHERE pub = :org" if org else ""
    order = "score, id" if q is not None else "modified DESC, id DESC"
    # One statement: the matched, public set is computed once (a CTE used four times is
    # materialised by SQLite and PostgreSQL alike) and read for the page, the count and
    # the two facets.
    sql = (
        f"{public}"
        f"SELECT * FROM (SELECT 'page' AS part, id AS value, 0 AS n FROM f {own} "
        f"ORDER BY {order} LIMIT {ROWS}) AS page "
        f"UNION ALL SELECT 'count', NULL, count(*) FROM f {own} "
        "UNION ALL SELECT * FROM (SELECT 'publisher', pub, count(*) AS n FROM f "
        "GROUP BY pub ORDER BY n DESC LIMIT 50) AS p "
        f"UNION ALL SELECT * FROM (SELECT 'topic', topic, count(*) AS n FROM f {own} "
        "GROUP BY topic ORDER BY n DESC LIMIT 50) AS t"
    )

    def run() -> Any:
        with db.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return next(n for part, _, n in rows if part == "count"), rows

    return run


def platform_fn(db: Database, q: str | None, org: str | None) -> Callable[[], Any]:
    query = search.DatasetQuery(
        q=q, publisher=[org] if org else [], rows=ROWS, facets=FACETS_PLATFORM
    )

    def run() -> Any:
        with db.sessions() as s:
            return search.search_datasets(s, query)

    return run


def ckan_fn(client: TestClient, q: str | None, org: str | None) -> Callable[[], Any]:
    params = {"rows": str(ROWS), "facet.field": json.dumps(FACETS_CKAN)}
    if q:
        params["q"] = q
    if org:
        params["fq"] = f"organization:{org}"

    def run() -> Any:
        r = client.get("/api/3/action/package_search", params=params)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    return run


def bench_search(
    db: Database, settings: Settings, n: int, runs: int, warmup: int
) -> tuple[list[str], dict[str, Any]]:
    t0 = time.perf_counter()
    depts, _ = catalog_bench.build_org(db, settings)
    with db.engine.connect() as conn:
        classes = {
            r.code: dict(r._mapping)
            for r in conn.execute(text("SELECT id, code, name, category FROM catalog_classes"))
        }
    total = n + n // 10
    rows = open_rows(list(catalog_bench.generate(total, depts, classes)), n)
    rows = catalog_bench.remap(rows, depts, classes)
    catalog_bench.load(db, rows)
    load_open(db, rows, n)
    build_s = time.perf_counter() - t0
    lines = [
        f"\npackage_search over {n} open datasets ({total} entries; built in {build_s:.0f}s), "
        f"rows={ROWS}, facet.field={FACETS_CKAN}",
        f"{'query':<22}{'count':>7} | {'ckan p50':>9}{'p95':>8} | {'platform p50':>12}{'p95':>8}"
        f" | {'direct p50':>10}{'p95':>8} | {'ckan/plat':>9} {'ckan/direct':>11}"
        f" {'plat/direct':>11}",
    ]
    out: dict[str, Any] = {"datasets": n, "entries": total, "queries": []}
    with TestClient(create_app(settings, migrate=False)) as client:
        for label, q, org in QUERIES:
            ckan = ckan_fn(client, q, org)
            platform = platform_fn(db, q, org)
            direct = direct_fn(db, q, org)
            count = ckan()["count"]
            assert count == platform().count, (label, count, platform().count)
            assert count == direct()[0], (label, count, direct()[0])
            (c50, c95), (p50, p95), (d50, d95) = timed_together(
                [ckan, platform, direct], runs, warmup
            )
            lines.append(
                f"{label:<22}{count:>7} | {c50:>7.1f}ms{c95:>6.1f}ms | {p50:>10.1f}ms"
                f"{p95:>6.1f}ms | {d50:>8.1f}ms{d95:>6.1f}ms | {c50 / p50:>8.2f}x"
                f" {c50 / d50:>10.2f}x {p50 / d50:>10.2f}x"
            )
            out["queries"].append(
                {
                    "query": label,
                    "q": q,
                    "fq_organization": org,
                    "count": count,
                    "ckan_ms": [round(c50, 2), round(c95, 2)],
                    "platform_ms": [round(p50, 2), round(p95, 2)],
                    "direct_ms": [round(d50, 2), round(d95, 2)],
                    "ckan_over_platform_p50": round(c50 / p50, 3),
                    "ckan_over_direct_p50": round(c50 / d50, 3),
                    "platform_over_direct_p50": round(p50 / d50, 3),
                }
            )
    ratios = out["queries"]
    lines.append(
        f"{'median ratio (p50)':<22}{'':>7} | {'':>15} | {'':>18} | {'':>16} | "
        f"{statistics.median(r['ckan_over_platform_p50'] for r in ratios):>8.2f}x "
        f"{statistics.median(r['ckan_over_direct_p50'] for r in ratios):>10.2f}x "
        f"{statistics.median(r['platform_over_direct_p50'] for r in ratios):>10.2f}x"
    )
    return lines, out


# -- 2. download -----------------------------------------------------------------------------

TABLE = "bench_open.payments"
COLUMNS = [
    # (item, field, arrow type, catalog data type)
    ("记录编号", "record_no", "string", "string"),
    ("单位名称", "org_name", "string", "string"),
    ("所在县区", "county", "string", "string"),
    ("笔数", "count", "int64", "integer"),
    ("金额", "amount", "float64", "decimal"),
    ("业务日期", "biz_date", "date32", "date"),
    ("更新时间", "updated_at", "timestamp[us]", "datetime"),
]
COUNTIES = ["城东区", "城中区", "城西区", "城北区", "湟中区", "大通县", "格尔木市", "德令哈市"]


def _ints(n: int, low: int, high: int, seed: int) -> pa.Array:
    """``n`` uniform integers in [low, high), generated in Arrow (no Python loop per row)."""
    scaled = pc.multiply(pc.random(n, initializer=seed), high - low)
    return pc.add(pc.cast(pc.floor(scaled), pa.int64()), low)


def payments(n: int) -> pa.Table:
    """``n`` rows generated column by column with Arrow compute."""
    seq = pc.utf8_lpad(pc.cast(pa.array(range(n), pa.int64()), pa.string()), 9, "0")
    org_no = pc.cast(_ints(n, 1, 500, SEED), pa.string())
    days = pc.add(_ints(n, 0, 700, SEED + 1), 19_723)  # from 2024-01-01
    micros = pc.add(pc.multiply(days, 86_400_000_000), _ints(n, 0, 86_400_000_000, SEED + 2))
    return pa.table(
        {
            "record_no": pc.binary_join_element_wise("P", seq, ""),
            "org_name": pc.binary_join_element_wise("西宁市第", org_no, "服务中心", ""),
            "county": pc.take(pa.array(COUNTIES), _ints(n, 0, len(COUNTIES), SEED + 3)),
            "count": _ints(n, 1, 1000, SEED + 4),
            "amount": pc.round(pc.multiply(pc.random(n, initializer=SEED + 5), 100_000), 2),
            "biz_date": pc.cast(pc.cast(days, pa.int32()), pa.date32()),
            "updated_at": pc.cast(micros, pa.timestamp("us")),
        }
    )


def open_payments(db: Database, settings: Settings, n: int) -> tuple[str, str, int]:
    """A published, openable entry with a 1M-row lake table, opened; (name, table, bytes)."""
    table = payments(n)
    lake = Lake.from_settings(settings)
    with db.engine.connect() as conn:
        dept = conn.execute(
            text("SELECT id, code, name, credit_code FROM departments WHERE code = 'stats_630100'")
        ).one()
        region_path = conn.execute(
            text("SELECT path FROM regions WHERE code = '630100'")
        ).scalar_one()
        cls = conn.execute(
            text("SELECT id, code, category FROM catalog_classes WHERE length(code) = 6 LIMIT 1")
        ).one()
    entry_id, version_id, source_id = new_id(), new_id(), new_id()
    lake.create(TABLE, table.schema, entry_id=entry_id)
    lake.append(TABLE, table)
    stamp = datetime.now(UTC) - timedelta(days=1)
    code = f"{cls.code}/990001"
    with db.engine.begin() as conn:
        conn.execute(
            insert(CatalogEntry),
            [
                {
                    "id": entry_id,
                    "resource_code": code,
                    "classification_id": cls.id,
                    "class_code": cls.code,
                    "category": cls.category,
                    "provider_department_id": dept.id,
                    "provider_code": dept.code,
                    "provider_name": dept.name,
                    "provider_credit_code": dept.credit_code,
                    "region_code": "630100",
                    "region_path": region_path,
                    "origin": "local",
                    "status": "published",
                    "name": "西宁市惠民资金发放明细",
                    "share_type": "unconditional",
                    "open_type": "open",
                    "grade": 1,
                    "format": "database",
                    "update_cycle": "monthly",
                    "item_count": len(COLUMNS),
                    "published_at": stamp,
                    "published_version_id": version_id,
                    "latest_version_no": 1,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        conn.execute(
            insert(EntryVersion),
            [
                {
                    "id": version_id,
                    "entry_id": entry_id,
                    "version_no": 1,
                    "status": "published",
                    "name": "西宁市惠民资金发放明细",
                    "summary": "惠民资金逐笔发放记录。",
                    "format": "database",
                    "share_type": "unconditional",
                    "share_modes": ["api"],
                    "open_type": "open",
                    "update_cycle": "monthly",
                    "related_codes": [],
                    "keywords": ["惠民资金"],
                    "grade": 1,
                    "conformance": [],
                    "review_reasons": {},
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        conn.execute(
            insert(EntryItem),
            [
                {
                    "id": new_id(),
                    "version_id": version_id,
                    "position": p,
                    "name": item,
                    "name_en": field,
                    "data_type": dtype,
                    "is_key": p == 0,
                    "is_sensitive": False,
                    "grade": 1,
                    "share_type": "unconditional",
                }
                for p, (item, field, _, dtype) in enumerate(COLUMNS)
            ],
        )
        conn.execute(
            insert(SourceSystem),
            [
                {
                    "id": source_id,
                    "department_id": dept.id,
                    "name": "bench source",
                    "kind": "sqlite",
                    "config": {},
                    "status": "ok",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        conn.execute(
            insert(Mount),
            [
                {
                    "id": new_id(),
                    "entry_id": entry_id,
                    "department_id": dept.id,
                    "source_id": source_id,
                    "mode": "physical",
                    "target_kind": "table",
                    "target": "payments",
                    "columns": [
                        {"item": item, "column": field, "field": field, "type": atype}
                        for item, field, atype, _ in COLUMNS
                    ],
                    "unmapped_items": [],
                    "key_columns": ["record_no"],
                    "lake_table": TABLE,
                    "source_columns": [field for _, field, _, _ in COLUMNS],
                    "drift": [],
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        name = dataset_name(code)
        conn.execute(
            insert(OpenDataset),
            [
                {
                    "id": new_id(),
                    "entry_id": entry_id,
                    "name": name,
                    "status": "open",
                    "fields": [field for _, field, _, _ in COLUMNS],
                    "license_id": "cc-by-4.0",
                    "featured": False,
                    "opened_at": stamp,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "views": 0,
                    "downloads": 0,
                    "calls": 0,
                }
            ],
        )
    return name, TABLE, table.nbytes


def bench_download(
    db: Database, settings: Settings, n: int, repeats: int
) -> tuple[list[str], dict[str, Any]]:
    name, table, arrow_bytes = open_payments(db, settings, n)
    lake = Lake.from_settings(settings)
    fields = [f for _, f, _, _ in COLUMNS]
    cache = Path(settings.data_dir) / "opendata" / "cache"
    url = f"/open/datasets/{name}/download.csv"

    def limit() -> Any:
        return lake.scan(table, columns=fields).read_all()

    cold, warm, arrow = [], [], []
    size = 0
    with TestClient(create_app(settings, migrate=False)) as client:

        def fetch() -> int:
            got = 0
            with client.stream("GET", url) as r:
                assert r.status_code == 200, r.read()
                for chunk in r.iter_bytes():
                    got += len(chunk)
            return got

        for _ in range(repeats):
            shutil.rmtree(cache, ignore_errors=True)
            t0 = time.perf_counter()
            size = fetch()
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert fetch() == size
            warm.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = limit()
            arrow.append(time.perf_counter() - t0)
            assert got.num_rows == n
    c, w, a = statistics.median(cold), statistics.median(warm), statistics.median(arrow)
    mb = size / 1e6
    lines = [
        f"\nCSV download of {n:,} rows ({mb:.1f} MB CSV; {arrow_bytes / 1e6:.1f} MB in Arrow), "
        f"median of {repeats}",
        f"{'':<28}{'seconds':>9}{'rows/s':>14}{'MB/s':>9}{'vs limit':>10}",
        f"{'cold (generate + serve)':<28}{c:>9.2f}{n / c:>14,.0f}{mb / c:>9.1f}{c / a:>9.1f}x",
        f"{'warm (cached file)':<28}{w:>9.2f}{n / w:>14,.0f}{mb / w:>9.1f}{w / a:>9.1f}x",
        f"{'limit: scan into Arrow':<28}{a:>9.2f}{n / a:>14,.0f}{arrow_bytes / 1e6 / a:>9.1f}"
        f"{1.0:>9.1f}x",
    ]
    out = {
        "rows": n,
        "csv_bytes": size,
        "arrow_bytes": arrow_bytes,
        "cold_s": round(c, 3),
        "warm_s": round(w, 3),
        "arrow_s": round(a, 3),
        "cold_rows_per_s": round(n / c),
        "warm_rows_per_s": round(n / w),
        "arrow_rows_per_s": round(n / a),
        "cold_mb_per_s": round(mb / c, 1),
        "warm_mb_per_s": round(mb / w, 1),
        "cold_over_arrow": round(c / a, 2),
        "warm_over_arrow": round(w / a, 2),
    }
    return lines, out


# -- main ------------------------------------------------------------------------------------


def run_store(label: str, url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = Database(url)
    try:
        db.migrate()
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            secret_key="bench-" + "x" * 40,
            embedded_worker=False,
            opendata_anonymous_per_minute=1_000_000,
        )
        print(f"\n== {label} ==", flush=True)
        lines, searched = bench_search(db, settings, args.datasets, args.runs, args.warmup)
        print("\n".join(lines), flush=True)
        report: dict[str, Any] = {"store": label, "search": searched}
        if args.rows:
            lines, downloaded = bench_download(db, settings, args.rows, args.repeats)
            print("\n".join(lines), flush=True)
            report["download"] = downloaded
        return report
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="0: skip the download")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="download measurements")
    parser.add_argument("--only", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    reports = []
    with tempfile.TemporaryDirectory(prefix="govdata-bench-open-") as tmp:
        if args.only == "sqlite":
            reports.append(run_store("SQLite", f"sqlite:///{tmp}/open.db", Path(tmp), args))
        else:
            db_name = "govdata_bench_opendata"
            catalog_bench.pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            catalog_bench.pg_admin(f'CREATE DATABASE "{db_name}"')
            try:
                url = f"{catalog_bench.PG_BASE}/{db_name}"
                reports.append(run_store("PostgreSQL", url, Path(tmp), args))
            finally:
                catalog_bench.pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    print(
        "\nckan = GET /api/3/action/package_search via the ASGI app (TestClient); platform = "
        "search_datasets in-process; direct = the same match, gate, count, page and facet "
        "GROUP BYs in raw SQL. Download: GET download.csv via the ASGI app, cold = empty "
        "cache; limit = Lake.scan(...).read_all()."
    )
    report = {
        "datasets": args.datasets,
        "rows": args.rows,
        "runs": args.runs,
        "python": sys.version.split()[0],
        "date": date.today().isoformat(),
        "stores": reports,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
