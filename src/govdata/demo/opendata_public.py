"""The public side of the demo's open data: real downloads, the annual open list, a public
account with an approved application and its API key, and a showcase of reuses.

Each part goes through the same actions the portal uses, and each is done once: a part
finds what it made before (a cached file, the year's list, the demo account, its reuses)
and leaves it as it is, so a rerun of the stage adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import queries as org
from govdata.opendata import downloads, openlist
from govdata.opendata.access import entry_openable, public_datasets
from govdata.opendata.grants import ANONYMOUS_IDENTITY
from govdata.opendata.models import OpenDataset
from govdata.opendata.reuse_models import OpenList
from govdata.opendata.vocab import DatasetStatus
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM

# Formats of the first few downloads (the rest are CSV, the format most people take).
FORMATS = ("csv", "xlsx", "json")
DOWNLOADED = 12


def real_downloads(db: Database, settings: Settings) -> int:
    """Anonymous visitors download open (not conditional) datasets: the files are made from
    the lake and cached, and the downloads counted and audited as on the portal."""
    with db.transaction() as s:
        rows = s.execute(
            public_datasets()
            .where(CatalogEntry.open_type == "open")
            .order_by(OpenDataset.featured.desc(), OpenDataset.name)
            .limit(DOWNLOADED)
        ).all()
        chosen = [(ds.id, ds.name) for ds, _entry in rows]
    made = 0
    for n, (dataset_id, name) in enumerate(chosen):
        if downloads.cache_dir(settings, dataset_id).exists():
            continue
        for fmt in FORMATS if n < 2 else FORMATS[:1]:
            downloads.download(db, settings, ANONYMOUS_IDENTITY, name, fmt, client_addr="demo")
            made += 1
    return made


# Items of the year's list that are not open yet: (department, entry name, days from today
# the opening is planned; negative is overdue).
PENDING_ITEMS = (
    ("natres", "国土空间规划信息", 20),
    ("forestry", "自然保护地信息", 12),
    ("transport", "营运车辆信息", -10),
)
PLANNED_NAME = ("energy", "全省电动汽车充电设施信息", "公共充电站位置、桩数、运营单位，按季度更新")
REJECTED_NAME = ("stats", "全省人口普查个人记录", "人口普查个人原始记录")


def demo_caller(db: Database, settings: Settings, username: str) -> Caller:
    """A caller acting as the demo user ``username``."""
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        actor = org.actor_for_username(ctx.session, username)
    if actor is None:
        raise LookupError(f"demo user {username} is missing")
    return Caller(db, settings, actor, "demo")


def _officer(db: Database, settings: Settings, code: str) -> Caller:
    return demo_caller(db, settings, f"{code}_officer")


def seed_open_list(db: Database, settings: Settings) -> dict[str, Any] | None:
    """This year's open list: opened datasets, some still to open (one overdue), one
    planned dataset not yet catalogued, one refused; approved by the operator."""
    today = openlist.today()
    year = today.year
    with db.transaction() as s:
        if s.scalar(select(OpenList.id).where(OpenList.year == year)):
            return None
        opened = s.execute(
            public_datasets().order_by(CatalogEntry.provider_code, OpenDataset.name)
        ).all()
        first_per_dept: dict[str, str] = {}
        for _ds, entry in opened:
            first_per_dept.setdefault(entry.provider_code, entry.resource_code)
        pending = []
        for code, name, days in PENDING_ITEMS:
            entry_code = s.scalar(
                select(CatalogEntry.resource_code).where(
                    CatalogEntry.provider_code == code, CatalogEntry.name == name, entry_openable()
                )
            )
            opened_already = s.scalar(
                select(OpenDataset.id)
                .join(CatalogEntry, CatalogEntry.id == OpenDataset.entry_id)
                .where(
                    CatalogEntry.resource_code == entry_code,
                    OpenDataset.status == DatasetStatus.OPEN.value,
                )
            )
            if entry_code is not None and opened_already is None:
                pending.append((code, entry_code, days))
    operator = demo_caller(db, settings, "operator")
    start = date(year, 1, 1)

    def within(day: date) -> date:
        return min(max(day, start), date(year, 12, 31))

    items: list[str] = []
    rejected: list[str] = []
    for n, (code, resource_code) in enumerate(sorted(first_per_dept.items())[:10]):
        with _officer(db, settings, code).act() as ctx:
            items.append(
                openlist.propose_item(
                    ctx,
                    year,
                    openlist.ItemIn(
                        entry=resource_code,
                        planned_date=within(start + timedelta(days=30 + 25 * n)),
                        description="按政府信息公开和公共数据开放要求，本年度开放",
                    ),
                ).id
            )
    for code, resource_code, days in pending:
        with _officer(db, settings, code).act() as ctx:
            items.append(
                openlist.propose_item(
                    ctx,
                    year,
                    openlist.ItemIn(
                        entry=resource_code,
                        planned_date=within(today + timedelta(days=days)),
                        description="完成数据治理和脱敏审核后开放",
                    ),
                ).id
            )
    for (code, name, description), into in ((PLANNED_NAME, items), (REJECTED_NAME, rejected)):
        with _officer(db, settings, code).act() as ctx:
            into.append(
                openlist.propose_item(
                    ctx,
                    year,
                    openlist.ItemIn(
                        name=name,
                        description=description,
                        planned_date=within(date(year, 12, 31)),
                        open_type="open",
                    ),
                ).id
            )
    with operator.act() as ctx:
        for item_id in items:
            openlist.review_item(ctx, item_id, openlist.ItemReviewIn(accept=True))
        for item_id in rejected:
            openlist.review_item(
                ctx,
                item_id,
                openlist.ItemReviewIn(
                    accept=False, reason="涉及个人信息，依法不予开放；可开放汇总统计数据"
                ),
            )
        out = openlist.approve_list(ctx, year)
    return {"year": year, "items": len(items), "rejected": len(rejected), "status": out.status}
