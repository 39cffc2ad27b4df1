"""Seeded reference data: classification tree, code sets, data elements; 0005's downgrade."""

from __future__ import annotations

import re

from alembic import command
from sqlalchemy import func, select

from govdata.catalog.models import CatalogClass, CodeSet, CodeValue, DataElement
from govdata.catalog.vocab import LABELS, DataType
from govdata.core.db import Database, alembic_config
from govdata.demo.sources import civil, hrss, market, medins, police

# Demo source columns that carry a standard concept -> the data element that defines it.
# Demo source columns that carry a standard concept -> the name of the data element for it.
DEMO_COLUMNS = {
    (police, "persons", "resident_id"): "公民身份号码",
    (police, "persons", "name"): "姓名",
    (police, "persons", "gender"): "性别代码",
    (police, "persons", "birth_date"): "出生日期",
    (police, "persons", "ethnicity"): "民族名称",
    (police, "persons", "marital_status"): "婚姻状况名称",
    (police, "persons", "education"): "学历名称",
    (police, "persons", "relation"): "家庭关系名称",
    (police, "persons", "household_no"): "户号",
    (police, "households", "household_type"): "户别",
    (police, "households", "police_station"): "户口登记机关",
    (police, "households", "member_count"): "户内人数",
    (police, "persons", "status"): "人口状态",
    (police, "persons", "county_code"): "行政区划代码",
    (police, "persons", "address"): "详细地址",
    (police, "persons", "phone"): "联系电话",
    (police, "persons", "registered_at"): "登记时间",
    (market, "enterprises", "credit_code"): "统一社会信用代码",
    (market, "enterprises", "name"): "市场主体名称",
    (market, "enterprises", "entity_type"): "市场主体类型",
    (market, "enterprises", "legal_rep_name"): "法定代表人姓名",
    (market, "enterprises", "registered_capital"): "注册资本",
    (market, "enterprises", "industry_code"): "行业门类代码",
    (market, "enterprises", "industry"): "行业门类名称",
    (market, "enterprises", "status"): "登记状态",
    (market, "enterprises", "established_on"): "成立日期",
    (market, "enterprises", "registration_authority"): "登记机关",
    (hrss, "insured_persons", "insurance_type"): "险种类型",
    (hrss, "insured_persons", "status"): "参保状态",
    (hrss, "insured_persons", "started_on"): "参保日期",
    (hrss, "insured_persons", "contribution_base"): "社会保险缴费基数",
    (hrss, "contributions", "period"): "缴费年月",
    (hrss, "contributions", "unit_amount"): "单位缴费金额",
    (hrss, "contributions", "personal_amount"): "个人缴费金额",
    (hrss, "contributions", "paid_at"): "到账时间",
    (hrss, "insured_persons", "monthly_benefit"): "月养老金",
    (civil, "marriage_registrations", "registration_no"): "婚姻登记证字号",
    (civil, "marriage_registrations", "business_type"): "婚姻登记业务类型",
    (civil, "marriage_registrations", "registry_office"): "婚姻登记机关",
    (civil, "subsistence_allowances", "case_no"): "低保证编号",
    (civil, "subsistence_allowances", "category"): "低保保障类别",
    (civil, "subsistence_allowances", "family_size"): "保障人口数",
    (civil, "subsistence_allowances", "monthly_amount"): "保障金额",
    (civil, "subsistence_allowances", "approved_on"): "审批日期",
    (civil, "subsistence_allowances", "status"): "保障状态",
    (medins, "settlements", "institution"): "定点医药机构名称",
    (medins, "settlements", "visit_type"): "医疗类别",
    (medins, "settlements", "diagnosis_code"): "诊断代码",
    (medins, "settlements", "diagnosis"): "诊断名称",
    (medins, "settlements", "admitted_on"): "就诊日期",
    (medins, "settlements", "discharged_on"): "出院日期",
    (medins, "settlements", "total_cost"): "医疗费用总额",
    (medins, "settlements", "fund_paid"): "基金支付金额",
    (medins, "settlements", "self_paid"): "个人负担金额",
    (medins, "settlements", "settlement_no"): "结算流水号",
    (medins, "settlements", "settled_at"): "结算时间",
}
SQL_TYPES = {
    "CHAR": "string",
    "VARCHAR": "string",
    "INT": "integer",
    "BIGINT": "integer",
    "DECIMAL": "decimal",
    "DATE": "date",
    "DATETIME": "datetime",
}


def _values(db: Database, identifier: str) -> list[tuple[str, str, str | None]]:
    with db.transaction() as s:
        cs = s.scalars(select(CodeSet).where(CodeSet.identifier == identifier)).one()
        return [(v.code, v.label, v.parent_code) for v in cs.values]


