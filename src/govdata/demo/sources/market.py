"""省市场监管局 market-entity registration (市场主体登记): companies, sole traders, cooperatives.

About six market entities per hundred residents. Each has a valid unified
social credit code (registration authority 9 工商, type 1 企业 / 2 个体工商户
/ 3 农民专业合作社, the division code of the registering authority), a name
prefixed with the province, prefecture or county that registered it, and a
legal representative taken from the household register (or, for
``OUTSIDE_LEGAL_REP`` of them, from another province).
"""

from __future__ import annotations

from datetime import date

from govdata.demo import names
from govdata.demo.addresses import AddressBook, county_office
from govdata.demo.divisions import PREFECTURE_BY_CODE, PROVINCE_CODE, County
from govdata.demo.people import AS_OF_ORD, OUTSIDE_DIVISIONS, YEAR, Batch, Person, stamp
from govdata.demo.sources.common import (
    OUTSIDE_LEGAL_REP,
    Employer,
    Row,
    Rows,
    World,
    iso,
    seen_name,
    seen_phone,
    system_rng,
)
from govdata.demo.sources.schema import Column, System, table
from govdata.standards import resident_id, uscc

ENTITIES_PER_PERSON = 0.06

SYSTEM = System(
    code="market",
    name="市场主体登记管理系统",
    department="market",
    tables=(
        table(
            "enterprises",
            "市场主体登记信息",
            Column("credit_code", "CHAR(18)", "统一社会信用代码", nullable=False),
            Column("name", "VARCHAR(100)", "市场主体名称", nullable=False),
            Column("entity_type", "VARCHAR(32)", "市场主体类型", nullable=False),
            Column(
                "legal_rep_name", "VARCHAR(32)", "法定代表人（负责人、经营者）姓名", nullable=False
            ),
            Column("legal_rep_resident_id", "CHAR(18)", "法定代表人公民身份号码", nullable=False),
            Column("registered_capital", "DECIMAL(16,2)", "注册资本（万元）"),
            Column("industry_code", "CHAR(1)", "国民经济行业门类代码（GB/T 4754）", nullable=False),
            Column("industry", "VARCHAR(32)", "国民经济行业门类", nullable=False),
            Column("status", "VARCHAR(8)", "登记状态（存续/吊销/注销/迁出）", nullable=False),
            Column("established_on", "DATE", "成立日期", nullable=False),
            Column("registration_authority", "VARCHAR(64)", "登记机关", nullable=False),
            Column("county_code", "CHAR(6)", "住所所在行政区划代码", nullable=False),
            Column("address", "VARCHAR(200)", "住所（经营场所）", nullable=False),
            Column("phone", "VARCHAR(20)", "联系电话"),
            unique=(("credit_code",),),
            indexes=(("name",), ("legal_rep_resident_id",), ("county_code",)),
        ),
    ),
)

_INDUSTRY = names.WeightedPicker([(str(i), float(w)) for i, w in enumerate(names.INDUSTRY_WEIGHTS)])
_STATUS = names.WeightedPicker((("存续", 85), ("注销", 10), ("吊销", 3), ("迁出", 2)))
_SHOP_INDUSTRY = {"F": "批发和零售业", "H": "住宿和餐饮业", "O": "居民服务、修理和其他服务业"}
_SHOPS_BY_INDUSTRY = {
    "便利店": "F", "牛肉面馆": "H", "超市": "F", "五金店": "F", "汽车修理部": "O", "理发店": "O",
    "茶餐厅": "H", "批发部": "F", "药店": "F", "服装店": "F", "手机店": "F", "建材经营部": "F",
    "烤肉店": "H", "酸奶店": "H", "藏式餐馆": "H", "粮油店": "F", "土特产店": "F",
}  # fmt: skip


