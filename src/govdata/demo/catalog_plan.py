"""The demo catalogue as data: every entry's content and what happens to it in review.

Pure and deterministic — no store involved — so the same build always plans the
same catalogue. ``catalog.py`` then carries the plan out through the catalog
actions. Three sources feed it: the source systems' tables (one entry per table,
one item per real column), the provincial departments' templates, and the
prefecture bureaus' local variants.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from govdata.catalog.schemas import EntryCreate, EntryUpdate, ItemIn
from govdata.catalog.vocab import (
    DataType,
    OpenType,
    ResourceFormat,
    ShareMode,
    ShareType,
    UpdateCycle,
    label,
)
from govdata.demo import catalog_data as data
from govdata.demo.catalog_economy import ECONOMY
from govdata.demo.catalog_resources import RESOURCES
from govdata.demo.catalog_society import SOCIETY
from govdata.demo.departments import DepartmentSeed, all_departments
from govdata.demo.divisions import PREFECTURES
from govdata.demo.people import AS_OF
from govdata.demo.sources import civil, hrss, market, medins, police
from govdata.demo.sources.schema import Column, System, Table

SEED = "govdata-demo-catalog"
SOURCE_SYSTEMS: tuple[System, ...] = (
    police.SYSTEM,
    market.SYSTEM,
    hrss.SYSTEM,
    civil.SYSTEM,
    medins.SYSTEM,
)

Fate = Literal[
    "published",  # submitted and published
    "submitted",  # waiting in the review queue
    "draft",  # never submitted
    "returned",  # submitted, returned with reasons
    "withdrawn",  # published, then taken off the catalog
    "revised",  # published, then version 2 edited, reviewed and published
    "revising",  # published; version 2 edited and waiting in the review queue
]


@dataclass
class Planned:
    department: str
    content: EntryCreate
    fate: Fate = "published"
    # The source table this entry describes: (system code, table name).
    source: tuple[str, str] | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    comment: str | None = None


# The classification of each source table, and how its data is judged.
SOURCE_CLASSES = {
    ("police", "households"): "10100201",
    ("police", "persons"): "101002",
    ("market", "enterprises"): "102001",
    ("hrss", "insured_persons"): "203001",
    ("hrss", "contributions"): "203001",
    ("civil", "marriage_registrations"): "101005",
    ("civil", "subsistence_allowances"): "203002",
    ("civil", "subsistence_members"): "203002",
    ("medins", "enrolments"): "202003",
    ("medins", "settlements"): "202004",
}
# The market register is shared freely (its ID numbers and phones only on conditions);
# the other tables are personal information.
SOURCE_PROFILES = {"market": "inner"}
SOURCE_CYCLES = {"police": UpdateCycle.REALTIME, "market": UpdateCycle.REALTIME}

# Data elements that source columns follow, by column name (then system.table.column).
COLUMN_ELEMENTS = {
    "resident_id": "DE00001", "head_resident_id": "DE00001", "legal_rep_resident_id": "DE00001",
    "male_resident_id": "DE00001", "female_resident_id": "DE00001",
    "applicant_resident_id": "DE00001", "name": "DE00002", "head_name": "DE00002",
    "male_name": "DE00002", "female_name": "DE00002", "applicant_name": "DE00002",
    "gender": "DE00003", "birth_date": "DE00004", "household_no": "DE00012",
    "household_type": "DE00013", "police_station": "DE00014", "member_count": "DE00015",
    "county_code": "DE00018", "address": "DE00019", "phone": "DE00021",
    "registered_at": "DE00024", "updated_at": "DE00025", "credit_code": "DE00026",
    "employer_credit_code": "DE00026", "entity_type": "DE00028", "legal_rep_name": "DE00029",
    "registered_capital": "DE00030", "industry_code": "DE00031", "industry": "DE00032",
    "established_on": "DE00034", "registration_authority": "DE00035", "employer_name": "DE00038",
    "insurance_type": "DE00040", "started_on": "DE00042", "enrolled_on": "DE00042",
    "contribution_base": "DE00043", "base": "DE00043", "period": "DE00044",
    "unit_amount": "DE00045", "personal_amount": "DE00046", "paid_at": "DE00047",
    "monthly_benefit": "DE00048", "business_type": "DE00051", "registry_office": "DE00052",
    "case_no": "DE00053", "family_size": "DE00055", "monthly_amount": "DE00056",
    "approved_on": "DE00057", "institution": "DE00061", "visit_type": "DE00062",
    "diagnosis_code": "DE00063", "diagnosis": "DE00064", "admitted_on": "DE00065",
    "discharged_on": "DE00066", "total_cost": "DE00067", "fund_paid": "DE00068",
    "self_paid": "DE00069", "settlement_no": "DE00070", "settled_at": "DE00071",
    "market.enterprises.name": "DE00027", "market.enterprises.status": "DE00033",
    "police.persons.status": "DE00016", "hrss.insured_persons.status": "DE00041",
    "medins.enrolments.status": "DE00041", "civil.marriage_registrations.registration_no":
    "DE00050", "civil.marriage_registrations.registered_on": "DE00023",
    "civil.subsistence_allowances.category": "DE00054",
    "civil.subsistence_allowances.status": "DE00058",
}  # fmt: skip
# Columns holding sensitive personal information (PIPL art. 28 and ID numbers, phones, addresses).
SENSITIVE_COLUMNS = re.compile(r"(resident_id|phone|address|diagnosis)")
# A trailing （...） that explains values rather than giving a unit moves to the description.
_TRAILING_NOTE = re.compile(r"（([^（）]*)）$")
_UNIT = re.compile(r"^[万元/月年日%‰]+$")
_TYPE = re.compile(r"^(\w+)(?:\((\d+)(?:,\d+)?\))?$")
_SPEC_TYPES = {
    "C": DataType.STRING,
    "N": DataType.INTEGER,
    "M": DataType.DECIMAL,
    "D": DataType.DATE,
    "T": DataType.DATETIME,
    "B": DataType.BOOLEAN,
}
_SQL_TYPES = {
    "BIGINT": DataType.INTEGER,
    "INT": DataType.INTEGER,
    "CHAR": DataType.STRING,
    "VARCHAR": DataType.STRING,
    "DATE": DataType.DATE,
    "DATETIME": DataType.DATETIME,
    "DECIMAL": DataType.DECIMAL,
}
FIRST_PUBLISH = date(2023, 3, 1)


def _stable(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


# Items ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    name_en: str
    data_type: DataType
    length: int | None
    key: bool
    sensitive: bool
    element: str | None
    description: str | None = None


def _parse_type(spec: str) -> tuple[DataType, int | None]:
    kind, size = spec[0], spec[1:]
    return _SPEC_TYPES[kind], (int(size) if size else None)


def parse_items(spec: str) -> list[_Field]:
    """Item specs of a template (see ``catalog_data``) as fields."""
    found = []
    for token in spec.split():
        head, *flags = token.split(":")
        if head.startswith("@"):
            key, _, rename = head[1:].partition("=")
            shared = data.FIELDS[key]
            kind, length = _parse_type(shared.spec)
            found.append(
                _Field(
                    rename or shared.name,
                    shared.name_en if not rename else _rename_en(shared.name_en, rename),
                    kind,
                    length,
                    "k" in flags,
                    shared.sensitive or "s" in flags,
                    shared.element,
                )
            )
            continue
        name, name_en, type_spec = head, flags[0], flags[1]
        kind, length = _parse_type(type_spec)
        found.append(_Field(name, name_en, kind, length, "k" in flags[2:], "s" in flags[2:], None))
    return found


# Renamed shared fields get an English name that says whose value it is.
_ROLE_PREFIX = (
    ("申请", "applicant_"),
    ("监护", "guardian_"),
    ("母亲", "mother_"),
    ("权利人", "owner_"),
    ("所有人", "owner_"),
    ("买受人", "buyer_"),
    ("借款人", "borrower_"),
    ("承包方", "contractor_"),
    ("当事人", "party_"),
    ("受援人", "client_"),
    ("逝者", "deceased_"),
    ("受种者", "vaccinee_"),
    ("投诉人", "complainant_"),
    ("来电", "caller_"),
    ("受损人", "victim_"),
    ("新生儿", "baby_"),
    ("购机者", "buyer_"),
    ("学生", "student_"),
    ("参保单位", "employer_"),
    ("用人单位", "employer_"),
    ("用工单位", "employer_"),
    ("缴存单位", "employer_"),
    ("中标", "supplier_"),
    ("建设单位", "builder_"),
    ("项目单位", "owner_"),
    ("承担单位", "unit_"),
    ("取水权人", "holder_"),
    ("矿业权人", "holder_"),
    ("使用单位", "user_"),
    ("户籍所在", "registered_"),
    ("发包方", "lessor_"),
)


def _rename_en(name_en: str, rename: str) -> str:
    for zh, prefix in _ROLE_PREFIX:
        if rename.startswith(zh):
            return prefix + name_en
    return name_en


def _items(fields: list[_Field], share: ShareType, grade: int) -> tuple[list[ItemIn], int]:
    """Items of an entry and the entry's grade: graded upward to its most sensitive item."""
    ordinary = min(grade, 2)
    items = []
    for f in fields:
        item_grade = 3 if f.sensitive else ordinary
        # A sensitive item of a freely shared resource is itself shared only on conditions.
        item_share = (
            ShareType.CONDITIONAL if f.sensitive and share == ShareType.UNCONDITIONAL else None
        )
        items.append(
            ItemIn(
                name=f.name,
                name_en=f.name_en,
                data_type=f.data_type,
                length=f.length,
                is_key=f.key,
                is_sensitive=f.sensitive,
                grade=item_grade,
                share_type=item_share,
                description=f.description,
                data_element=f.element,
            )
        )
    return items, max([grade, *(i.grade for i in items)])


