"""Quality rules on the demo's source entries, and their first runs after collection.

Each department's data officer does it through the quality actions the portal uses:
accepts the rules the platform suggests for the entry (identifier checksums, code sets,
lengths, dates, keys, row count), and adds the ones the department knows it needs —
the mobile check on phone columns that hold mobiles, not-null on columns that are always
filled, the uniqueness of a person's ID where a person is enrolled once, the name against
the household register (cross-source), and freshness judged on the rows' own last-update
time. Then every entry whose data can be read is checked once, so the quality dashboard
and the ticket queues show the planned defects (``govdata.demo.defects``) from the start.

The demo's data end on its day (``AS_OF``), however long ago the demo was built: freshness
rules allow the entry's update cycle counted from that day (the hours since it are added
to the allowance), so only a table that stopped being updated before it is stale.

Get-or-create like the other stages: an entry that already has rules keeps them, and a
rerun only checks entries that were never checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import DataType
from govdata.config import Settings
from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.db import Database
from govdata.demo.defects import PLAN
from govdata.demo.exchange import LOGICAL, PHYSICAL, _entries_by_source
from govdata.demo.people import AS_OF
from govdata.exchange.models import Mount
from govdata.governance import quality_rules, quality_runs
from govdata.governance.quality_models import QualityRun
from govdata.governance.quality_rules import CYCLE_HOURS
from govdata.governance.quality_schemas import RuleIn, RuleKind, RuleUpdate
from govdata.identity import queries as org
from govdata.lake.tables import Lake
from govdata.security.context import ActionContext, Caller
from govdata.security.context_types import SYSTEM

# (entries checked, entries in all, entry name)
QualityProgress = Callable[[int, int, str], None]
REGISTER = ("police", "persons")
# Phone columns of the source systems hold mobile numbers.
MOBILE_COLUMNS = {"phone"}
# The updated_at column every source table has (see demo.sources.schema).
UPDATED_AT = "updated_at"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class DemoEntry:
    system: str
    table: str
    entry_id: str
    resource_code: str
    department: str
    # Source column → information item, from the mount.
    items: dict[str, str]
    readable: bool


def _entries(db: Database, settings: Settings) -> list[DemoEntry]:
    planned = _entries_by_source()
    found = []
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        s = ctx.session
        for (system, table), (department, name) in planned.items():
            if (system, table) not in PHYSICAL and (system, table) not in LOGICAL:
                continue
            entry = s.scalar(
                select(CatalogEntry).where(
                    CatalogEntry.provider_code == department, CatalogEntry.name == name
                )
            )
            if entry is None:
                continue
            mount = s.scalar(select(Mount).where(Mount.entry_id == entry.id))
            if mount is None:
                continue
            items = {str(c["column"]): str(c["item"]) for c in mount.columns if c.get("item")}
            readable = mount.mode == "logical" or (
                mount.lake_table is not None and _collected(settings, mount.lake_table)
            )
            found.append(
                DemoEntry(system, table, entry.id, entry.resource_code, department, items, readable)
            )
    return found


def _collected(settings: Settings, lake_table: str) -> bool:
    return Lake.from_settings(settings).exists(lake_table)


def hours_since_as_of() -> int:
    """Whole hours from the end of the demo's day (Beijing time) to now."""
    end = datetime.combine(AS_OF, time(23, 59, 59), DISPLAY_TZ)
    return max(int((now() - end).total_seconds() // 3600) + 1, 0)


def planned_rules(entry: DemoEntry, register: DemoEntry | None, cycle: str) -> list[RuleIn]:
    """The rules the department adds beyond the suggestions."""
    rules: list[RuleIn] = []
    items = entry.items
    for column in sorted(MOBILE_COLUMNS & items.keys()):
        rules.append(RuleIn(kind=RuleKind.MOBILE, item=items[column], severity=3))
    for d in PLAN:
        if (d.system, d.table) != (entry.system, entry.table) or d.column not in items:
            continue
        if d.kind == "missing":
            rules.append(RuleIn(kind=RuleKind.NOT_NULL, item=items[d.column], severity=2))
        elif d.kind == "duplicate" and d.rule == "unique":
            rules.append(RuleIn(kind=RuleKind.UNIQUE, item=items[d.column], severity=4))
        elif d.kind == "name_variant" and register is not None and d.person_column in items:
            rules.append(
                RuleIn(
                    kind=RuleKind.CROSS_SOURCE,
                    item=items[d.column],
                    params={
                        "entry": register.resource_code,
                        "key": items[str(d.person_column)],
                        "other_key": register.items["resident_id"],
                        "other_item": register.items["name"],
                    },
                    severity=3,
                    name=f"{items[d.column]}：与户籍人口信息一致",
                )
            )
    if UPDATED_AT in items and cycle in CYCLE_HOURS:
        rules.append(
            RuleIn(
                kind=RuleKind.FRESHNESS,
                params={
                    "column": items[UPDATED_AT],
                    "max_age_hours": CYCLE_HOURS[cycle] + hours_since_as_of(),
                },
                severity=3,
                name=f"更新及时（按更新周期，自演示数据截止日 {AS_OF.isoformat()} 起算）",
            )
        )
    return rules


def _officer(db: Database, settings: Settings, department: str) -> Caller:
    with Caller(db, settings, SYSTEM, "demo").act() as ctx:
        actor = org.actor_for_username(ctx.session, f"{department}_officer")
    if actor is None:
        raise LookupError(f"demo user {department}_officer is missing")
    return Caller(db, settings, actor, "demo")


def _review_suggestions(ctx: ActionContext, entry: DemoEntry) -> int:
    """The officer's review of what was suggested: a date-and-time item is checked with its
    time, and a value list that ends in 等 (“and so on”) is an open list, not a code set.
    Returns how many suggestions were dropped."""
    s = ctx.session
    db_entry = s.get(CatalogEntry, entry.entry_id)
    assert db_entry is not None
    types = {i.name: i.data_type for i in quality_rules.entry_items(s, db_entry)}
    dropped = 0
    for rule in quality_rules.rules_of(s, entry.entry_id):
        params = dict(rule.params or {})
        if (
            rule.kind == RuleKind.DATE_VALID
            and types.get(rule.item or "") == DataType.DATETIME
            and "%H" not in str(params.get("format", ""))
        ):
            params["format"] = DATETIME_FORMAT
            quality_rules.update_rule(ctx, rule.id, RuleUpdate(params=params))
        elif rule.kind == RuleKind.ALLOWED and any(
            str(v).endswith("等") for v in params.get("values", [])
        ):
            quality_rules.delete_rule(ctx, rule.id)
            dropped += 1
    return dropped


def _attach(ctx: ActionContext, entry: DemoEntry, register: DemoEntry | None) -> int:
    s = ctx.session
    if quality_rules.rules_of(s, entry.entry_id):
        return 0
    db_entry = s.get(CatalogEntry, entry.entry_id)
    assert db_entry is not None
    # Freshness is added below, judged on the rows' own last-update time.
    kinds = [k.value for k in RuleKind if k is not RuleKind.FRESHNESS]
    added = len(quality_rules.apply_suggestions(ctx, entry.entry_id, kinds))
    added -= _review_suggestions(ctx, entry)
    have = {(r.kind, r.item) for r in quality_rules.rules_of(s, entry.entry_id)}
    for rule in planned_rules(entry, register, db_entry.update_cycle):
        if (rule.kind.value, rule.item) in have:
            continue
        quality_rules.create_rule(ctx, entry.entry_id, rule)
        have.add((rule.kind.value, rule.item))
        added += 1
    return added


def _runnable(ctx: ActionContext, entry: DemoEntry, register: DemoEntry | None) -> list[str]:
    """The entry's enabled rules, less the comparisons with the household register while
    its change-data-capture stream (started by ``govdata serve``) has not loaded it yet."""
    rules = quality_rules.rules_of(ctx.session, entry.entry_id, enabled_only=True)
    waiting = register is None or not register.readable
    return [r.id for r in rules if not (waiting and r.kind == RuleKind.CROSS_SOURCE)]


def seed_quality(
    db: Database, settings: Settings, *, progress: QualityProgress | None = None
) -> dict[str, Any]:
    """Attach the demo's rules to every mounted source entry and check each readable one once.

    Returns what was done, for the demo's marker: rules added, runs made, and per entry
    its resource code, score and failing rules.
    """
    entries = _entries(db, settings)
    register = next((e for e in entries if (e.system, e.table) == REGISTER), None)
    rules = 0
    for entry in entries:
        with _officer(db, settings, entry.department).act() as ctx:
            rules += _attach(ctx, entry, register)
    readable = [e for e in entries if e.readable]
    runs: list[dict[str, Any]] = []
    for done, entry in enumerate(readable, start=1):
        with Caller(db, settings, SYSTEM, "demo").act() as ctx:
            checked = ctx.session.scalar(
                select(QualityRun.id).where(QualityRun.entry_id == entry.entry_id).limit(1)
            )
        if checked is None:
            with _officer(db, settings, entry.department).act() as ctx:
                ids = _runnable(ctx, entry, register)
                out = quality_runs.run_entry(ctx, entry.entry_id, trigger="demo", rule_ids=ids)
            runs.append(
                {
                    "entry": out.resource_code,
                    "table": f"{entry.system}.{entry.table}",
                    "status": out.status,
                    "score": out.score,
                    "failing_rules": sum(1 for r in out.results if r.failed),
                }
            )
        if progress is not None:
            progress(done, len(readable), f"{entry.system}.{entry.table}")
    return {"rules": rules, "runs": runs}