class Market:
    system = SYSTEM

    def __init__(self, seed: int) -> None:
        self.rng = system_rng(seed, "market")
        self.addresses = AddressBook(seed)
        self.next_id = 1
        self.names: set[str] = set()
        self.bodies: set[str] = set()

    def _org_body(self) -> str:
        rng = self.rng
        while True:
            body = f"{int(rng.random() * 100_000_000):08d}"
            if body not in self.bodies:
                self.bodies.add(body)
                return body

    def _legal_rep(self, batch: Batch) -> tuple[str, str, str | None, Person | None]:
        """(name, resident ID, phone, person) of someone fit to run a business."""
        rng = self.rng
        if rng.random() < OUTSIDE_LEGAL_REP:
            born = date.fromordinal(AS_OF_ORD - int(rng.uniform(25, 60) * YEAR))
            male = rng.random() < 0.7
            number = resident_id.make(
                rng.choice(OUTSIDE_DIVISIONS), born, int(rng.random() * 500) * 2 + male
            )
            return names.person_name(rng, "汉", male, born.year), number, None, None
        for _ in range(20):
            p = batch.persons[int(rng.random() * len(batch.persons))]
            if 20 <= p.age <= 70 and p.alive:
                return seen_name(rng, p), p.resident_id, seen_phone(rng, p), p
        p = batch.persons[0]
        return p.name, p.resident_id, p.phone, p

    def _unique(self, name: str) -> str:
        candidate = name
        n = 1
        while candidate in self.names:
            n += 1
            candidate = (
                f"{name[:-1]}（{n}）{name[-1]}" if name.endswith("店") else name + f"第{n}分部"
            )
        self.names.add(candidate)
        return candidate

    def _company(self, county: County) -> tuple[str, str, str, str, str]:
        """(name, division, authority, industry code, industry) of a company."""
        rng = self.rng
        pref = PREFECTURE_BY_CODE[county.prefecture]
        level = rng.random()
        if level < 0.15:
            prefix, division, authority = "青海", PROVINCE_CODE, "青海省市场监督管理局"
        elif level < 0.5 or county.name.endswith("区"):
            prefix, division = pref.short, pref.code
            authority = pref.name + "市场监督管理局"
        else:
            prefix = county.name if county.name.endswith("市") else county.short + "县"
            division, authority = county.code, county_office(county, "市场监督管理局")
        section, section_name, words = names.INDUSTRIES[int(_INDUSTRY.pick(rng))]
        brand = rng.choice(names.BRANDS)
        form = "股份有限公司" if rng.random() < 0.04 else rng.choice(("有限公司", "有限责任公司"))
        name = self._unique(f"{prefix}{brand}{rng.choice(words)}{form}")
        return name, division, authority, section, section_name

    def rows(self, batch: Batch, world: World) -> Rows:
        rng = self.rng
        count = int(len(batch.persons) * ENTITIES_PER_PERSON + rng.random())
        out: list[Row] = []
        for _ in range(count):
            rep_name, rep_id, phone, person = self._legal_rep(batch)
            county = person.county if person is not None else rng.choice(batch.persons).county
            kind = rng.random()
            if kind < 0.62:
                name, division, authority, section, industry = self._company(county)
                type_code, entity_type = "1", "有限责任公司（自然人投资或控股）"
                if name.endswith("股份有限公司"):
                    entity_type = "股份有限公司（非上市、自然人投资或控股）"
                capital: float | None = round(rng.lognormvariate(5.3, 1.4), 2)
            elif kind < 0.95:
                shop = rng.choice(names.SHOP_KINDS)
                # "马记" style names only where people have surnames.
                surnamed = person is None or person.ethnicity not in ("藏", "蒙古")
                use_brand = rng.random() < 0.6 or not surnamed
                middle = rng.choice(names.BRANDS) if use_brand else rep_name[0] + "记"
                name = self._unique(county_office(county, "") + middle + shop)
                division = county.code
                authority = county_office(county, "市场监督管理局")
                section = _SHOPS_BY_INDUSTRY[shop]
                industry = _SHOP_INDUSTRY[section]
                type_code, entity_type = "2", "个体工商户"
                capital = round(rng.uniform(0.5, 30), 2)
            else:
                place = names.place_name(rng)
                prefix = county.name if county.name.endswith("市") else county.short + "县"
                name = self._unique(prefix + place + rng.choice(names.COOPERATIVE_KINDS))
                division = county.code
                authority = county_office(county, "市场监督管理局")
                section, industry = "A", "农、林、牧、渔业"
                type_code, entity_type = "3", "农民专业合作社"
                capital = round(rng.uniform(10, 500), 2)
            credit_code = uscc.make("9", type_code, division, self._org_body())
            earliest = date(1995, 1, 1).toordinal()
            if person is not None:
                earliest = max(earliest, person.birth.toordinal() + int(20 * YEAR))
            established = earliest + int(
                (1 - rng.random() ** 2) * max(AS_OF_ORD - 30 - earliest, 1)
            )
            status = "存续" if type_code == "2" and rng.random() < 0.9 else _STATUS.pick(rng)
            updated = established + int((1 - rng.random() ** 3) * max(AS_OF_ORD - established, 0))
            address = self.addresses.business(rng, county).address
            out.append(
                (
                    self.next_id,
                    credit_code,
                    name,
                    entity_type,
                    rep_name,
                    rep_id,
                    capital,
                    section,
                    industry,
                    status,
                    iso(established),
                    authority,
                    county.code,
                    address,
                    phone,
                    stamp(rng, updated),
                )
            )
            self.next_id += 1
            if type_code == "1":
                world.add_employer(Employer(credit_code, name, county.code, status == "存续"))
        return {"enterprises": out}