def column_item_field(system: System, table: Table, column: Column) -> _Field:
    """The catalogue's view of one real column."""
    comment = column.comment
    note = _TRAILING_NOTE.search(comment)
    name, description = comment, None
    if note and not _UNIT.match(note.group(1)):
        name, description = comment[: note.start()], comment
    match = _TYPE.match(column.type)
    assert match is not None, column.type
    kind = _SQL_TYPES[match.group(1)]
    length = int(match.group(2)) if match.group(2) and kind != DataType.INTEGER else None
    element = COLUMN_ELEMENTS.get(f"{system.code}.{table.name}.{column.name}") or (
        COLUMN_ELEMENTS.get(column.name)
    )
    return _Field(
        name=name,
        name_en=column.name,
        data_type=kind,
        length=length,
        key=column.name == "id",
        sensitive=bool(SENSITIVE_COLUMNS.search(column.name)),
        element=element,
        description=description,
    )


# Entries -------------------------------------------------------------------------------------


def _modes(fmt: ResourceFormat, share: ShareType) -> list[ShareMode]:
    if share == ShareType.NONE:
        return []
    if fmt == ResourceFormat.DATABASE:
        return [ShareMode.TABLE, ShareMode.API]
    if fmt == ResourceFormat.API:
        return [ShareMode.API]
    return [ShareMode.FILE]


