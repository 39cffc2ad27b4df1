"""Sharing in the demo: applications in every state, grants, demands, objections.

Departments' officers apply for each other's mounted entries and decide through the same
actions the portal uses, so the demo shows the workflow as it really runs: granted
applications (provider and operator approval), one waiting for the provider with its
countdown, one waiting for the operator, one overdue and escalated, one rejected, one
contested, one withdrawn, a renewal, a revoked grant; demands in every state and two
objections. Only the overdue one is arranged: its deadline is moved into the past (the
demo cannot wait ten working days) before the deadline sweep runs.

It runs once: a store that already has applications is left as it is.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.db import Database
from govdata.core.sqlident import quote_identifier
from govdata.demo.catalog_plan import plan_catalog
from govdata.demo.sources.writer import MariaDBSettings, mariadb_connect
from govdata.exchange.models import Mount
from govdata.governance import tickets
from govdata.governance.schemas import TicketAnswer, TicketNote
from govdata.identity import queries as org
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.sharing import (
    application_views,
    applications,
    deadlines,
    demands,
    grants,
    objections,
    subscriptions,
)
from govdata.sharing.common import published_items
from govdata.sharing.jobs import deliver_now
from govdata.sharing.models import Application, ApplicationStep, Grant
from govdata.sharing.schemas import (
    ApplicationCreate,
    ApplicationOut,
    DecisionIn,
    DemandAnswerIn,
    DemandCreate,
    DemandFulfil,
    DemandRoute,
    ObjectionCreate,
    ReasonIn,
    RenewIn,
    SubscriptionCreate,
)
from govdata.sharing.vocab import DemandAnswer, SubscriptionMode
from govdata.sources import actions as sources
from govdata.sources.registry import demo_sources_dir
from govdata.sources.schemas import SourceCreate, SourceKind, SourceSecret


@dataclass(frozen=True)
class Scene:
    consumer: str  # department code
    source: tuple[str, str]  # (system, table) of the entry applied for
    end: str  # granted, provider, operator, overdue, rejected, contested, withdrawn, revoked
    purpose: str
    scenario: str


SCENES = (
    Scene(
        "civil", ("police", "persons"), "granted", "低保对象户籍核对", "社会救助对象身份和户籍核验"
    ),
    Scene(
        "hrss", ("market", "enterprises"), "granted", "参保单位登记核验", "企业职工养老保险参保登记"
    ),
    Scene(
        "health", ("medins", "enrolments"), "granted", "家庭医生签约参保核验", "基层医疗卫生服务"
    ),
    Scene(
        "housing",
        ("civil", "marriage_registrations"),
        "provider",
        "住房保障资格审核",
        "公租房申请家庭婚姻状况核查",
    ),
    Scene("edu", ("police", "households"), "operator", "义务教育入学户籍核验", "义务教育招生入学"),
    Scene(
        "veterans",
        ("hrss", "insured_persons"),
        "overdue",
        "退役军人社保接续",
        "退役军人养老保险关系转移接续",
    ),
    Scene(
        "finance",
        ("civil", "subsistence_allowances"),
        "rejected",
        "财政补贴资金核查",
        "惠民惠农财政补贴核查",
    ),
    Scene(
        "emergency",
        ("hrss", "contributions"),
        "contested",
        "受灾群众救助核查",
        "自然灾害受灾人员生活救助",
    ),
    Scene("stats", ("medins", "settlements"), "withdrawn", "医疗费用统计分析", "卫生健康统计调查"),
    Scene(
        "justice",
        ("civil", "subsistence_members"),
        "revoked",
        "法律援助经济困难审查",
        "法律援助申请审查",
    ),
)


def _caller(db: Database, settings: Settings, username: str) -> Caller:
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        actor = org.actor_for_username(ctx.session, username)
    if actor is None:
        raise LookupError(f"demo user {username} is missing")
    return Caller(db, settings, actor, "demo")


def _entries(db: Database) -> dict[tuple[str, str], CatalogEntry]:
    """Mounted demo entries by (system, table)."""
    names = {p.source: (p.department, p.content.name) for p in plan_catalog() if p.source}
    found: dict[tuple[str, str], CatalogEntry] = {}
    with db.transaction() as s:
        for source, (department, name) in names.items():
            entry = s.scalar(
                select(CatalogEntry)
                .join(Mount, Mount.entry_id == CatalogEntry.id)
                .where(CatalogEntry.provider_code == department, CatalogEntry.name == name)
            )
            if entry is not None:
                s.expunge(entry)
                found[source] = entry
    return found


def _apply(caller: Caller, entry: CatalogEntry, scene: Scene, items: list[str]) -> ApplicationOut:
    today = now().astimezone(DISPLAY_TZ).date()
    with caller.act() as ctx:
        return applications.apply(
            ctx,
            ApplicationCreate(
                entry=entry.resource_code,
                purpose=scene.purpose,
                scenario=scene.scenario,
                legal_basis="《政务数据共享条例》（国务院令第809号）第十二条",
                items=items,
                delivery_modes=["api", "subscription"] if scene.end == "granted" else ["api"],
                valid_until=today + timedelta(days=365),
                contact_name="王海",
                contact_phone="0971-6123456",
            ),
        )


def _decide(caller: Caller, app_id: str, approve: bool, comment: str | None = None) -> None:
    with caller.act() as ctx:
        applications.decide(ctx, app_id, DecisionIn(approve=approve, comment=comment))


def _item_names(db: Database, entry: CatalogEntry) -> list[str]:
    with db.transaction() as s:
        return [i.name for i in published_items(s, entry) if i.share_type != "none"]


def seed_sharing(
    db: Database,
    settings: Settings,
    *,
    engine: str = "sqlite",
    mariadb: MariaDBSettings | None = None,
) -> dict[str, Any]:
    """Seed the scenes once; returns what was made, for the demo's marker."""
    with db.transaction() as s:
        if s.scalar(select(Application.id).limit(1)) is not None:
            return {"skipped": True}
    entries = _entries(db)
    operator = _caller(db, settings, "operator")
    made: dict[str, Any] = {"applications": 0, "grants": []}
    for scene in SCENES:
        entry = entries.get(scene.source)
        if entry is None:
            continue
        consumer = _caller(db, settings, f"{scene.consumer}_officer")
        provider = _caller(db, settings, f"{entry.provider_code}_officer")
        app = _apply(consumer, entry, scene, _item_names(db, entry))
        made["applications"] += 1
        if scene.end == "overdue":
            with db.transaction() as s:
                s.execute(
                    update(ApplicationStep)
                    .where(ApplicationStep.application_id == app.id)
                    .values(due_at=now() - timedelta(days=1))
                )
            continue
        if scene.end == "withdrawn":
            with consumer.act() as ctx:
                applications.withdraw(ctx, app.id)
            continue
        if scene.end in ("rejected", "contested"):
            _decide(provider, app.id, False, "申请用途超出本数据的共享条件，请补充具体业务依据")
            if scene.end == "contested":
                with consumer.act() as ctx:
                    applications.contest(
                        ctx, app.id, ReasonIn(reason="救灾工作急需，用途符合共享条件，请协调")
                    )
            continue
        if scene.end == "provider":
            continue
        # The first step: the provider's review, or an automatic compliance check.
        with db.transaction() as s:
            first = s.get(Application, app.id)
            needs_provider = first is not None and first.current_step == "provider"
        if needs_provider:
            _decide(provider, app.id, True, "同意，按目录共享条件提供")
        if scene.end == "operator":
            continue
        with db.transaction() as s:
            current = s.get(Application, app.id)
            needs_operator = current is not None and current.current_step == "operator"
        if needs_operator:
            _decide(operator, app.id, True, "重要数据，经主管部门审核同意")
        with consumer.act() as ctx:
            grant_id = application_views.get_application(ctx, app.id).grant_id
        if grant_id is None:
            continue
        made["grants"].append(grant_id)
        if scene.end == "revoked":
            with provider.act() as ctx:
                grants.revoke_grant(ctx, grant_id, ReasonIn(reason="使用部门业务调整，停止共享"))
    deadlines.sweep(db, settings)
    made["subscriptions"] = _subscriptions(db, settings, engine, mariadb or MariaDBSettings())
    _renewal(db, settings, made["grants"])
    _demands(db, settings, entries)
    _objections(db, settings, made["grants"])
    return made


