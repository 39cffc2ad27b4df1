"""The public side of the demo's open data: real downloads, the annual open list, a public
account with an approved application and its API key, and a showcase of reuses.

Each part goes through the same actions the portal uses, and each is done once: a part
finds what it made before (a cached file, the year's list, the demo account, its reuses)
and leaves it as it is, so a rerun of the stage adds nothing.
"""

from __future__ import annotations

import logging
import random
import re
import struct
import zlib
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.identity import queries as org
from govdata.opendata import accounts, applications, downloads, gateway, openlist, reuses
from govdata.opendata.access import entry_openable, public_datasets
from govdata.opendata.account_models import PublicAccount
from govdata.opendata.grants import ANONYMOUS_IDENTITY
from govdata.opendata.models import OpenDataset
from govdata.opendata.reuse_models import OpenList, Reuse
from govdata.security.context import Caller
from govdata.security.context_types import ANONYMOUS, SYSTEM

# The first dataset is downloaded in every format, the others as CSV (what most people take).
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
        for fmt in FORMATS if n == 0 else FORMATS[:1]:
            downloads.download(db, settings, ANONYMOUS_IDENTITY, name, fmt, client_addr="demo")
            made += 1
    return made


# Days from today the list's not-yet-open items are planned for (negative: overdue).
PENDING_DAYS = (20, 12, -10)
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
        # Openable entries of other departments not open yet: the list commits them.
        waiting = s.execute(
            select(CatalogEntry.provider_code, CatalogEntry.resource_code)
            .outerjoin(OpenDataset, OpenDataset.entry_id == CatalogEntry.id)
            .where(entry_openable(), OpenDataset.id.is_(None))
            .order_by(CatalogEntry.provider_code, CatalogEntry.name)
        ).all()
        pending: list[tuple[str, str, int]] = []
        for code, resource_code in waiting:
            if len(pending) < len(PENDING_DAYS) and code not in {p[0] for p in pending}:
                pending.append((code, resource_code, PENDING_DAYS[len(pending)]))
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


# The demo's public account: a research institute applying for conditional data.
PUBLIC_ADDRESS = "researcher@example.org"
PUBLIC_NAME = "高原生态研究团队（演示）"
PUBLIC_ORGANISATION = "青海高原生态研究院（演示）"
# Conditional datasets it applies for: the first is approved, the second waits.
APPLY_FOR = ("自然灾害灾情信息", "生产安全事故信息", "重点排污单位自动监控信息", "营运车辆信息")


