"""省公安厅 household registration (户籍人口管理): households and the people registered in them.

The reference register of the demo: every other system's resident IDs come
from here. Dead and emigrated people stay on file with their status, as in
the real register.
"""

from __future__ import annotations

from govdata.demo.people import Batch
from govdata.demo.sources.common import Row, Rows, World, gender_code
from govdata.demo.sources.schema import Column, System, table

SYSTEM = System(
    code="police",
    name="户籍人口管理系统",
    department="police",
    tables=(
        table(
            "households",
            "户籍户信息",
            Column("household_no", "VARCHAR(20)", "户号", nullable=False),
            Column("household_type", "VARCHAR(8)", "户别（家庭户/集体户）", nullable=False),
            Column("head_resident_id", "CHAR(18)", "户主公民身份号码", nullable=False),
            Column("head_name", "VARCHAR(32)", "户主姓名", nullable=False),
            Column("county_code", "CHAR(6)", "户籍地行政区划代码", nullable=False),
            Column("address", "VARCHAR(200)", "户籍地址", nullable=False),
            Column("police_station", "VARCHAR(100)", "户口登记机关（派出所）", nullable=False),
            Column("member_count", "INT", "户内人数", nullable=False),
            Column("registered_at", "DATETIME", "立户时间", nullable=False),
            unique=(("household_no",),),
            indexes=(("head_resident_id",), ("county_code",)),
        ),
        table(
            "persons",
            "户籍人口信息",
            Column("resident_id", "CHAR(18)", "公民身份号码", nullable=False),
            Column("name", "VARCHAR(32)", "姓名", nullable=False),
            Column("gender", "CHAR(1)", "性别（GB/T 2261.1：1男 2女）", nullable=False),
            Column("ethnicity", "VARCHAR(16)", "民族", nullable=False),
            Column("birth_date", "DATE", "出生日期", nullable=False),
            Column("household_no", "VARCHAR(20)", "户号", nullable=False),
            Column("relation", "VARCHAR(16)", "与户主关系", nullable=False),
            Column("county_code", "CHAR(6)", "户籍地行政区划代码", nullable=False),
            Column("address", "VARCHAR(200)", "户籍地址", nullable=False),
            Column("phone", "VARCHAR(20)", "联系电话"),
            Column("marital_status", "VARCHAR(8)", "婚姻状况"),
            Column("education", "VARCHAR(16)", "文化程度"),
            Column("status", "VARCHAR(8)", "人口状态（正常/死亡/迁出）", nullable=False),
            Column("registered_at", "DATETIME", "登记时间", nullable=False),
            unique=(("resident_id",),),
            indexes=(("household_no",), ("county_code",), ("name",)),
        ),
    ),
)


class Police:
    system = SYSTEM

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def rows(self, batch: Batch, world: World) -> Rows:
        households: list[Row] = [
            (
                hh.hid,
                hh.number,
                hh.kind,
                hh.members[0].resident_id,
                hh.members[0].name,
                hh.county.code,
                hh.address,
                hh.station,
                len(hh.members),
                hh.registered_at,
                hh.updated_at,
            )
            for hh in batch.households
        ]
        persons: list[Row] = [
            (
                p.pid,
                p.resident_id,
                p.name,
                gender_code(p),
                p.ethnicity + "族",
                p.birth.isoformat(),
                p.household_no,
                p.relation,
                p.county.code,
                p.address,
                p.phone,
                p.marital,
                p.education,
                p.status,
                p.registered_at,
                p.updated_at,
            )
            for p in batch.persons
        ]
        return {"households": households, "persons": persons}
