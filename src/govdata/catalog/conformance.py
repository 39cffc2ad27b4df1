"""Conformance check (符合性审查) of an entry's content against the catalog standard.

A pure function of the content and the standards registry: it reads data elements
and the classification tree, and never writes. Submit refuses content with any
``error``; ``warning`` findings are shown to the officer and the reviewer.

Finding codes are stable (the portal, the API and the tests key on them); the
``field`` is a path into ``EntryContent``: ``name``, ``share_condition``,
``items[2].length`` — items counted from 1, as review reasons and item positions are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogClass, DataElement
from govdata.catalog.schemas import EntryContent, Finding, ItemIn
from govdata.catalog.vocab import (
    CORE_GRADE,
    SHARE_ORDER,
    DataType,
    OpenType,
    ResourceFormat,
    ShareType,
    label,
)
from govdata.standards import uscc

# <classification code>/<6-digit sequence>, e.g. 101001/000123.
RESOURCE_CODE_RE = re.compile(r"^\d{1,32}/\d{6}$")
# Item English names become column names in mounts and exchange files.
NAME_EN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
# Entries are classified at 目 (level 3) or below; a coarser node says too little.
MIN_CLASS_LEVEL = 3


class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []

    def error(self, code: str, field: str, zh: str, en: str) -> None:
        self.items.append(
            Finding(severity="error", code=code, field=field, message=zh, message_en=en)
        )

    def warning(self, code: str, field: str, zh: str, en: str) -> None:
        self.items.append(
            Finding(severity="warning", code=code, field=field, message=zh, message_en=en)
        )


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def check_content(
    session: Session,
    content: EntryContent,
    *,
    classification_code: str | None = None,
    provider_credit_code: str | None = None,
) -> list[Finding]:
    """Every finding for ``content``: required fields, code formats, sharing and grading rules,
    and agreement of the items with the data elements they reference."""
    out = _Findings()
    _required(content, out)
    _codes(content, out)
    _sharing(content, out)
    if classification_code is not None:
        _classification(session, classification_code, out)
    if provider_credit_code is not None and not uscc.is_valid(provider_credit_code):
        out.error(
            "provider_code_invalid",
            "provider_code",
            f"提供方统一社会信用代码“{provider_credit_code}”不合法",
            f"The provider's credit code '{provider_credit_code}' is not valid",
        )
    _items(session, content, out)
    return out.items


def _required(c: EntryContent, out: _Findings) -> None:
    if not c.summary.strip():
        out.error("summary_required", "summary", "请填写资源摘要", "The summary is required")
    if not c.items:
        out.error("items_required", "items", "至少需要一个信息项", "At least one item is required")
    if not (c.contact_name or "").strip():
        out.error(
            "contact_required", "contact_name", "请填写联系人", "A contact person is required"
        )
    if not (c.contact_phone or "").strip() and not (c.contact_email or "").strip():
        out.error(
            "contact_required",
            "contact_phone",
            "请填写联系电话或电子邮箱",
            "A contact phone number or email is required",
        )
    if c.share_type != ShareType.NONE and not c.share_modes:
        out.error(
            "share_modes_required",
            "share_modes",
            "共享的资源须填写共享方式",
            "A shared resource needs at least one share mode",
        )
    if c.publish_date is None:
        # A warning, not an error: the officer rarely knows the day at submit, and
        # publishing fills in the publication day when it is still empty.
        out.warning(
            "publish_date_missing",
            "publish_date",
            "未填写发布日期，发布时将取发布当日",
            "No publish date; the day of publication will be used",
        )


def _codes(c: EntryContent, out: _Findings) -> None:
    for i, code in enumerate(c.related_codes):
        if not RESOURCE_CODE_RE.match(code):
            out.error(
                "related_code_invalid",
                f"related_codes[{i}]",
                f"关联资源代码“{code}”格式不正确，应为“分类代码/6位顺序码”",
                f"Related resource code '{code}' must look like '<class code>/<6 digits>'",
            )
    seen: dict[str, int] = {}
    seen_en: dict[str, int] = {}
    for i, item in enumerate(c.items, start=1):
        if item.name in seen:
            out.error(
                "item_name_duplicate",
                f"items[{i}].name",
                f"信息项名称“{item.name}”与第 {seen[item.name] + 1} 项重复",
                f"Item name '{item.name}' repeats item {seen[item.name] + 1}",
            )
        seen.setdefault(item.name, i)
        if item.name_en is None:
            continue
        if not NAME_EN_RE.match(item.name_en):
            out.error(
                "item_name_en_invalid",
                f"items[{i}].name_en",
                f"英文名称“{item.name_en}”须以字母开头，只含字母、数字和下划线",
                f"English name '{item.name_en}' must start with a letter and contain only "
                "letters, digits and underscores",
            )
        elif item.name_en.lower() in seen_en:
            out.error(
                "item_name_en_duplicate",
                f"items[{i}].name_en",
                f"英文名称“{item.name_en}”与第 {seen_en[item.name_en.lower()] + 1} 项重复",
                f"English name '{item.name_en}' repeats item {seen_en[item.name_en.lower()] + 1}",
            )
        seen_en.setdefault(item.name_en.lower(), i)


def _sharing(c: EntryContent, out: _Findings) -> None:
    if c.share_type == ShareType.NONE and not (c.not_shared_basis or "").strip():
        out.error(
            "not_shared_basis_required",
            "not_shared_basis",
            "不予共享的资源须填写法律、行政法规或国务院决定依据",
            "A resource that is not shared needs its legal basis",
        )
    if c.share_type == ShareType.CONDITIONAL and not (c.share_condition or "").strip():
        out.error(
            "share_condition_required",
            "share_condition",
            "有条件共享的资源须填写共享条件",
            "A conditionally shared resource needs its share condition",
        )
    if c.open_type == OpenType.CONDITIONAL and not (c.open_condition or "").strip():
        out.error(
            "open_condition_required",
            "open_condition",
            "有条件开放的资源须填写开放条件",
            "A conditionally open resource needs its open condition",
        )
    if c.open_type != OpenType.CLOSED:
        if c.grade >= CORE_GRADE:
            out.error(
                "core_data_open",
                "open_type",
                "核心数据（四级）不得开放",
                "Core data (level 4) cannot be opened to the public",
            )
        if c.share_type == ShareType.NONE:
            out.error(
                "not_shared_open",
                "open_type",
                "不予共享的资源不得开放",
                "A resource that is not shared cannot be open",
            )


def _classification(s: Session, code: str, out: _Findings) -> None:
    node = s.scalar(select(CatalogClass).where(CatalogClass.code == code))
    if node is None:
        out.error(
            "class_unknown",
            "classification_code",
            f"分类代码“{code}”不存在",
            f"Unknown classification code '{code}'",
        )
    elif not node.is_active:
        out.error(
            "class_inactive",
            "classification_code",
            f"分类“{node.name}”已停用",
            f"Classification '{node.name}' is no longer in use",
        )
    elif node.level < MIN_CLASS_LEVEL:
        out.warning(
            "class_too_coarse",
            "classification_code",
            f"资源宜归入“目”及以下分类，当前为“{node.name}”",
            f"Classify the resource at the 目 level or below, not '{node.name}'",
        )


def _items(s: Session, c: EntryContent, out: _Findings) -> None:
    refs = {item.data_element for item in c.items if item.data_element}
    elements = (
        {
            e.identifier: e
            for e in s.scalars(select(DataElement).where(DataElement.identifier.in_(refs)))
        }
        if refs
        else {}
    )
    entry_share = SHARE_ORDER[c.share_type]
    for i, item in enumerate(c.items, start=1):
        path = f"items[{i}]"
        if item.share_type is not None and SHARE_ORDER[item.share_type] < entry_share:
            out.error(
                "item_share_looser",
                f"{path}.share_type",
                f"信息项“{item.name}”的共享类型（{label('share_type', item.share_type)}）"
                f"不得比资源（{label('share_type', c.share_type)}）更宽松",
                f"Item '{item.name}' cannot be shared more freely than the resource",
            )
        if item.grade > c.grade:
            out.error(
                "item_grade_above_entry",
                f"{path}.grade",
                f"信息项“{item.name}”的级别（{item.grade}级）高于资源级别（{c.grade}级），"
                "资源应就高定级",
                f"Item '{item.name}' is graded {item.grade}, above the resource's {c.grade}; "
                "grade the resource upward",
            )
        if item.is_sensitive and item.grade < 3:
            out.warning(
                "sensitive_low_grade",
                f"{path}.grade",
                f"敏感信息项“{item.name}”的级别低于三级，请核实",
                f"Sensitive item '{item.name}' is graded below level 3; please check",
            )
        if item.length is None and item.data_type == DataType.STRING:
            out.warning(
                "length_missing",
                f"{path}.length",
                f"字符型信息项“{item.name}”未填写长度",
                f"String item '{item.name}' has no length",
            )
        _element(item, path, elements, out)
    if c.format == ResourceFormat.DATABASE and c.items and not any(i.is_key for i in c.items):
        out.warning(
            "key_item_missing",
            "items",
            "数据库类资源宜标明至少一个主键信息项",
            "A database resource should mark at least one key item",
        )


def _element(item: ItemIn, path: str, elements: dict[str, DataElement], out: _Findings) -> None:
    if not item.data_element:
        out.warning(
            "data_element_missing",
            f"{path}.data_element",
            f"信息项“{item.name}”未关联数据元",
            f"Item '{item.name}' references no data element",
        )
        return
    element = elements.get(item.data_element)
    if element is None:
        out.error(
            "data_element_unknown",
            f"{path}.data_element",
            f"数据元“{item.data_element}”不存在",
            f"Unknown data element '{item.data_element}'",
        )
        return
    if element.status == "retired":
        out.warning(
            "data_element_retired",
            f"{path}.data_element",
            f"数据元“{element.identifier} {element.name}”已废止",
            f"Data element '{element.identifier}' ({element.name}) is retired",
        )
    if item.data_type != element.data_type:
        out.error(
            "data_type_mismatch",
            f"{path}.data_type",
            f"信息项“{item.name}”的数据类型（{label('data_type', item.data_type)}）"
            f"与数据元“{element.name}”（{label('data_type', element.data_type)}）不一致",
            f"Item '{item.name}' is {item.data_type} but data element '{element.identifier}' "
            f"is {element.data_type}",
        )
    if (
        item.length is not None
        and element.max_length is not None
        and item.length > element.max_length
    ):
        out.error(
            "length_exceeds_element",
            f"{path}.length",
            f"信息项“{item.name}”的长度 {item.length} 超过数据元“{element.name}”"
            f"的最大长度 {element.max_length}",
            f"Item '{item.name}' has length {item.length}, above data element "
            f"'{element.identifier}' maximum {element.max_length}",
        )