class _Codes(logging.Handler):
    """Catches the verification code the log gateway writes (the embedded profile's)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.codes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"验证码 (\d{6})", record.getMessage())
        if found:
            self.codes.append(found.group(1))


def _register(db: Database, settings: Settings) -> str:
    """Register and verify the demo account the way a visitor does; returns its id."""
    anonymous = Caller(db, settings, ANONYMOUS, "demo")
    log = logging.getLogger(gateway.__name__)
    catcher, level = _Codes(), log.level
    log.addHandler(catcher)
    log.setLevel(logging.WARNING)
    try:
        with anonymous.act() as ctx:
            account = accounts.register(
                ctx,
                accounts.RegisterIn(
                    account=PUBLIC_ADDRESS,
                    display_name=PUBLIC_NAME,
                    password=settings.demo_password,
                    kind=accounts.AccountKind.RESEARCHER,
                    organisation=PUBLIC_ORGANISATION,
                ),
            )
    finally:
        log.removeHandler(catcher)
        log.setLevel(level)
    if not catcher.codes:
        raise LookupError("the demo account's code did not reach the log gateway")
    accounts.verify(anonymous, accounts.VerifyIn(account=PUBLIC_ADDRESS, code=catcher.codes[-1]))
    return account.id


def seed_public_account(db: Database, settings: Settings) -> dict[str, Any] | None:
    """The demo account, verified, with one approved application (and so an API key to
    reveal on its account page) and one waiting for the publisher."""
    with db.transaction() as s:
        if accounts.find(s, PUBLIC_ADDRESS) is not None:
            return None
        rows = s.execute(
            public_datasets().where(
                CatalogEntry.open_type == "conditional", CatalogEntry.name.in_(APPLY_FOR)
            )
        ).all()
        targets = sorted(
            ((ds.name, entry.name, entry.provider_code) for ds, entry in rows),
            key=lambda t: APPLY_FOR.index(t[1]),
        )[:2]
    account_id = _register(db, settings)
    with db.transaction() as s:
        account = s.get(PublicAccount, account_id)
        assert account is not None
        public = Caller(db, settings, accounts.actor_of(account), "demo")
    today = openlist.today()
    made: dict[str, Any] = {"account": PUBLIC_ADDRESS, "approved": [], "pending": []}
    for n, (name, title, provider) in enumerate(targets):
        with public.act() as ctx:
            app = applications.submit(
                ctx,
                name,
                applications.ApplyIn(
                    purpose=f"开展青海高原生态与灾害风险研究，使用“{title}”做时空分析，"
                    "成果以汇总统计形式发表，不对外提供原始数据",
                    use_from=today,
                    use_until=today + timedelta(days=365),
                    committed=True,
                    commitments="仅用于所述研究；不再转让或公开原始数据；按要求落实数据安全保护措施",
                    contact=PUBLIC_ADDRESS,
                ),
            )
        if n == 0:
            with _officer(db, settings, provider).act() as ctx:
                applications.decide(
                    ctx,
                    app.id,
                    applications.DecideIn(approve=True, comment="用途明确，同意按申请期限开放"),
                )
            made["approved"].append(name)
        else:
            made["pending"].append(name)
    return made


# (name, description, link, dataset titles used, featured)
REUSES = (
    (
        "高原空气质量早知道",
        "按小时展示全省空气质量监测站的 AQI 和首要污染物，支持按州县查看趋势并推送污染提醒。",
        "https://example.org/apps/air",
        ("环境空气质量监测信息",),
        True,
    ),
    (
        "大美青海旅游地图",
        "汇集 A 级旅游景区、星级饭店和旅行社信息，按地图浏览景区承载量、开放时间和周边住宿。",
        "https://example.org/apps/travel",
        ("A级旅游景区信息", "星级旅游饭店信息", "旅行社信息"),
        True,
    ),
    (
        "企业信用速查",
        "输入企业名称或统一社会信用代码，一次查看营业执照、经营异常名录和行政处罚信息。",
        "https://example.org/apps/credit",
        ("营业执照信息", "经营异常名录信息", "市场监管行政处罚信息"),
        False,
    ),
    (
        "就医指南",
        "按位置查找医疗机构和医保定点机构，显示床位数、诊疗科目和是否支持异地就医直接结算。",
        "https://example.org/apps/clinic",
        ("医疗机构执业许可信息", "定点医药机构信息"),
        False,
    ),
)


def _banner(seed: int) -> bytes:
    """A small PNG (a bar chart in the portal's colours) standing in for a screenshot."""
    width, height = 320, 200
    rng = random.Random(seed)
    bars = [rng.randint(40, 180) for _ in range(8)]
    rows = []
    for y in range(height):
        line = bytearray([0])
        for x in range(width):
            bar = x // 40
            on = 8 <= x % 40 <= 32 and height - y <= bars[bar]
            line += bytes((0x1F, 0x6F, 0xB2) if on else (0xF4, 0xF7, 0xFB))
        rows.append(bytes(line))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def seed_reuses(db: Database, settings: Settings) -> dict[str, int] | None:
    """The demo account's four applications built on open data; the operator publishes
    them and features two; the account rates them."""
    with db.transaction() as s:
        account = accounts.find(s, PUBLIC_ADDRESS)
        if account is None or s.scalar(
            select(Reuse.id).where(Reuse.submitter_id == account.id).limit(1)
        ):
            return None
        public_ids = {entry.name: ds.name for ds, entry in s.execute(public_datasets())}
        public = Caller(db, settings, accounts.actor_of(account), "demo")
    operator = demo_caller(db, settings, "operator")
    made = {"approved": 0, "featured": 0}
    for n, (name, description, url, titles, featured) in enumerate(REUSES):
        used = [public_ids[t] for t in titles if t in public_ids]
        if not used:
            continue
        with public.act() as ctx:
            reuse = reuses.submit_reuse(
                ctx,
                reuses.ReuseIn(name=name, description=description, url=url, datasets=used),
                [reuses.Upload(f"screenshot-{n + 1}.png", _banner(n))],
            )
        with operator.act() as ctx:
            reuses.review_reuse(ctx, reuse.id, reuses.ReuseReviewIn(approve=True))
            if featured:
                reuses.feature_reuse(ctx, reuse.id, reuses.ReuseFeatureIn(featured=True))
                made["featured"] += 1
        with public.act() as ctx:
            reuses.rate_reuse(ctx, reuse.id, reuses.RatingIn(stars=5 - n % 2))
        made["approved"] += 1
    return made
