"""The demo's departments: the provincial government's organs and each prefecture's bureaus.

Codes are ASCII slugs; a prefecture's bureaus carry its slug as a prefix
(``xn_police`` is 西宁市公安局). Every department gets a unified social credit
code of a government organ: registration authority 1 (机构编制), type 1 (机关),
the division code of its region, and a GB 11714 organisation code body drawn
from a generator seeded by the department code, so codes never change between builds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from govdata.demo.divisions import PREFECTURES, PROVINCE_CODE, PROVINCE_NAME, Prefecture
from govdata.standards import uscc

# The department that runs the platform; the three separated administrators belong to it.
PLATFORM_DEPARTMENT = "gov_office"


@dataclass(frozen=True)
class DepartmentSeed:
    code: str
    name: str
    short_name: str
    region_code: str
    region_path: str
    credit_code: str


# (code, full name after 青海省, short name)
PROVINCIAL: tuple[tuple[str, str, str], ...] = (
    (PLATFORM_DEPARTMENT, "人民政府办公厅", "省政府办公厅"),
    ("ndrc", "发展和改革委员会", "省发展改革委"),
    ("edu", "教育厅", "省教育厅"),
    ("sci", "科学技术厅", "省科技厅"),
    ("industry", "工业和信息化厅", "省工业和信息化厅"),
    ("ethnic", "民族宗教事务委员会", "省民族宗教委"),
    ("police", "公安厅", "省公安厅"),
    ("civil", "民政厅", "省民政厅"),
    ("justice", "司法厅", "省司法厅"),
    ("finance", "财政厅", "省财政厅"),
    ("hrss", "人力资源和社会保障厅", "省人力资源社会保障厅"),
    ("natres", "自然资源厅", "省自然资源厅"),
    ("eco", "生态环境厅", "省生态环境厅"),
    ("housing", "住房和城乡建设厅", "省住房城乡建设厅"),
    ("transport", "交通运输厅", "省交通运输厅"),
    ("water", "水利厅", "省水利厅"),
    ("agri", "农业农村厅", "省农业农村厅"),
    ("commerce", "商务厅", "省商务厅"),
    ("culture", "文化和旅游厅", "省文化和旅游厅"),
    ("health", "卫生健康委员会", "省卫生健康委"),
    ("veterans", "退役军人事务厅", "省退役军人事务厅"),
    ("emergency", "应急管理厅", "省应急厅"),
    ("audit", "审计厅", "省审计厅"),
    ("sasac", "人民政府国有资产监督管理委员会", "省国资委"),
    ("market", "市场监督管理局", "省市场监管局"),
    ("stats", "统计局", "省统计局"),
    ("medins", "医疗保障局", "省医保局"),
    ("forestry", "林业和草原局", "省林草局"),
    ("govservice", "政务服务监督管理局", "省政务服务监管局"),
    ("energy", "能源局", "省能源局"),
)

# (code suffix, name after the prefecture's name, short name after its short name)
PREFECTURAL: tuple[tuple[str, str, str], ...] = (
    ("gov_office", "人民政府办公室", "政府办"),
    ("police", "公安局", "公安局"),
    ("civil", "民政局", "民政局"),
    ("hrss", "人力资源和社会保障局", "人社局"),
    ("market", "市场监督管理局", "市场监管局"),
    ("health", "卫生健康委员会", "卫健委"),
    ("medins", "医疗保障局", "医保局"),
    ("natres", "自然资源和规划局", "自然资源局"),
    ("eco", "生态环境局", "生态环境局"),
    ("emergency", "应急管理局", "应急局"),
    ("edu", "教育局", "教育局"),
)


def organ_credit_code(division: str, code: str) -> str:
    """A government organ's credit code: 1 1 + division + organisation code body + checks."""
    rng = random.Random(f"govdata-demo-organ:{code}")
    # Organs' organisation codes were allocated as digits; keep to digits like theirs.
    body = "0" + "".join(rng.choice("0123456789") for _ in range(7))
    return uscc.make("1", "1", division, body)


def _prefecture_departments(p: Prefecture) -> list[DepartmentSeed]:
    path = f"{PROVINCE_CODE}/{p.code}"
    return [
        DepartmentSeed(
            code=f"{p.slug}_{suffix}",
            name=p.name + name,
            short_name=p.short + short,
            region_code=p.code,
            region_path=path,
            credit_code=organ_credit_code(p.code, f"{p.slug}_{suffix}"),
        )
        for suffix, name, short in PREFECTURAL
    ]


def all_departments() -> list[DepartmentSeed]:
    """Provincial departments first, then each prefecture's, in GB/T 2260 order."""
    found = [
        DepartmentSeed(
            code=code,
            name=PROVINCE_NAME + name,
            short_name=short,
            region_code=PROVINCE_CODE,
            region_path=PROVINCE_CODE,
            credit_code=organ_credit_code(PROVINCE_CODE, code),
        )
        for code, name, short in PROVINCIAL
    ]
    for p in PREFECTURES:
        found.extend(_prefecture_departments(p))
    return found


def region_operator_department(p: Prefecture) -> str:
    """Region operators sit in their prefecture's government office."""
    return f"{p.slug}_gov_office"
