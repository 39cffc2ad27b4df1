"""Quality rules attached to catalog entries: list, add, change, delete, and suggestions made
from each item's type and data element.

A rule checks one item (by its information-item name) or the table as a whole. Rules are
validated when written: the field must be one of the entry's mapped fields, a custom
condition must parse (SQLGlot, only this entry's fields), a referential or cross-source
rule must name an entry and items that exist. The officer of the provider department and
the operator manage them; everyone who may read quality figures may list them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.access import entry_scope
from govdata.catalog.models import CatalogEntry, CodeValue, DataElement, EntryItem
from govdata.catalog.vocab import DataType, UpdateCycle
from govdata.core.clock import now
from govdata.core.errors import InvalidInput, NotFound
from govdata.exchange.models import Mount
from govdata.governance import predicates, rules_sql
from govdata.governance.quality_models import QualityRule
from govdata.governance.quality_schemas import (
    DEFAULT_DIMENSION,
    DIMENSION_LABELS,
    KIND_LABELS,
    TABLE_KINDS,
    Dimension,
    RuleIn,
    RuleKind,
    RuleOut,
    RuleUpdate,
    SuggestionOut,
)
from govdata.governance.vocab import label
from govdata.security.context import ActionContext
from govdata.security.permissions import Perm

# Hours after which a table is stale, per update cycle: the cycle plus a day's grace.
CYCLE_HOURS: dict[str, int] = {
    UpdateCycle.REALTIME: 24,
    UpdateCycle.DAILY: 48,
    UpdateCycle.WEEKLY: 8 * 24,
    UpdateCycle.MONTHLY: 32 * 24,
    UpdateCycle.QUARTERLY: 93 * 24,
    UpdateCycle.HALF_YEARLY: 184 * 24,
    UpdateCycle.YEARLY: 366 * 24,
}
ROW_COUNT_CHANGE = 0.5
EARLIEST_DATE = "1900-01-01"
_SPLIT = re.compile(r"[、，,；;/]")


def _not_found(ref: str) -> NotFound:
    return NotFound(
        "目录不存在或无权查看",
        "Catalog entry not found",
        code="entry_not_found",
        details={"ref": ref},
    )


def find_entry(s: Session, ref: str) -> CatalogEntry | None:
    """An entry by id or by resource code (codes hold a ``/``)."""
    if "/" in ref:
        return s.scalars(select(CatalogEntry).where(CatalogEntry.resource_code == ref)).first()
    return s.get(CatalogEntry, ref)


def load_entry(ctx: ActionContext, ref: str, perm: Perm) -> CatalogEntry:
    """The entry, once ``perm`` over its provider department is checked; 404 for actors who
    may not read quality figures there."""
    entry = find_entry(ctx.session, ref)
    if entry is None or not ctx.actor.can(Perm.QUALITY_READ, entry_scope(entry)):
        ctx.require(perm)
        raise _not_found(ref)
    ctx.require(perm, entry_scope(entry), target_id=entry.id)
    return entry


def mount_of(s: Session, entry_id: str) -> Mount | None:
    return s.scalars(select(Mount).where(Mount.entry_id == entry_id)).first()


def entry_items(s: Session, entry: CatalogEntry) -> list[EntryItem]:
    return list(
        s.scalars(
            select(EntryItem)
            .where(EntryItem.version_id == entry.published_version_id)
            .order_by(EntryItem.position)
        )
    )


@dataclass(frozen=True)
class Fields:
    """How an entry's items map to the columns its rows carry (the mount's fields)."""

    by_item: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return list(self.by_item.values())

    def column(self, item: str) -> str:
        return self.by_item[item]


def entry_fields(s: Session, entry: CatalogEntry) -> Fields:
    """Item name → field name of the entry's mount; before mounting, the items' own names."""
    mount = mount_of(s, entry.id)
    if mount is not None and mount.columns:
        return Fields({str(c["item"]): str(c["field"]) for c in mount.columns if c.get("item")})
    return Fields({i.name: i.name_en or i.name for i in entry_items(s, entry)})


def _invalid(zh: str, en: str, **details: Any) -> InvalidInput:
    return InvalidInput(
        f"质量规则无效：{zh}",
        f"Invalid quality rule: {en}",
        code="quality_rule_invalid",
        details=details,
    )


def _other_items(s: Session, code: str) -> tuple[CatalogEntry, Fields]:
    other = find_entry(s, code)
    if other is None:
        raise _invalid(f"目录 {code} 不存在", f"there is no entry {code!r}", entry=code)
    return other, entry_fields(s, other)


def validate_rule(s: Session, entry: CatalogEntry, data: RuleIn) -> None:
    """Refuse a rule that could not run: unknown item, bad parameters, unknown other entry."""
    fields = entry_fields(s, entry)
    kind = data.kind
    p = data.params
    if kind in TABLE_KINDS:
        if data.item is not None:
            raise _invalid("表级规则不针对单个信息项", "a table-level rule names no item")
    elif data.item not in fields.by_item:
        raise _invalid(
            f"信息项 {data.item} 不存在", f"there is no item {data.item!r}", item=data.item
        )
    if kind == RuleKind.CUSTOM:
        predicates.parse_predicate(str(p.get("predicate", "")), fields.columns)
        return
    if kind == RuleKind.FRESHNESS:
        hours = p.get("max_age_hours")
        if hours is not None and (not isinstance(hours, (int, float)) or hours <= 0):
            raise _invalid("最长间隔须为正数", "max_age_hours must be positive")
        if hours is None and entry.update_cycle not in CYCLE_HOURS:
            raise _invalid(
                "更新周期不定期的目录须给出最长间隔（小时）",
                "an entry without a regular update cycle needs max_age_hours",
            )
        return
    if kind == RuleKind.ROW_COUNT:
        change = p.get("max_change", ROW_COUNT_CHANGE)
        if not isinstance(change, (int, float)) or change <= 0:
            raise _invalid("波动阈值须为正数", "max_change must be positive")
        return
    if kind == RuleKind.REFERENTIAL:
        _, other = _other_items(s, str(p.get("entry", "")))
        if p.get("item") not in other.by_item:
            raise _invalid("参照信息项不存在", "the referenced item does not exist")
        return
    if kind == RuleKind.CROSS_SOURCE:
        _, other = _other_items(s, str(p.get("entry", "")))
        if p.get("key") not in fields.by_item:
            raise _invalid("关联键不存在", "the key item does not exist")
        if p.get("other_key") not in other.by_item or p.get("other_item") not in other.by_item:
            raise _invalid("比对目录的信息项不存在", "the other entry's items do not exist")
        return
    assert data.item is not None
    if kind == RuleKind.PATTERN:
        try:
            re.compile(str(p.get("regex", "")))
        except re.error as exc:
            raise _invalid(f"正则表达式有误（{exc}）", f"bad regular expression ({exc})") from exc
    spec = rules_sql.RuleSpec("new", kind.value, fields.column(data.item), dict(p))
    try:
        rules_sql.compile_rules([spec], fields.columns)
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid(
            f"参数不完整或类型不符（{exc}）", f"missing or mistyped parameter ({exc})"
        ) from exc


def _default_name(data: RuleIn, locale: str = "zh") -> str:
    kind = label(KIND_LABELS, data.kind, locale)
    return f"{data.item}：{kind}" if data.item else kind


def rule_out(r: QualityRule, locale: str) -> RuleOut:
    return RuleOut(
        id=r.id,
        entry_id=r.entry_id,
        item=r.item,
        kind=r.kind,
        kind_label=label(KIND_LABELS, RuleKind(r.kind), locale),
        params=dict(r.params or {}),
        dimension=r.dimension,
        dimension_label=label(DIMENSION_LABELS, Dimension(r.dimension), locale),
        severity=r.severity,
        enabled=r.enabled,
        origin=r.origin,
        name=r.name,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def rules_of(s: Session, entry_id: str, *, enabled_only: bool = False) -> list[QualityRule]:
    stmt = select(QualityRule).where(QualityRule.entry_id == entry_id)
    if enabled_only:
        stmt = stmt.where(QualityRule.enabled.is_(True))
    return list(s.scalars(stmt.order_by(QualityRule.created_at, QualityRule.id)))


def list_rules(ctx: ActionContext, entry_ref: str) -> list[RuleOut]:
    """The entry's quality rules, oldest first."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_READ)
    return [rule_out(r, ctx.locale) for r in rules_of(ctx.session, entry.id)]