def test_classification_tree(db: Database) -> None:
    with db.transaction() as s:
        nodes = {n.code: n for n in s.scalars(select(CatalogClass))}
    by_id = {n.id: n for n in nodes.values()}
    roots = sorted((n.code, n.name) for n in nodes.values() if n.level == 1)
    assert roots == [("1", "基础"), ("2", "主题"), ("3", "部门")]
    base = sorted((n.code, n.name) for n in nodes.values() if n.level == 2 and n.category == "1")
    assert base == [
        ("101", "人口"), ("102", "法人单位"), ("103", "自然资源和空间地理"),
        ("104", "社会信用"), ("105", "电子证照"),
    ]  # fmt: skip
    assert len([n for n in nodes.values() if n.level == 2 and n.category == "2"]) == 16
    assert len([n for n in nodes.values() if n.level == 2 and n.category == "3"]) == 10
    assert nodes["203"].name == "社会保障" and nodes["203001"].name == "社会保险参保缴费"
    assert nodes["105001"].name == "身份证照" and nodes["101001"].name == "人口基本信息"
    assert any(n.level == 4 for n in nodes.values())
    seg_len = {2: 2, 3: 3}
    for node in nodes.values():
        assert node.category == node.code[0] and node.is_active
        if node.level == 1:
            assert node.parent_id is None
            continue
        parent = by_id[node.parent_id]
        assert parent.level == node.level - 1 and node.code == parent.code + node.segment
        assert len(node.segment) == seg_len.get(node.level, len(node.segment))
        if node.level == 2:
            children = [n for n in nodes.values() if n.parent_id == node.id]
            assert 3 <= len(children) <= 8, node.code


def test_code_sets(db: Database) -> None:
    assert _values(db, "GB/T 2261.1-2003") == [
        ("0", "未知的性别", None), ("1", "男性", None), ("2", "女性", None),
        ("9", "未说明的性别", None),
    ]  # fmt: skip
    marital = _values(db, "GB/T 2261.2-2003")
    assert [c for c, _, _ in marital] == ["10", "20", "21", "22", "23", "30", "40", "90"]
    assert ("21", "初婚", "20") in marital
    ethnic = _values(db, "GB/T 3304-1991")
    assert (
        len(ethnic) == 58 and ethnic[0][:2] == ("01", "汉族") and ("35", "撒拉族", None) in ethnic
    )
    regions = _values(db, "GB/T 2260-2007")
    provinces = [r for r in regions if r[0].endswith("0000")]
    assert len(provinces) == 34 and ("630000", "青海省", None) in provinces
    assert len([r for r in regions if r[2] == "630000"]) == 8
    counties = [r for r in regions if r[2] and r[2] != "630000"]
    assert len(counties) == 44 and ("632801", "格尔木市", "632800") in counties
    industry = _values(db, "GB/T 4754-2017")
    assert [c for c, _, _ in industry] == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    for kind, identifier in [
        ("share_type", "GOVDATA-SHARE-TYPE"),
        ("open_type", "GOVDATA-OPEN-TYPE"),
        ("update_cycle", "GOVDATA-UPDATE-CYCLE"),
    ]:
        assert [(c, label) for c, label, _ in _values(db, identifier)] == [
            (str(k), zh) for k, (zh, _) in LABELS[kind].items()
        ]
    with db.transaction() as s:
        for cs in s.scalars(select(CodeSet)):
            assert cs.name and cs.version and cs.standard and cs.status == "current"
            codes = {v.code for v in cs.values}
            assert all(v.parent_code in codes for v in cs.values if v.parent_code)


def test_data_elements(db: Database) -> None:
    with db.transaction() as s:
        elements = {e.identifier: e for e in s.scalars(select(DataElement))}
        assert len(elements) >= 60
        names_en = [e.name_en for e in elements.values()]
        assert len(set(names_en)) == len(names_en)
        for e in elements.values():
            assert re.fullmatch(r"DE\d{5}", e.identifier)
            assert e.data_type in set(DataType) and e.status == "current" and e.definition
            assert e.name_en and re.fullmatch(r"[a-z][a-z0-9_]*", e.name_en)
        assert elements["DE00001"].name == "公民身份号码" and elements["DE00001"].max_length == 18
        assert elements["DE00003"].code_set is not None
        assert elements["DE00003"].code_set.identifier == "GB/T 2261.1-2003"
        assert elements["DE00026"].name == "统一社会信用代码"
        assert elements["DE00030"].unit == "万元" and elements["DE00030"].data_type == "decimal"


def test_demo_source_columns_have_data_elements(db: Database) -> None:
    with db.transaction() as s:
        elements = {e.name: e for e in s.scalars(select(DataElement))}
    for (module, table, column), name in DEMO_COLUMNS.items():
        col = next(c for c in module.SYSTEM.table(table).columns if c.name == column)
        element = elements[name]
        assert SQL_TYPES[col.type.split("(")[0]] == element.data_type, (table, column)
        size = re.search(r"\((\d+)", col.type)
        if element.data_type == "string" and size and element.max_length:
            assert int(size.group(1)) <= element.max_length, (table, column, element.name)


def _counts(db: Database) -> list[int]:
    with db.transaction() as s:
        return [
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (CatalogClass, CodeSet, CodeValue, DataElement)
        ]


def test_downgrade_removes_and_upgrade_restores(db: Database, store_url: str) -> None:
    seeded = _counts(db)
    assert all(seeded)
    cfg = alembic_config(store_url)
    command.downgrade(cfg, "0004_catalog")
    assert _counts(db) == [0, 0, 0, 0]
    command.upgrade(cfg, "head")
    assert _counts(db) == seeded
