"""Qinghai's administrative divisions (GB/T 2260), the seed of the demo province.

Current codes follow the Ministry of Civil Affairs' 2024 list: the province,
8 prefecture-level and 44 county-level units. Retired codes are kept because
a resident ID carries the address code in force when it was issued, so older
people still hold them (see ``RETIRED``). Populations are the 2020 census
figures in units of 10,000, rounded; the demo uses them only as weights.
Ethnic mixes are rough shares per county, again only weights for the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVINCE_CODE = "630000"
PROVINCE_NAME = "青海省"


@dataclass(frozen=True)
class Prefecture:
    code: str
    name: str
    # How companies and documents abbreviate it ("海西州"), and the department-code prefix.
    short: str
    slug: str
    # Telephone area code of its landlines.
    area_code: str


@dataclass(frozen=True)
class County:
    code: str
    name: str
    prefecture: str
    short: str
    population: float
    # Ethnic group → weight; the group names are GB/T 3304 names without the 族 suffix.
    ethnic_mix: dict[str, int] = field(hash=False, compare=False)

    @property
    def urban(self) -> bool:
        """Districts and county-level cities have streets and residential compounds."""
        return self.name.endswith(("区", "市"))

    @property
    def region_path(self) -> str:
        return f"{PROVINCE_CODE}/{self.prefecture}/{self.code}"


@dataclass(frozen=True)
class RetiredCode:
    code: str
    name: str
    # The current county whose people may still carry this code in their IDs.
    successor: str
    # The last year an ID could be issued with it.
    until_year: int


PREFECTURES: tuple[Prefecture, ...] = (
    Prefecture("630100", "西宁市", "西宁", "xn", "0971"),
    Prefecture("630200", "海东市", "海东", "hd", "0972"),
    Prefecture("632200", "海北藏族自治州", "海北州", "hb", "0970"),
    Prefecture("632300", "黄南藏族自治州", "黄南州", "huangnan", "0973"),
    Prefecture("632500", "海南藏族自治州", "海南州", "hainan", "0974"),
    Prefecture("632600", "果洛藏族自治州", "果洛州", "gl", "0975"),
    Prefecture("632700", "玉树藏族自治州", "玉树州", "ys", "0976"),
    Prefecture("632800", "海西蒙古族藏族自治州", "海西州", "hx", "0977"),
)

_XINING = {"汉": 75, "回": 16, "藏": 5, "土": 2, "蒙古": 1, "撒拉": 1}
_GOLOG = {"藏": 90, "汉": 8, "回": 2}
_YUSHU = {"藏": 97, "汉": 3}


def _c(code: str, name: str, short: str, population: float, mix: dict[str, int]) -> County:
    return County(code, name, code[:4] + "00", short, population, mix)


COUNTIES: tuple[County, ...] = (
    _c("630102", "城东区", "城东", 44.0, _XINING),
    _c("630103", "城中区", "城中", 36.0, _XINING),
    _c("630104", "城西区", "城西", 40.0, _XINING),
    _c("630105", "城北区", "城北", 40.0, _XINING),
    _c("630106", "湟中区", "湟中", 45.0, {"汉": 65, "藏": 20, "回": 10, "土": 5}),
    _c("630121", "大通回族土族自治县", "大通", 42.0, {"汉": 50, "回": 30, "土": 10, "藏": 10}),
    _c("630123", "湟源县", "湟源", 13.0, {"汉": 85, "藏": 10, "回": 5}),
    _c("630202", "乐都区", "乐都", 26.0, {"汉": 75, "藏": 15, "回": 5, "土": 5}),
    _c("630203", "平安区", "平安", 12.0, {"汉": 60, "回": 25, "藏": 15}),
    _c("630222", "民和回族土族自治县", "民和", 34.0, {"汉": 40, "回": 35, "土": 25}),
    _c("630223", "互助土族自治县", "互助", 34.0, {"汉": 60, "土": 25, "藏": 10, "回": 5}),
    _c("630224", "化隆回族自治县", "化隆", 24.0, {"回": 50, "汉": 25, "藏": 23, "撒拉": 2}),
    _c("630225", "循化撒拉族自治县", "循化", 15.0, {"撒拉": 62, "藏": 25, "汉": 8, "回": 5}),
    _c("632221", "门源回族自治县", "门源", 15.0, {"回": 40, "汉": 40, "藏": 15, "土": 5}),
    _c("632222", "祁连县", "祁连", 5.0, {"藏": 40, "汉": 35, "回": 20, "蒙古": 5}),
    _c("632223", "海晏县", "海晏", 3.5, {"汉": 50, "藏": 30, "回": 15, "蒙古": 5}),
    _c("632224", "刚察县", "刚察", 4.5, {"藏": 65, "汉": 20, "回": 15}),
    _c("632301", "同仁市", "同仁", 10.0, {"藏": 75, "汉": 10, "土": 10, "回": 5}),
    _c("632322", "尖扎县", "尖扎", 6.0, {"藏": 60, "汉": 25, "回": 15}),
    _c("632323", "泽库县", "泽库", 8.0, {"藏": 97, "汉": 3}),
    _c("632324", "河南蒙古族自治县", "河南", 4.0, {"蒙古": 90, "藏": 8, "汉": 2}),
    _c("632521", "共和县", "共和", 13.0, {"汉": 50, "藏": 40, "回": 10}),
    _c("632522", "同德县", "同德", 6.5, {"藏": 90, "汉": 10}),
    _c("632523", "贵德县", "贵德", 10.0, {"汉": 50, "藏": 40, "回": 10}),
    _c("632524", "兴海县", "兴海", 7.5, {"藏": 70, "汉": 20, "回": 10}),
    _c("632525", "贵南县", "贵南", 8.0, {"藏": 75, "汉": 20, "回": 5}),
    _c("632621", "玛沁县", "玛沁", 5.5, _GOLOG),
    _c("632622", "班玛县", "班玛", 3.0, _GOLOG),
    _c("632623", "甘德县", "甘德", 4.0, _GOLOG),
    _c("632624", "达日县", "达日", 3.5, _GOLOG),
    _c("632625", "久治县", "久治", 3.0, _GOLOG),
    _c("632626", "玛多县", "玛多", 1.5, _GOLOG),
    _c("632701", "玉树市", "玉树", 12.0, _YUSHU),
    _c("632722", "杂多县", "杂多", 7.0, _YUSHU),
    _c("632723", "称多县", "称多", 6.5, _YUSHU),
    _c("632724", "治多县", "治多", 3.5, _YUSHU),
    _c("632725", "囊谦县", "囊谦", 11.0, _YUSHU),
    _c("632726", "曲麻莱县", "曲麻莱", 3.5, _YUSHU),
    _c("632801", "格尔木市", "格尔木", 22.0, {"汉": 70, "藏": 10, "回": 10, "蒙古": 7, "土": 3}),
    _c("632802", "德令哈市", "德令哈", 8.0, {"汉": 70, "蒙古": 15, "藏": 10, "回": 5}),
    _c("632803", "茫崖市", "茫崖", 3.0, {"汉": 85, "回": 10, "藏": 5}),
    _c("632821", "乌兰县", "乌兰", 4.0, {"汉": 55, "蒙古": 25, "藏": 15, "回": 5}),
    _c("632822", "都兰县", "都兰", 7.5, {"汉": 40, "藏": 35, "蒙古": 15, "回": 10}),
    _c("632823", "天峻县", "天峻", 2.5, {"藏": 70, "蒙古": 15, "汉": 15}),
)

# Codes withdrawn from GB/T 2260 that IDs issued before the change still carry.
# The former 海东地区 (632100) became 海东市 in 2013; 湟中 and 湟源 moved to
# 西宁 in 1999; 西宁's 郊区 became 城北区 in 1986.
RETIRED: tuple[RetiredCode, ...] = (
    RetiredCode("630111", "郊区", "630105", 1986),
    RetiredCode("630122", "湟中县", "630106", 2019),
    RetiredCode("630221", "平安县", "630203", 2015),
    RetiredCode("632121", "平安县", "630203", 2013),
    RetiredCode("632122", "民和回族土族自治县", "630222", 2013),
    RetiredCode("632123", "乐都县", "630202", 2013),
    RetiredCode("632124", "湟中县", "630106", 1999),
    RetiredCode("632125", "湟源县", "630123", 1999),
    RetiredCode("632126", "互助土族自治县", "630223", 2013),
    RetiredCode("632127", "化隆回族自治县", "630224", 2013),
    RetiredCode("632128", "循化撒拉族自治县", "630225", 2013),
    RetiredCode("632321", "同仁县", "632301", 2020),
    RetiredCode("632421", "河南县", "632324", 1985),
    RetiredCode("632721", "玉树县", "632701", 2013),
)

PREFECTURE_BY_CODE = {p.code: p for p in PREFECTURES}
COUNTY_BY_CODE = {c.code: c for c in COUNTIES}
RETIRED_BY_CODE = {r.code: r for r in RETIRED}


def counties_of(prefecture: str) -> list[County]:
    return [c for c in COUNTIES if c.prefecture == prefecture]


def retired_for(county: str) -> list[RetiredCode]:
    """Retired codes whose holders now live under ``county``."""
    return [r for r in RETIRED if r.successor == county]


def id_division_allowed(code: str) -> bool:
    """True when ``code`` may appear as the address code of a Qinghai resident ID."""
    return code in COUNTY_BY_CODE or code in RETIRED_BY_CODE


def full_county_name(county: County) -> str:
    """``青海省海西蒙古族藏族自治州格尔木市``: how addresses name a county."""
    return PROVINCE_NAME + PREFECTURE_BY_CODE[county.prefecture].name + county.name