def _add(ctx: ActionContext, entry: CatalogEntry, data: RuleIn, origin: str) -> QualityRule:
    validate_rule(ctx.session, entry, data)
    rule = QualityRule(
        entry_id=entry.id,
        item=data.item,
        kind=data.kind.value,
        params=dict(data.params),
        dimension=(data.dimension or DEFAULT_DIMENSION[data.kind]).value,
        severity=data.severity,
        enabled=data.enabled,
        origin=origin,
        name=data.name or _default_name(data),
        created_by=ctx.actor.id if ctx.actor.kind == "user" else None,
    )
    ctx.session.add(rule)
    ctx.session.flush()
    return rule


def create_rule(ctx: ActionContext, entry_ref: str, data: RuleIn) -> RuleOut:
    """Attach a rule to the entry (``quality.manage`` over its provider department)."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_MANAGE)
    rule = _add(ctx, entry, data, "manual")
    ctx.audit(
        "governance.quality.rule.create",
        target_type="quality_rule",
        target_id=rule.id,
        details={"entry_id": entry.id, "kind": rule.kind, "item": rule.item},
    )
    return rule_out(rule, ctx.locale)


def _load_rule(ctx: ActionContext, rule_id: str) -> tuple[QualityRule, CatalogEntry]:
    rule = ctx.session.get(QualityRule, rule_id)
    entry = ctx.session.get(CatalogEntry, rule.entry_id) if rule else None
    if rule is None or entry is None or not ctx.actor.can(Perm.QUALITY_READ, entry_scope(entry)):
        ctx.require(Perm.QUALITY_MANAGE)
        raise NotFound(
            "质量规则不存在或无权查看",
            "Quality rule not found",
            code="quality_rule_not_found",
            details={"id": rule_id},
        )
    ctx.require(Perm.QUALITY_MANAGE, entry_scope(entry), target_id=rule.id)
    return rule, entry


def update_rule(ctx: ActionContext, rule_id: str, data: RuleUpdate) -> RuleOut:
    """Change a rule's parameters, dimension, severity, name or switch it on or off."""
    rule, entry = _load_rule(ctx, rule_id)
    changed = data.model_dump(exclude_none=True)
    if data.params is not None:
        candidate = RuleIn(kind=RuleKind(rule.kind), item=rule.item, params=data.params)
        validate_rule(ctx.session, entry, candidate)
        rule.params = dict(data.params)
    if data.dimension is not None:
        rule.dimension = data.dimension.value
    if data.severity is not None:
        rule.severity = data.severity
    if data.enabled is not None:
        rule.enabled = data.enabled
    if data.name:
        rule.name = data.name
    rule.updated_at = now()
    ctx.audit(
        "governance.quality.rule.update",
        target_type="quality_rule",
        target_id=rule.id,
        details={"changed": sorted(changed)},
    )
    return rule_out(rule, ctx.locale)


