"""省民政厅 civil affairs: marriage registrations and minimum-living-allowance (低保) cases.

Marriages come from the couples of the household register, registered in
the county where they live, from 1985 on (earlier records were never
digitised); divorced people's marriages carry a second, divorce
registration. About 1.5% of urban and 4% of rural households (three times
as many widowed elders) receive 低保, at roughly the 2024 standards of
about 780 yuan a month per person in towns and 530 in the countryside.
Members who have died stay on a case's member list, as they do until a
case is reviewed.
"""

from __future__ import annotations

from datetime import date

from govdata.demo.addresses import county_office
from govdata.demo.people import AS_OF_ORD, Batch, Household, stamp
from govdata.demo.sources.common import (
    DECEASED_STILL_ACTIVE,
    Row,
    Rows,
    World,
    iso,
    seen_name,
    seen_phone,
    system_rng,
)
from govdata.demo.sources.schema import Column, System, table

SYSTEM = System(
    code="civil",
    name="民政业务综合信息系统",
    department="civil",
    tables=(
        table(
            "marriage_registrations",
            "婚姻登记信息",
            Column("registration_no", "VARCHAR(24)", "结婚（离婚）证字号", nullable=False),
            Column("business_type", "VARCHAR(8)", "业务类型（结婚登记/离婚登记）", nullable=False),
            Column("male_resident_id", "CHAR(18)", "男方公民身份号码", nullable=False),
            Column("male_name", "VARCHAR(32)", "男方姓名", nullable=False),
            Column("female_resident_id", "CHAR(18)", "女方公民身份号码", nullable=False),
            Column("female_name", "VARCHAR(32)", "女方姓名", nullable=False),
            Column("registered_on", "DATE", "登记日期", nullable=False),
            Column("registry_office", "VARCHAR(100)", "婚姻登记机关", nullable=False),
            Column("county_code", "CHAR(6)", "登记机关行政区划代码", nullable=False),
            unique=(("registration_no",),),
            indexes=(("male_resident_id",), ("female_resident_id",)),
        ),
        table(
            "subsistence_allowances",
            "最低生活保障对象信息",
            Column("case_no", "VARCHAR(24)", "低保证编号", nullable=False),
            Column("category", "VARCHAR(8)", "保障类别（城市低保/农村低保）", nullable=False),
            Column("applicant_resident_id", "CHAR(18)", "申请人公民身份号码", nullable=False),
            Column("applicant_name", "VARCHAR(32)", "申请人姓名", nullable=False),
            Column("county_code", "CHAR(6)", "户籍所在行政区划代码", nullable=False),
            Column("address", "VARCHAR(200)", "家庭住址", nullable=False),
            Column("phone", "VARCHAR(20)", "联系电话"),
            Column("family_size", "INT", "保障人口数", nullable=False),
            Column("monthly_amount", "DECIMAL(12,2)", "月保障金额（元）", nullable=False),
            Column("approved_on", "DATE", "审批日期", nullable=False),
            Column("status", "VARCHAR(8)", "保障状态（正常享受/已停保）", nullable=False),
            unique=(("case_no",),),
            indexes=(("applicant_resident_id",), ("county_code",)),
        ),
        table(
            "subsistence_members",
            "最低生活保障家庭成员",
            Column("case_no", "VARCHAR(24)", "低保证编号", nullable=False),
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("name", "VARCHAR(32)", "姓名", nullable=False),
            Column("relation", "VARCHAR(16)", "与申请人关系", nullable=False),
            unique=(("case_no", "resident_id"),),
            indexes=(("resident_id",),),
        ),
    ),
)

URBAN_STANDARD = 780.0
RURAL_STANDARD = 530.0
DIGITAL_SINCE = date(1985, 1, 1)


class Civil:
    system = SYSTEM

    def __init__(self, seed: int) -> None:
        self.rng = system_rng(seed, "civil")
        self.next_marriage = 1
        self.next_case = 1
        self.next_member = 1
        self.serials: dict[str, int] = {}

    def _serial(self, key: str) -> int:
        value = self.serials.get(key, 0) + 1
        self.serials[key] = value
        return value

    def rows(self, batch: Batch, world: World) -> Rows:
        marriages: list[Row] = []
        rng = self.rng
        for couple in batch.couples:
            if couple.married_on < DIGITAL_SINCE:
                continue
            husband, wife = couple.husband, couple.wife
            county = husband.county
            office = county_office(county, "民政局婚姻登记处")
            events = [("结婚登记", "J", couple.married_on)]
            if couple.divorced_on is not None:
                events.append(("离婚登记", "L", couple.divorced_on))
            for business, letter, day in events:
                year = day.year
                serial = self._serial(f"{letter}{county.code}{year}")
                marriages.append(
                    (
                        self.next_marriage,
                        f"{letter}{county.code}-{year}-{serial:06d}",
                        business,
                        husband.resident_id,
                        seen_name(rng, husband),
                        wife.resident_id,
                        seen_name(rng, wife),
                        day.isoformat(),
                        office,
                        county.code,
                        stamp(rng, day.toordinal() + int(rng.random() * 3)),
                    )
                )
                self.next_marriage += 1
        cases: list[Row] = []
        members: list[Row] = []
        for hh in batch.households:
            self._allowance(hh, cases, members)
        return {
            "marriage_registrations": marriages,
            "subsistence_allowances": cases,
            "subsistence_members": members,
        }

    def _allowance(self, hh: Household, cases: list[Row], members: list[Row]) -> None:
        rng = self.rng
        urban = hh.county.urban
        share = 0.015 if urban else 0.04
        head = hh.members[0]
        if head.marital == "丧偶":
            share *= 3
        if hh.kind == "集体户" or rng.random() >= share:
            return
        living = [p for p in hh.members if p.alive]
        standard = URBAN_STANDARD if urban else RURAL_STANDARD
        size = max(len(living), 1)
        approved = AS_OF_ORD - int(rng.random() * 6 * 365)
        status = "正常享受" if rng.random() < 0.9 else "已停保"
        if not head.alive and rng.random() >= DECEASED_STILL_ACTIVE:
            status = "已停保"
        year = date.fromordinal(approved).year
        case_no = f"DB{hh.county.code}{year}{self._serial(f'DB{hh.county.code}{year}'):06d}"
        cases.append(
            (
                self.next_case,
                case_no,
                "城市低保" if urban else "农村低保",
                head.resident_id,
                seen_name(rng, head),
                hh.county.code,
                hh.address,
                seen_phone(rng, head),
                size,
                round(size * standard * rng.uniform(0.4, 1.0), 2),
                iso(approved),
                status,
                stamp(rng, approved + int((1 - rng.random() ** 2) * (AS_OF_ORD - approved))),
            )
        )
        self.next_case += 1
        for p in hh.members:
            members.append(
                (
                    self.next_member,
                    case_no,
                    p.resident_id,
                    seen_name(rng, p),
                    "本人" if p is head else p.relation,
                    stamp(rng, approved),
                )
            )
            self.next_member += 1