def _renewal(db: Database, settings: Settings, grant_ids: list[str]) -> None:
    if not grant_ids:
        return
    consumer = None
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        grant = grants.get_grant(ctx, grant_ids[0])
        dept = org.department_by_id(ctx.session, grant.consumer_department_id)
    if dept is None:
        return
    consumer = _caller(db, settings, f"{dept.code}_officer")
    with consumer.act() as ctx:
        applications.renew(
            ctx,
            grant.id,
            RenewIn(
                valid_until=now().astimezone(DISPLAY_TZ).date() + timedelta(days=730),
                reason="社会救助常态化核对，申请延长两年",
            ),
        )


def _demands(
    db: Database, settings: Settings, entries: dict[tuple[str, str], CatalogEntry]
) -> None:
    def post(dept: str, title: str, description: str, purpose: str) -> tuple[Caller, str]:
        caller = _caller(db, settings, f"{dept}_officer")
        with caller.act() as ctx:
            return caller, demands.create_demand(
                ctx, DemandCreate(title=title, description=description, purpose=purpose)
            ).id

    operator = _caller(db, settings, "operator")

    def route(demand_id: str, provider: str) -> Caller:
        with operator.act() as ctx:
            dept = org.department_by_code(ctx.session, provider)
            assert dept is not None
            demands.route_demand(ctx, demand_id, DemandRoute(provider_department_id=dept.id))
        return _caller(db, settings, f"{provider}_officer")

    post("commerce", "外贸企业进出口信用信息", "需要外贸企业海关信用等级", "外贸企业分类服务")
    _, routed = post("ndrc", "重点项目用地审批信息", "重点项目用地预审和审批结果", "项目调度")
    route(routed, "natres")
    _, answered = post("agri", "灌区取水许可信息", "灌区取水许可和用水量", "农业用水管理")
    water = route(answered, "water")
    with water.act() as ctx:
        demands.answer_demand(
            ctx,
            answered,
            DemandAnswerIn(answer=DemandAnswer.WILL_CATALOG, note="本季度内编目并发布"),
        )
    households = entries.get(("police", "households"))
    if households is not None:
        _, fulfilled = post(
            "civil", "户籍户成员关系信息", "户内成员关系，用于低保家庭认定", "低保审核"
        )
        police = route(fulfilled, "police")
        with police.act() as ctx:
            demands.fulfil_demand(ctx, fulfilled, DemandFulfil(entry_id=households.resource_code))
    culture_caller, closed = post("culture", "旅游景区客流信息", "A级景区实时客流", "假日旅游监测")
    with culture_caller.act() as ctx:
        demands.close_demand(ctx, closed, ReasonIn(reason="已通过文旅厅自有系统获取"))