def delete_rule(ctx: ActionContext, rule_id: str) -> None:
    """Remove a rule; past runs keep its results."""
    rule, entry = _load_rule(ctx, rule_id)
    ctx.session.delete(rule)
    ctx.audit(
        "governance.quality.rule.delete",
        target_type="quality_rule",
        target_id=rule_id,
        details={"entry_id": entry.id, "kind": rule.kind, "item": rule.item},
    )


# -- suggestions --------------------------------------------------------------------------------


def _element_facts(s: Session, items: Sequence[EntryItem]) -> dict[str, DataElement]:
    ids = {i.data_element for i in items if i.data_element}
    if not ids:
        return {}
    rows = s.scalars(select(DataElement).where(DataElement.identifier.in_(ids)))
    return {d.identifier: d for d in rows}


def _codes(s: Session, code_set_id: str) -> list[str]:
    return list(
        s.scalars(
            select(CodeValue.code)
            .where(CodeValue.code_set_id == code_set_id)
            .order_by(CodeValue.position, CodeValue.code)
        )
    )


def _names(item: EntryItem, element: DataElement | None) -> str:
    parts = [item.name, item.name_en or ""]
    if element is not None:
        parts += [element.name, element.name_en or ""]
    return " ".join(parts).lower()


def _item_suggestions(
    s: Session, item: EntryItem, element: DataElement | None
) -> list[tuple[RuleIn, str]]:
    out: list[tuple[RuleIn, str]] = []
    name = item.name

    def add(kind: RuleKind, reason: str, severity: int = 3, **params: Any) -> None:
        out.append((RuleIn(kind=kind, item=name, params=params, severity=severity), reason))

    if item.is_key:
        add(RuleKind.NOT_NULL, "主键信息项不得为空", 4)
        add(RuleKind.UNIQUE, "主键信息项取值唯一", 4)
    words = _names(item, element)
    ident = element.name_en if element is not None else None
    if ident == "resident_id" or "身份号码" in words or "身份证" in words:
        add(RuleKind.RESIDENT_ID, "公民身份号码须符合 GB 11643（校验码、出生日期、地区码）", 4)
    elif ident == "uscc" or "信用代码" in words:
        add(RuleKind.CREDIT_CODE, "统一社会信用代码须符合 GB 32100（含组织机构代码校验）", 4)
    elif "手机" in words or "mobile" in words:
        add(RuleKind.MOBILE, "手机号码须为 11 位有效号段")
    elif element is not None and element.code_set_id:
        codes = _codes(s, element.code_set_id)
        if codes:
            add(
                RuleKind.ALLOWED,
                f"取值须在代码集 {element.code_set.name if element.code_set else ''} 内",
                values=codes,
            )
    elif element is not None and element.value_domain and item.data_type == DataType.STRING:
        domain = element.value_domain.strip().rstrip("。.")
        values = [v.strip() for v in _SPLIT.split(domain) if v.strip()]
        # A list ending in 等 ("and so on") or naming 其他 is open: not a rule's value set.
        closed = not domain.endswith(("等", "…", "...")) and "其他" not in domain
        if closed and 1 < len(values) <= 50 and all(len(v) <= 32 for v in values):
            add(RuleKind.ALLOWED, f"取值须在数据元 {element.identifier} 的值域内", values=values)
    if item.data_type in (DataType.DATE, DataType.DATETIME):
        add(
            RuleKind.DATE_VALID,
            "日期须为有效日期，且不早于 1900 年、不晚于今天",
            min=EARLIEST_DATE,
            max="today",
        )
    length = item.length or (element.max_length if element is not None else None)
    fixed = element is not None and bool(re.fullmatch(r"c\d+", element.format or ""))
    if (
        item.data_type == DataType.STRING
        and length
        and not any(r.kind in (RuleKind.RESIDENT_ID, RuleKind.CREDIT_CODE) for r, _ in out)
    ):
        if fixed:
            add(
                RuleKind.LENGTH,
                f"定长 {length} 位（数据元格式 {element.format if element else ''}）",
                min=length,
                max=length,
            )
        else:
            add(RuleKind.LENGTH, f"长度不超过 {length}", min=0, max=length)
    return out