def _basis(name: str) -> str:
    for keyword, text in data.NOT_SHARED_BASIS.items():
        if keyword in name:
            return text
    return data.DEFAULT_BASIS


def _publish_date(key: str) -> date:
    span = (AS_OF - FIRST_PUBLISH).days
    return FIRST_PUBLISH + timedelta(days=_stable("date", key) % span)


_SURNAMES = "王李张刘陈杨马赵祁韩何朱胡郭冶才李星孙徐周吴鲁"
_GIVEN = "建华海燕明霞玉兰志强国庆晓东文静丽娟卫东春梅永红德明秀英俊杰雪莲"


def contact(dept: DepartmentSeed, area_code: str) -> tuple[str, str]:
    """A synthetic data contact of the department: name and office phone."""
    rng = random.Random(f"{SEED}:contact:{dept.code}")
    given = rng.choice(_GIVEN[::2]) + rng.choice(_GIVEN[1::2])
    name = rng.choice(_SURNAMES) + (given if rng.random() < 0.7 else given[0])
    return name, f"{area_code}-{rng.randint(6100000, 8899999)}"


def _summary(dept: DepartmentSeed, name: str, items: list[ItemIn], cycle: UpdateCycle) -> str:
    shown = "、".join(i.name for i in items[:4])
    return (
        f"{dept.short_name}{name}，包括{shown}等{len(items)}个信息项，"
        f"{label('update_cycle', cycle)}更新。"
    )


