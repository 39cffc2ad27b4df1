"""Value lists of the national catalog standard (DESIGN.md §7) with Chinese and English labels.

Stored values are the short English codes below; the portal, Excel and the
national exchange show or accept the Chinese label. ``parse_label`` accepts either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class EntryStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class VersionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    # A published version that a later published version replaced; still readable, never changed.
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


# A version can be edited only in these states; published ones never change.
EDITABLE = frozenset({VersionStatus.DRAFT, VersionStatus.RETURNED})
# The working version (the one under edit or review) is in one of these states.
WORKING = frozenset({VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.RETURNED})


class ClassCategory(StrEnum):
    """类: the top level of the classification tree."""

    BASE = "1"  # 基础
    THEME = "2"  # 主题
    DEPARTMENT = "3"  # 部门


class ShareType(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


# Higher is less shared: an item may be less shared than its entry, never more.
SHARE_ORDER = {ShareType.UNCONDITIONAL: 0, ShareType.CONDITIONAL: 1, ShareType.NONE: 2}


class ShareMode(StrEnum):
    API = "api"  # 共享平台 — 接口
    TABLE = "table"  # 共享平台 — 库表
    FILE = "file"  # 共享平台 — 文件
    EMAIL = "email"
    MEDIA = "media"


class OpenType(StrEnum):
    OPEN = "open"
    CONDITIONAL = "conditional"
    CLOSED = "closed"


class ResourceFormat(StrEnum):
    DOCUMENT = "document"  # 电子文件
    SPREADSHEET = "spreadsheet"  # 电子表格
    DATABASE = "database"  # 数据库
    IMAGE = "image"  # 图形图像
    STREAM = "stream"  # 流媒体
    SELF_DESCRIBING = "self_describing"  # 自描述格式
    API = "api"  # 服务接口
    OTHER = "other"


class UpdateCycle(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"
    OTHER = "other"


class DataType(StrEnum):
    """Item and data-element types (GB/T 19488.2 style: C, N, D, DT, B, BY)."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    BINARY = "binary"


class Origin(StrEnum):
    LOCAL = "local"
    # 申领: applied for from the upper-level (national) catalog and kept marked as such.
    UPPER = "upper"


# Grade levels 1–4 and the GB/T 43697 class each maps to.
GRADE_CLASS = {1: "general", 2: "general", 3: "important", 4: "core"}
CORE_GRADE = 4

LABELS: dict[str, dict[Any, tuple[str, str]]] = {
    "status": {
        EntryStatus.DRAFT: ("草稿", "Draft"),
        EntryStatus.SUBMITTED: ("待审核", "Submitted"),
        EntryStatus.RETURNED: ("已退回", "Returned"),
        EntryStatus.PUBLISHED: ("已发布", "Published"),
        EntryStatus.WITHDRAWN: ("已下架", "Withdrawn"),
        VersionStatus.SUPERSEDED: ("已被替代", "Superseded"),
    },
    "category": {
        ClassCategory.BASE: ("基础", "Base"),
        ClassCategory.THEME: ("主题", "Theme"),
        ClassCategory.DEPARTMENT: ("部门", "Department"),
    },
    "share_type": {
        ShareType.UNCONDITIONAL: ("无条件共享", "Unconditional"),
        ShareType.CONDITIONAL: ("有条件共享", "Conditional"),
        ShareType.NONE: ("不予共享", "Not shared"),
    },
    "share_mode": {
        ShareMode.API: ("接口", "API"),
        ShareMode.TABLE: ("库表", "Database table"),
        ShareMode.FILE: ("文件", "File"),
        ShareMode.EMAIL: ("邮件", "Email"),
        ShareMode.MEDIA: ("介质", "Storage media"),
    },
    "open_type": {
        OpenType.OPEN: ("无条件开放", "Open"),
        OpenType.CONDITIONAL: ("有条件开放", "Conditionally open"),
        OpenType.CLOSED: ("不予开放", "Not open"),
    },
    "format": {
        ResourceFormat.DOCUMENT: ("电子文件", "Electronic document"),
        ResourceFormat.SPREADSHEET: ("电子表格", "Spreadsheet"),
        ResourceFormat.DATABASE: ("数据库", "Database"),
        ResourceFormat.IMAGE: ("图形图像", "Graphics and images"),
        ResourceFormat.STREAM: ("流媒体", "Streaming media"),
        ResourceFormat.SELF_DESCRIBING: ("自描述格式", "Self-describing format"),
        ResourceFormat.API: ("服务接口", "Service API"),
        ResourceFormat.OTHER: ("其他", "Other"),
    },
    "update_cycle": {
        UpdateCycle.REALTIME: ("实时", "Real time"),
        UpdateCycle.DAILY: ("每日", "Daily"),
        UpdateCycle.WEEKLY: ("每周", "Weekly"),
        UpdateCycle.MONTHLY: ("每月", "Monthly"),
        UpdateCycle.QUARTERLY: ("每季度", "Quarterly"),
        UpdateCycle.HALF_YEARLY: ("每半年", "Half-yearly"),
        UpdateCycle.YEARLY: ("每年", "Yearly"),
        UpdateCycle.IRREGULAR: ("不定期", "Irregular"),
        UpdateCycle.OTHER: ("其他", "Other"),
    },
    "data_type": {
        DataType.STRING: ("字符型", "String"),
        DataType.INTEGER: ("整数型", "Integer"),
        DataType.DECIMAL: ("数值型", "Decimal"),
        DataType.DATE: ("日期型", "Date"),
        DataType.DATETIME: ("日期时间型", "Date and time"),
        DataType.BOOLEAN: ("布尔型", "Boolean"),
        DataType.BINARY: ("二进制", "Binary"),
    },
    "grade": {
        1: ("一级（一般数据）", "Level 1 (general data)"),
        2: ("二级（一般数据）", "Level 2 (general data)"),
        3: ("三级（重要数据）", "Level 3 (important data)"),
        4: ("四级（核心数据）", "Level 4 (core data)"),
    },
    "origin": {
        Origin.LOCAL: ("本级编目", "Catalogued here"),
        Origin.UPPER: ("上级申领", "Applied for from the upper level"),
    },
}

# Labels also accepted on input (Excel, national exchange), e.g. the bare 每季 of older templates.
ALIASES: dict[str, dict[str, str]] = {
    "update_cycle": {"每季": UpdateCycle.QUARTERLY, "每年度": UpdateCycle.YEARLY},
    "share_type": {"无条件": ShareType.UNCONDITIONAL, "有条件": ShareType.CONDITIONAL},
    "open_type": {
        "无条件": OpenType.OPEN,
        "有条件": OpenType.CONDITIONAL,
        "不开放": OpenType.CLOSED,
    },
    "share_mode": {"共享平台-接口": ShareMode.API, "共享平台-库表": ShareMode.TABLE},
}


def label(kind: str, value: object, locale: str = "zh_CN") -> str:
    """The display label of a stored value, or the value itself when unknown."""
    pair = LABELS.get(kind, {}).get(value)
    if pair is None:
        return "" if value is None else str(value)
    return pair[0] if locale.startswith("zh") else pair[1]


def parse_label(kind: str, text: str) -> str | None:
    """The stored value for a code, a Chinese or English label, or an alias; None if unknown."""
    text = text.strip()
    for value, (zh, en) in LABELS[kind].items():
        if text in (str(value), zh, en) or text.lower() == en.lower():
            return str(value)
    alias = ALIASES.get(kind, {}).get(text)
    return None if alias is None else str(alias)


def grade_class(grade: int) -> str:
    return GRADE_CLASS[grade]