def _objections(db: Database, settings: Settings, grant_ids: list[str]) -> None:
    for n, grant_id in enumerate(grant_ids[:2]):
        with Caller(db, settings, SYSTEM, "demo").act() as ctx:
            grant = grants.get_grant(ctx, grant_id)
            consumer = org.department_by_id(ctx.session, grant.consumer_department_id)
            provider = org.department_by_id(ctx.session, grant.provider_department_id)
        if consumer is None or provider is None or grant.status != "active":
            continue
        field = grant.items[1] if len(grant.items) > 1 else grant.items[0]
        with _caller(db, settings, f"{consumer.code}_officer").act() as ctx:
            ticket = objections.create_objection(
                ctx,
                ObjectionCreate(
                    grant_id=grant_id,
                    field=field,
                    title=f"{field}与本部门核实结果不一致",
                    description=f"窗口核验时发现“{field}”与当事人出示的证件不一致",
                    evidence="窗口核验记录 2026-12-01 第 37 号",
                    severity=3,
                ),
            )
        if n == 1:
            with _caller(db, settings, f"{provider.code}_officer").act() as ctx:
                tickets.answer_ticket(
                    ctx, ticket.id, TicketAnswer(accept=True, answer="已核实，将在下次同步时更正")
                )
                tickets.start_rectifying(ctx, ticket.id, TicketNote(note="已通知业务科室更正"))