def _table_suggestions(entry: CatalogEntry) -> list[tuple[RuleIn, str]]:
    out: list[tuple[RuleIn, str]] = []
    if entry.update_cycle in CYCLE_HOURS:
        out.append(
            (
                RuleIn(kind=RuleKind.FRESHNESS, params={}, severity=3),
                "按目录的更新周期检查数据是否按时更新",
            )
        )
    out.append(
        (
            RuleIn(kind=RuleKind.ROW_COUNT, params={"max_change": ROW_COUNT_CHANGE}, severity=2),
            "记录数较上次检查变化超过一半时提示",
        )
    )
    return out


def _same(rule: QualityRule, data: RuleIn) -> bool:
    return rule.kind == data.kind.value and rule.item == data.item


def suggest_rules(ctx: ActionContext, entry_ref: str) -> list[SuggestionOut]:
    """Rules the entry's items call for, from their type, length, key flag and data element
    (identifier checksums, code sets, value domains, dates); ``exists`` marks those already
    attached. Nothing is saved."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_READ)
    s = ctx.session
    items = entry_items(s, entry)
    elements = _element_facts(s, items)
    mapped = entry_fields(s, entry).by_item
    pairs: list[tuple[RuleIn, str]] = []
    for item in items:
        if item.name in mapped:
            pairs += _item_suggestions(s, item, elements.get(item.data_element or ""))
    pairs += _table_suggestions(entry)
    existing = rules_of(s, entry.id)
    return [
        SuggestionOut(
            rule=rule.model_copy(update={"name": _default_name(rule, ctx.locale)}),
            reason=reason,
            exists=any(_same(r, rule) for r in existing),
        )
        for rule, reason in pairs
    ]


def apply_suggestions(
    ctx: ActionContext, entry_ref: str, kinds: Sequence[str] | None = None
) -> list[RuleOut]:
    """Attach every suggestion not yet attached (or those of ``kinds``); returns the new
    rules."""
    entry = load_entry(ctx, entry_ref, Perm.QUALITY_MANAGE)
    added: list[QualityRule] = []
    for suggestion in suggest_rules(ctx, entry.id):
        if suggestion.exists or (kinds and suggestion.rule.kind.value not in kinds):
            continue
        added.append(_add(ctx, entry, suggestion.rule, "suggested"))
    ctx.audit(
        "governance.quality.rule.suggest",
        target_type="catalog_entry",
        target_id=entry.id,
        details={"added": [r.id for r in added], "kinds": sorted({r.kind for r in added})},
    )
    return [rule_out(r, ctx.locale) for r in added]


def resolve_date(value: str) -> date:
    """A plausibility bound: an ISO date or ``today`` (the day of the run)."""
    return now().date() if value == "today" else date.fromisoformat(value)
