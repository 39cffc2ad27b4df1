"""省医保局 medical insurance (医疗保障信息平台): enrolments and claim settlements.

Employees and retired employees are in employee medical insurance
(职工基本医疗保险), everybody else (98% of them) in resident medical
insurance (城乡居民基本医疗保险); the defect plan (``govdata.demo.defects``) puts
some employees in both. Settlements over the last three years: outpatient visits at county
hospitals and township clinics, chronic-disease outpatient care, and
inpatient stays at county, prefecture and provincial hospitals, with
diagnoses coded in ICD-10 (high-altitude illness and hydatid disease
included, as Qinghai's are). Older people are treated more often.
"""

from __future__ import annotations

import random

from govdata.demo import names
from govdata.demo.addresses import AddressBook, county_office
from govdata.demo.divisions import PREFECTURE_BY_CODE, County
from govdata.demo.people import AS_OF_ORD, Batch, Person, stamp
from govdata.demo.sources.common import (
    DECEASED_STILL_ACTIVE,
    Row,
    Rows,
    World,
    gender_code,
    iso,
    seen_name,
    seen_phone,
    system_rng,
)
from govdata.demo.sources.schema import Column, System, table

SYSTEM = System(
    code="medins",
    name="医疗保障信息平台",
    department="medins",
    tables=(
        table(
            "enrolments",
            "基本医疗保险参保信息",
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("name", "VARCHAR(32)", "姓名", nullable=False),
            Column("gender", "CHAR(1)", "性别", nullable=False),
            Column("birth_date", "DATE", "出生日期", nullable=False),
            Column("insurance_type", "VARCHAR(32)", "险种类型", nullable=False),
            Column("employer_credit_code", "CHAR(18)", "参保单位统一社会信用代码"),
            Column("county_code", "CHAR(6)", "参保地行政区划代码", nullable=False),
            Column("status", "VARCHAR(16)", "参保状态", nullable=False),
            Column("enrolled_on", "DATE", "参保日期", nullable=False),
            Column("phone", "VARCHAR(20)", "联系电话"),
            unique=(("resident_id", "insurance_type"),),
            indexes=(("county_code",), ("employer_credit_code",)),
        ),
        table(
            "settlements",
            "医疗费用结算信息",
            Column("settlement_no", "VARCHAR(24)", "结算流水号", nullable=False),
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("name", "VARCHAR(32)", "姓名", nullable=False),
            Column("insurance_type", "VARCHAR(32)", "险种类型", nullable=False),
            Column("institution", "VARCHAR(100)", "定点医药机构名称", nullable=False),
            Column("visit_type", "VARCHAR(16)", "医疗类别", nullable=False),
            Column("diagnosis_code", "VARCHAR(16)", "诊断代码（ICD-10）", nullable=False),
            Column("diagnosis", "VARCHAR(64)", "诊断名称", nullable=False),
            Column("admitted_on", "DATE", "就诊（入院）日期", nullable=False),
            Column("discharged_on", "DATE", "出院日期"),
            Column("total_cost", "DECIMAL(12,2)", "医疗费用总额（元）", nullable=False),
            Column("fund_paid", "DECIMAL(12,2)", "基金支付（元）", nullable=False),
            Column("self_paid", "DECIMAL(12,2)", "个人负担（元）", nullable=False),
            Column("settled_at", "DATETIME", "结算时间", nullable=False),
            unique=(("settlement_no",),),
            indexes=(("resident_id",), ("settled_at",)),
        ),
    ),
)

EMPLOYEE = "职工基本医疗保险"
RESIDENT = "城乡居民基本医疗保险"

OUTPATIENT = (
    ("J06.900", "急性上呼吸道感染"),
    ("K29.700", "胃炎"),
    ("M54.500", "腰痛"),
    ("J20.900", "急性支气管炎"),
    ("K02.900", "龋病"),
    ("T70.200", "高原反应"),
)
CHRONIC = (
    ("I10.x00", "原发性高血压"),
    ("E11.900", "2型糖尿病"),
    ("N18.900", "慢性肾脏病"),
    ("I50.900", "心力衰竭"),
    ("T70.201", "慢性高原病"),
)
INPATIENT = (
    ("J18.900", "肺炎"),
    ("I63.900", "脑梗死"),
    ("J44.900", "慢性阻塞性肺疾病"),
    ("I25.100", "冠状动脉粥样硬化性心脏病"),
    ("K80.200", "胆囊结石"),
    ("S72.000", "股骨颈骨折"),
    ("A15.000", "肺结核"),
    ("C16.900", "胃恶性肿瘤"),
    ("B67.900", "棘球蚴病（包虫病）"),
)
PROVINCIAL_HOSPITALS = (
    "青海大学附属医院",
    "青海省人民医院",
    "青海省中医院",
    "青海省妇女儿童医院",
    "青海省心脑血管病专科医院",
    "青海红十字医院",
    "青海省第四人民医院",
    "青海省藏医院",
)
_VISIT = names.WeightedPicker((("普通门诊", 68), ("门诊慢特病", 7), ("住院", 25)))