# Consumers' own databases the demo subscriptions deliver into: (department, database,
# table, subscription name). 民政厅's is kept current by the household register's CDC stream
# once the server runs; 人社厅's receives the market register loaded at build time.
CONSUMERS = (
    ("civil", "civil_share", "hj_persons", "户籍人口信息同步到民政前置库"),
    ("hrss", "hrss_share", "sczt_enterprises", "市场主体登记信息同步到人社前置库"),
)


def _consumer_source(
    caller: Caller, settings: Settings, engine: str, mariadb: MariaDBSettings, name: str
) -> str:
    """Register the consumer department's database as one of its sources (made if missing)."""
    if engine == "mariadb":
        database = f"{mariadb.prefix}{name}"
        conn = mariadb_connect(mariadb)
        try:
            with conn.cursor() as cur:
                quoted = quote_identifier(database, "mysql")
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quoted} CHARACTER SET utf8mb4")
        finally:
            conn.close()
        kind = SourceKind.MARIADB
        config: dict[str, Any] = {
            "host": mariadb.host,
            "port": mariadb.port,
            "database": database,
            "user": mariadb.user,
        }
        secret = SourceSecret(password=mariadb.password) if mariadb.password else None
    else:
        path = (demo_sources_dir(settings) / f"{name}.db").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
        kind, config, secret = SourceKind.SQLITE, {"path": str(path)}, None
    with caller.act() as ctx:
        out = sources.create_source(
            ctx,
            SourceCreate(
                kind=kind,
                name="共享前置库",
                department_id=ctx.actor.department_id,
                description="演示：接收共享数据的本部门数据库",
                config=config,
                secret=secret,
            ),
        )
    return out.id


def _subscriptions(
    db: Database, settings: Settings, engine: str, mariadb: MariaDBSettings
) -> list[str]:
    """Each consumer in ``CONSUMERS`` subscribes its active grant into its own database, and
    the first delivery runs here."""
    made: list[str] = []
    with db.transaction() as s:
        held = {
            g.consumer_department_id: g.id
            for g in s.scalars(select(Grant).where(Grant.status == "active"))
        }
        depts = {code: org.department_by_code(s, code) for code, *_ in CONSUMERS}
    for code, database, table, name in CONSUMERS:
        dept = depts[code]
        if dept is None or dept.id not in held:
            continue
        caller = _caller(db, settings, f"{code}_officer")
        source_id = _consumer_source(caller, settings, engine, mariadb, database)
        with caller.act() as ctx:
            sub = subscriptions.create_subscription(
                ctx,
                SubscriptionCreate(
                    grant_id=held[dept.id],
                    name=name,
                    mode=SubscriptionMode.TABLE,
                    target_source_id=source_id,
                    target_table=table,
                    schedule="*/30 * * * *",
                ),
            )
        made.append(sub.id)
    # The first deliveries run here rather than waiting for the server's worker.
    for sub_id in made:
        deliver_now(db, settings, sub_id)
    return made
