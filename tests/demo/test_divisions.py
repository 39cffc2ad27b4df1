"""The demo's regions and departments: real Qinghai divisions, valid organ credit codes."""

from __future__ import annotations

import re

from govdata.demo.departments import PLATFORM_DEPARTMENT, PROVINCIAL, all_departments
from govdata.demo.divisions import (
    COUNTIES,
    COUNTY_BY_CODE,
    PREFECTURE_BY_CODE,
    PREFECTURES,
    RETIRED,
    counties_of,
    full_county_name,
    id_division_allowed,
)
from govdata.standards import uscc


def test_eight_prefectures_and_44_counties_with_consistent_codes() -> None:
    assert len(PREFECTURES) == 8
    assert len(COUNTIES) == 44
    assert len({c.code for c in COUNTIES}) == 44
    for county in COUNTIES:
        assert county.prefecture in PREFECTURE_BY_CODE
        assert county.code[:4] == county.prefecture[:4]
        assert county.code.startswith("63")
        assert county.population > 0
        assert county.ethnic_mix
    assert sum(len(counties_of(p.code)) for p in PREFECTURES) == 44
    assert [len(counties_of(p.code)) for p in PREFECTURES] == [7, 6, 4, 4, 5, 6, 6, 6]


def test_reference_names_are_exact() -> None:
    assert COUNTY_BY_CODE["630121"].name == "大通回族土族自治县"
    assert COUNTY_BY_CODE["632803"].name == "茫崖市"
    assert PREFECTURE_BY_CODE["632800"].name == "海西蒙古族藏族自治州"
    assert full_county_name(COUNTY_BY_CODE["632801"]) == "青海省海西蒙古族藏族自治州格尔木市"


def test_retired_codes_lead_to_current_counties_and_are_accepted_in_ids() -> None:
    assert {r.code for r in RETIRED} >= {
        "630122",
        "632321",
        "630221",
        "632421",
        "632721",
        "630111",
        *(f"6321{n:02d}" for n in range(21, 29)),
    }
    for retired in RETIRED:
        assert retired.code not in COUNTY_BY_CODE
        assert retired.successor in COUNTY_BY_CODE
        assert id_division_allowed(retired.code)
    assert id_division_allowed("630102")
    assert not id_division_allowed("630100")
    assert not id_division_allowed("110101")


def test_departments_cover_the_province_and_every_prefecture() -> None:
    departments = all_departments()
    provincial = [d for d in departments if d.region_code == "630000"]
    assert len(provincial) >= 25
    assert len(provincial) == len(PROVINCIAL)
    assert {"police", "civil", "hrss", "market", "natres", "health", "ndrc", "eco",
            "emergency", "medins", "edu", "transport", PLATFORM_DEPARTMENT} <= {
        d.code for d in provincial
    }  # fmt: skip
    for p in PREFECTURES:
        local = [d for d in departments if d.region_code == p.code]
        assert len(local) >= 10
        assert all(d.code.startswith(p.slug + "_") for d in local)
        assert all(d.name.startswith(p.name) for d in local)
    assert next(d for d in departments if d.code == "xn_police").name == "西宁市公安局"
    assert next(d for d in departments if d.code == "police").name == "青海省公安厅"


def test_department_codes_names_and_credit_codes() -> None:
    departments = all_departments()
    slug = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
    assert all(slug.match(d.code) for d in departments)
    assert len({d.code for d in departments}) == len(departments)
    assert len({d.name for d in departments}) == len(departments)
    assert len({d.credit_code for d in departments}) == len(departments)
    for d in departments:
        assert uscc.is_valid(d.credit_code), d
        # Government organ: registered by 机构编制 (1), type 机关 (1), in its own region.
        assert d.credit_code[:2] == "11"
        assert d.credit_code[2:8] == d.region_code
        assert d.region_path.endswith(d.region_code)
    # The codes do not change between builds.
    assert [d.credit_code for d in all_departments()] == [d.credit_code for d in departments]