class Medins:
    system = SYSTEM

    def __init__(self, seed: int) -> None:
        self.rng = system_rng(seed, "medins")
        self.addresses = AddressBook(seed)
        self.next_enrolment = 1
        self.next_settlement = 1

    def rows(self, batch: Batch, world: World) -> Rows:
        rng = self.rng
        enrolments: list[Row] = []
        settlements: list[Row] = []
        jobs = world.jobs_for(batch)
        for p in batch.persons:
            job = jobs.get(p.pid)
            kind = job.kind if job else "none"
            employee = kind in ("employee", "public", "retired_employee")
            if not employee and rng.random() < 0.02:
                continue
            scheme = EMPLOYEE if employee else RESIDENT
            employer = job.employer if job and employee else None
            status = "参保缴费"
            if p.status == "死亡" and rng.random() >= DECEASED_STILL_ACTIVE:
                status = "终止参保"
            elif p.status == "迁出":
                status = "停保"
            started = job.started if employee and job else max(
                p.birth.toordinal() + 30, AS_OF_ORD - int(rng.random() * 15 * 365)
            )  # fmt: skip
            schemes = [(scheme, employer)]
            if employee:
                # Once drew random duplicate enrolments; they are planned defects now.
                rng.random()
            for name, unit in schemes:
                enrolments.append(
                    (
                        self.next_enrolment,
                        p.resident_id,
                        seen_name(rng, p),
                        gender_code(p),
                        p.birth.isoformat(),
                        name,
                        unit.credit_code if unit else None,
                        p.county.code,
                        status,
                        iso(started),
                        seen_phone(rng, p),
                        stamp(rng, max(started, AS_OF_ORD - int(rng.random() * 500))),
                    )
                )
                self.next_enrolment += 1
            if p.alive:
                self._settlements(settlements, p, scheme)
        return {"enrolments": enrolments, "settlements": settlements}

    def _institution(self, rng: random.Random, county: County, visit: str) -> str:
        if visit == "住院":
            roll = rng.random()
            if roll < 0.3:
                return rng.choice(PROVINCIAL_HOSPITALS)
            if roll < 0.5:
                return PREFECTURE_BY_CODE[county.prefecture].short + "人民医院"
        elif visit == "普通门诊" and not county.urban and rng.random() < 0.5:
            town = rng.choice(self.addresses.towns(county))
            return f"{county.name}{town}卫生院"
        if county.ethnic_mix.get("藏", 0) >= 60 and rng.random() < 0.3:
            return county_office(county, "藏医院")
        return county_office(county, "人民医院")

    def _settlements(self, out: list[Row], p: Person, scheme: str) -> None:
        rng = self.rng
        age = p.age
        rate = 0.6 if age < 40 else 1.5 if age < 60 else 3.6
        # Visits over three years: a rounded exponential draw around the age's rate.
        count = int(rng.expovariate(1 / rate) + 0.5) if rng.random() < 0.7 else 0
        employee = scheme == EMPLOYEE
        pastoral = p.county.ethnic_mix.get("藏", 0) >= 60
        for _ in range(min(count, 12)):
            visit = _VISIT.pick(rng)
            day = AS_OF_ORD - int(rng.random() * 3 * 365)
            discharged: str | None = None
            if visit == "住院":
                code, diagnosis = rng.choice(INPATIENT)
                if code == "B67.900" and not pastoral and rng.random() < 0.8:
                    code, diagnosis = INPATIENT[0]
                stay = 3 + int(rng.expovariate(1 / 6))
                admitted = day - stay
                discharged = iso(day)
                total = min(rng.lognormvariate(9.0, 0.7), 300_000.0)
                ratio = rng.uniform(0.75, 0.88) if employee else rng.uniform(0.6, 0.75)
            elif visit == "门诊慢特病":
                code, diagnosis = rng.choice(CHRONIC)
                admitted = day
                total = rng.uniform(200, 2500)
                ratio = rng.uniform(0.55, 0.7)
            else:
                code, diagnosis = rng.choice(OUTPATIENT)
                admitted = day
                total = rng.uniform(30, 600)
                ratio = rng.uniform(0.4, 0.6) if employee else rng.uniform(0.3, 0.5)
            total = round(total, 2)
            fund = round(total * ratio, 2)
            settled = stamp(rng, day)
            out.append(
                (
                    self.next_settlement,
                    f"JS{settled[:10].replace('-', '')}{self.next_settlement:010d}",
                    p.resident_id,
                    p.name,
                    scheme,
                    self._institution(rng, p.county, visit),
                    visit,
                    code,
                    diagnosis,
                    iso(admitted),
                    discharged,
                    total,
                    fund,
                    round(total - fund, 2),
                    settled,
                    settled,
                )
            )
            self.next_settlement += 1