def _content(
    dept: DepartmentSeed,
    area_code: str,
    name: str,
    cls: str,
    profile_key: str,
    cycle: UpdateCycle,
    fmt: ResourceFormat,
    fields: list[_Field],
    summary: str,
    keywords: tuple[str, ...],
) -> EntryCreate:
    profile = data.PROFILES[profile_key]
    items, grade = _items(fields, profile.share, profile.grade)
    person, phone = contact(dept, area_code)
    conditions = data.SHARE_CONDITIONS
    return EntryCreate(
        classification_code=cls,
        provider_code=dept.code,
        name=name,
        summary=summary or _summary(dept, name, items, cycle),
        format=fmt,
        share_type=profile.share,
        share_condition=(
            conditions[_stable(name) % len(conditions)]
            if profile.share == ShareType.CONDITIONAL
            else None
        ),
        not_shared_basis=_basis(name) if profile.share == ShareType.NONE else None,
        share_modes=_modes(fmt, profile.share),
        open_type=profile.open,
        open_condition=data.OPEN_CONDITION if profile.open == OpenType.CONDITIONAL else None,
        update_cycle=cycle,
        publish_date=_publish_date(f"{dept.code}:{name}"),
        keywords=list(keywords),
        grade=grade,
        contact_name=person,
        contact_phone=phone,
        items=items,
    )


def _area_codes() -> dict[str, str]:
    """Telephone area code of each department's region (Xining's for the province)."""
    found = {d.code: "0971" for d in all_departments()}
    for p in PREFECTURES:
        for d in all_departments():
            if d.region_code == p.code:
                found[d.code] = p.area_code
    return found


def source_entries(departments: dict[str, DepartmentSeed], areas: dict[str, str]) -> list[Planned]:
    planned = []
    for system in SOURCE_SYSTEMS:
        dept = departments[system.department]
        for table in system.tables:
            fields = [column_item_field(system, table, c) for c in table.columns]
            cycle = SOURCE_CYCLES.get(system.code, UpdateCycle.DAILY)
            summary = (
                f"{system.name}“{table.comment}”表（{system.code}.{table.name}）的全部"
                f"{len(fields)}个字段，由{dept.short_name}按{label('update_cycle', cycle)}"
                "通过共享平台库表方式归集，主键为id，按updated_at增量同步。"
            )
            content = _content(
                dept,
                areas[dept.code],
                table.comment,
                SOURCE_CLASSES[(system.code, table.name)],
                SOURCE_PROFILES.get(system.code, "personal"),
                cycle,
                ResourceFormat.DATABASE,
                fields,
                summary,
                (system.name, table.name),
            )
            planned.append(Planned(dept.code, content, source=(system.code, table.name)))
    return planned


def template_entries(
    departments: dict[str, DepartmentSeed], areas: dict[str, str]
) -> list[Planned]:
    planned = []
    provincial = {**SOCIETY, **ECONOMY, **RESOURCES}
    for code, dept in departments.items():
        if dept.region_code == "630000":
            chosen = [(tpl.name, tpl) for tpl in provincial.get(code, ())]
        else:
            chosen = _local_choice(dept)
        for name, tpl in chosen:
            content = _content(
                dept,
                areas[code],
                name,
                tpl.cls,
                tpl.profile,
                tpl.cycle,
                tpl.fmt,
                parse_items(tpl.items),
                tpl.summary,
                tpl.keywords,
            )
            planned.append(Planned(code, content))
    return planned


