"""An entry of people with a physical mount whose lake table holds crafted rows, and a second
entry (the authoritative register) to check references and cross-source agreement against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from govdata.catalog.models import CatalogEntry
from govdata.governance import quality_rules
from govdata.governance.quality_schemas import RuleIn
from govdata.standards import resident_id
from tests.identity.conftest import Org
from tests.sharing.conftest import add_sqlite_source, make_entry, mount_physical, people_file


def rid(division: str, born: date, seq: int) -> str:
    return resident_id.make(division, born, seq)


GOOD = [rid("630102", date(1990, 1, 1), 10 + i) for i in range(6)]
BAD_CHECK = GOOD[0][:17] + ("0" if GOOD[0][17] != "0" else "1")
# Row values: resident_id, name, phone, region_code, age.
ROWS: list[tuple[Any, ...]] = [
    (GOOD[0], "张三", "13800001111", "630102", 36),
    (GOOD[1], "李四", "13900002222", "630102", 41),
    (GOOD[2], None, "1390000222", "630102", 34),  # no name; a 10-digit phone
    (GOOD[3], "赵六", "13600004444", "632801", 250),  # impossible age
    (BAD_CHECK, "钱七", "13500005555", "999999", 48),  # bad check digit, unknown region
    ("630102900101123", "孙八", "12345678901", "630102", 30),  # 15-digit legacy ID
]
REGISTER: list[tuple[Any, ...]] = [
    (GOOD[0], "张三", "13800001111", "630102", 36),
    (GOOD[1], "李 四", "13900002222", "630102", 41),  # a space: still a disagreement
    (GOOD[2], "王五", "13700003333", "630102", 34),
    (GOOD[3], "赵 六", "13600004444", "632801", 26),
]


@dataclass
class Setup:
    entry: CatalogEntry
    register: CatalogEntry


def people(
    org: Org, tmp: Path, rows: list[tuple[Any, ...]] = ROWS, **overrides: Any
) -> CatalogEntry:
    entry = make_entry(org, **overrides)
    source = add_sqlite_source(org, "xn_stats", people_file(tmp / f"p-{entry.id[-8:]}.db"))
    mount_physical(org, entry.id, source, rows)
    return entry


def setup(org: Org, tmp: Path) -> Setup:
    entry = people(org, tmp)
    register = people(org, tmp, REGISTER, name="常住人口登记")
    return Setup(entry, register)


def add_rule(org: Org, entry: CatalogEntry, user: str = "xn_officer", **rule: Any) -> str:
    with org.as_(user).act() as ctx:
        return quality_rules.create_rule(ctx, entry.id, RuleIn(**rule)).id
