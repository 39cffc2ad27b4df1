"""省人力资源社会保障厅 social insurance (社会保险): insured persons and their contributions.

Employees of enterprises (企业职工基本养老保险) and of government organs
(机关事业单位养老保险) pay monthly on a contribution base (employer 16%,
person 8%) for the twelve months up to the demo's date, with occasional
missed months; rural and urban residents (城乡居民基本养老保险) pay a yearly
level with a government subsidy; people past retirement age draw benefits.
Employers are market-registered companies or the demo's departments.
"""

from __future__ import annotations

from datetime import date

from govdata.demo.people import AS_OF, AS_OF_ORD, Batch, stamp
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
    code="hrss",
    name="社会保险信息系统",
    department="hrss",
    tables=(
        table(
            "insured_persons",
            "养老保险参保人员信息",
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("name", "VARCHAR(32)", "姓名", nullable=False),
            Column("gender", "CHAR(1)", "性别", nullable=False),
            Column("birth_date", "DATE", "出生日期", nullable=False),
            Column("phone", "VARCHAR(20)", "联系电话"),
            Column("insurance_type", "VARCHAR(32)", "险种", nullable=False),
            Column("employer_credit_code", "CHAR(18)", "参保单位统一社会信用代码"),
            Column("employer_name", "VARCHAR(100)", "参保单位名称"),
            Column("county_code", "CHAR(6)", "参保地行政区划代码", nullable=False),
            Column("status", "VARCHAR(16)", "参保状态", nullable=False),
            Column("contribution_base", "DECIMAL(12,2)", "缴费基数（元/月）"),
            Column("monthly_benefit", "DECIMAL(12,2)", "月养老金（元）"),
            Column("started_on", "DATE", "参保日期", nullable=False),
            unique=(("resident_id", "insurance_type"),),
            indexes=(("employer_credit_code",), ("county_code",)),
        ),
        table(
            "contributions",
            "养老保险缴费记录",
            Column("insured_id", "BIGINT", "参保记录ID", nullable=False),
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("period", "VARCHAR(7)", "费款所属期（YYYY-MM，城乡居民为YYYY）", nullable=False),
            Column("insurance_type", "VARCHAR(32)", "险种", nullable=False),
            Column("base", "DECIMAL(12,2)", "缴费基数（元）"),
            Column("unit_amount", "DECIMAL(12,2)", "单位缴纳或政府补贴（元）", nullable=False),
            Column("personal_amount", "DECIMAL(12,2)", "个人缴纳（元）", nullable=False),
            Column("paid_at", "DATETIME", "到账时间", nullable=False),
            unique=(("insured_id", "period"),),
            indexes=(("resident_id", "period"),),
        ),
    ),
)

EMPLOYEE = "企业职工基本养老保险"
PUBLIC = "机关事业单位养老保险"
RESIDENT = "城乡居民基本养老保险"
RESIDENT_LEVELS = (200, 300, 500, 800, 1000, 1500, 2000, 3000)


def _months() -> list[tuple[str, int]]:
    """The twelve periods up to AS_OF and the ordinal day each was paid."""
    found = []
    year, month = AS_OF.year, AS_OF.month
    for _ in range(12):
        paid_year, paid_month = (year + 1, 1) if month == 12 else (year, month + 1)
        paid = min(date(paid_year, paid_month, 15).toordinal(), AS_OF_ORD)
        found.append((f"{year:04d}-{month:02d}", paid))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found[::-1]


class Hrss:
    system = SYSTEM

    def __init__(self, seed: int) -> None:
        self.rng = system_rng(seed, "hrss")
        self.next_insured = 1
        self.next_payment = 1
        self.months = _months()

    def rows(self, batch: Batch, world: World) -> Rows:
        rng = self.rng
        insured: list[Row] = []
        payments: list[Row] = []
        jobs = world.jobs_for(batch)
        for p in batch.persons:
            job = jobs.get(p.pid)
            if job is None:
                continue
            benefit: float | None = None
            base: float | None = None
            employer = job.employer
            if job.kind in ("employee", "public"):
                scheme = PUBLIC if job.kind == "public" else EMPLOYEE
                status = "参保缴费" if rng.random() < 0.9 else "暂停缴费"
                base = job.base
            elif job.kind == "retired_employee":
                scheme, status = EMPLOYEE, "领取待遇"
                benefit = round(rng.uniform(2500, 6500), 2)
            elif job.kind == "retired_resident":
                scheme, status = RESIDENT, "领取待遇"
                benefit = round(rng.uniform(190, 420), 2)
            else:
                scheme, status = RESIDENT, "参保缴费"
            if p.status == "死亡" and rng.random() >= DECEASED_STILL_ACTIVE:
                status = "终止参保"
            elif p.status == "迁出":
                status = "转出"
            insured_id = self.next_insured
            self.next_insured += 1
            insured.append(
                (
                    insured_id,
                    p.resident_id,
                    seen_name(rng, p),
                    gender_code(p),
                    p.birth.isoformat(),
                    seen_phone(rng, p),
                    scheme,
                    employer.credit_code if employer else None,
                    employer.name if employer else None,
                    p.county.code,
                    status,
                    base,
                    benefit,
                    iso(job.started),
                    stamp(rng, max(job.started, AS_OF_ORD - int(rng.random() * 400))),
                )
            )
            if status == "参保缴费":
                self._payments(payments, insured_id, p.resident_id, scheme, base, job.started)
        return {"insured_persons": insured, "contributions": payments}

    def _payments(
        self,
        out: list[Row],
        insured_id: int,
        number: str,
        scheme: str,
        base: float | None,
        started: int,
    ) -> None:
        rng = self.rng
        if base is None:
            for year in (AS_OF.year - 1, AS_OF.year):
                paid = date(year, 3, 1).toordinal() + int(rng.random() * 200)
                if paid < started or paid > AS_OF_ORD:
                    continue
                level = float(rng.choice(RESIDENT_LEVELS))
                when = stamp(rng, paid)
                out.append(
                    (self.next_payment, insured_id, number, str(year), scheme, None,
                     30.0 + level * 0.05, level, when, when)
                )  # fmt: skip
                self.next_payment += 1
            return
        unit, personal = round(base * 0.16, 2), round(base * 0.08, 2)
        for period, paid in self.months:
            if paid < started or rng.random() < 0.03:
                continue
            when = stamp(rng, paid + int(rng.random() * 10))
            out.append(
                (self.next_payment, insured_id, number, period, scheme, base, unit, personal,
                 when, when)
            )  # fmt: skip
            self.next_payment += 1