def _local_choice(dept: DepartmentSeed) -> list[tuple[str, data.Template]]:
    """One or two of the bureau's local templates, varied by prefecture, named after it."""
    prefecture = next(p for p in PREFECTURES if p.code == dept.region_code)
    suffix = dept.code[len(prefecture.slug) + 1 :]
    options = data.LOCAL.get(suffix, ())
    if not options:
        return []
    index = PREFECTURES.index(prefecture)
    picks = [options[index % len(options)]]
    if len(options) > 1 and _stable(dept.code) % 3 != 0:
        picks.append(options[(index + 1) % len(options)])
    return [(prefecture.name + tpl.name, tpl) for tpl in picks]


# What happens in review ----------------------------------------------------------------------

# How many template entries end in each state besides published (the source tables all publish).
FATES: tuple[tuple[Fate, int], ...] = (
    ("submitted", 16),
    ("draft", 12),
    ("returned", 8),
    ("withdrawn", 2),
    ("revised", 8),
    ("revising", 4),
)
RETURNS: tuple[tuple[dict[str, str], str], ...] = (
    (
        {"summary": "摘要过于简单，请说明数据来源系统、覆盖范围和起始时间。"},
        "请补充摘要后重新提交。",
    ),
    (
        {
            "update_cycle": "更新周期与实际归集频率不一致，请与业务系统核对。",
            "items[1].description": "主键信息项请补充说明编码规则。",
        },
        "请核实更新周期。",
    ),
    (
        {"share_modes": "库表方式共享需同时提供接口方式，便于按需查询核验。"},
        "共享方式需调整。",
    ),
    (
        {"items[2].data_element": "请关联标准数据元，便于跨部门比对。"},
        "信息项未关联数据元。",
    ),
    (
        {"classification": "分类有误，请归入对应的“目”，并与同类资源保持一致。"},
        "请调整资源分类。",
    ),
)
WITHDRAWALS = (
    "该资源已由新版业务系统替代，数据已并入同类目录，原目录停止更新。",
    "经年度目录清理核查，该资源已不再产生新数据，按规定下架。",
)
REVISED_AFTER = timedelta(days=120)
REVISION_NOTE = "增加“数据更新时间”信息项，支持按时间增量同步；补充摘要说明。"


def revision(content: EntryCreate) -> EntryUpdate:
    """The change a department makes in version 2: an update-time item and a longer summary."""
    base = content.model_dump(exclude={"classification_code", "provider_code"})
    items = [ItemIn.model_validate(i) for i in base.pop("items")]
    if not any(i.name_en == "updated_at" for i in items):
        shared = data.FIELDS["updated"]
        items.append(
            ItemIn(
                name=shared.name,
                name_en=shared.name_en,
                data_type=DataType.DATETIME,
                grade=1,
                data_element=shared.element,
                description="记录最后一次变更的时间，用于增量同步。",
            )
        )
    base["summary"] = content.summary + "自本版起提供数据更新时间，可按时间增量同步。"
    if content.publish_date is not None:
        base["publish_date"] = min(content.publish_date + REVISED_AFTER, AS_OF)
    return EntryUpdate(**base, items=items, change_note=REVISION_NOTE)


def plan_catalog() -> list[Planned]:
    """Every demo entry in creation order, with its fate; the same list on every call."""
    departments = {d.code: d for d in all_departments()}
    areas = _area_codes()
    sources = source_entries(departments, areas)
    templates = template_entries(departments, areas)
    rng = random.Random(SEED)
    order = list(range(len(templates)))
    rng.shuffle(order)
    fates = [fate for fate, count in FATES for _ in range(count)]
    seen: Counter[str] = Counter()
    for index, fate in zip(order, fates, strict=False):
        entry = templates[index]
        entry.fate = fate
        if fate == "returned":
            entry.reasons, entry.comment = RETURNS[seen[fate] % len(RETURNS)]
        elif fate == "withdrawn":
            entry.comment = WITHDRAWALS[seen[fate] % len(WITHDRAWALS)]
        seen[fate] += 1
    return sources + templates
