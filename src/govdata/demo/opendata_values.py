"""Synthetic, non-personal rows for the demo's open datasets, driven by each entry's items.

A column's values follow what its item says it holds: the data element (a division code
is a real county code of the department's region, a credit code passes GB 32100), the
English name (licence numbers, dates, amounts, counts) and the Chinese name (the
categories a department would really use). Seeded per dataset, so a build is repeatable.

Items naming a person (姓名, 法定代表人, 负责人, …) get synthetic names in the department's
file — it is the department's register — but ``personal_item`` marks them, and the demo
leaves their columns out of what it opens.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pyarrow as pa
from faker import Faker

from govdata.catalog.vocab import DataType
from govdata.demo import names
from govdata.demo.divisions import COUNTIES, PREFECTURE_BY_CODE, County
from govdata.demo.people import AS_OF
from govdata.standards import uscc

# Data elements of persons: 姓名, 法定代表人.
PERSON_ELEMENTS = frozenset({"DE00002", "DE00029"})
PERSON_ITEMS = frozenset(
    {"负责人", "经营者姓名", "经营者", "申请人", "代表性传承人", "项目负责人", "性别", "养殖场户"}
)


@dataclass(frozen=True)
class ItemSpec:
    name: str  # Chinese item name
    name_en: str  # the file's column
    data_type: str
    element: str | None = None


def personal_item(item: ItemSpec) -> bool:
    """The item names or describes a natural person: never opened by the demo."""
    return item.element in PERSON_ELEMENTS or item.name in PERSON_ITEMS


# Categories by Chinese item name (first) or English name.
CHOICES: dict[str, tuple[str, ...]] = {
    "办学类型": ("小学", "初级中学", "完全中学", "九年一贯制学校", "高级中学", "幼儿园"),
    "培训类别": ("文化艺术", "体育", "科技", "语言"),
    "技术领域": ("新材料", "新能源与节能", "生物与新医药", "电子信息", "资源与环境"),
    "认定批次": ("2023年第一批", "2023年第二批", "2024年第一批", "2024年第二批"),
    "成果类别": ("应用技术", "基础理论", "软科学"),
    "应用行业": ("农业", "制造业", "采矿业", "卫生", "生态环境"),
    "计划类别": ("重点研发与转化计划", "基础研究计划", "创新平台建设专项"),
    "组织类型": ("社会团体", "民办非企业单位", "基金会"),
    "机构性质": ("公办", "民办", "公建民营"),
    "地名类别": ("自然村", "山峰", "河流", "湖泊", "街路巷"),
    "执业类别": ("专职律师", "兼职律师", "公职律师", "公司律师"),
    "组织形式": ("合伙所", "个人所", "国资所"),
    "执业状态": ("正常执业", "暂停执业"),
    "公开类型": ("部门预算", "部门决算"),
    "采购方式": ("公开招标", "竞争性磋商", "询价", "单一来源"),
    "环评类别": ("报告书", "报告表"),
    "首要污染物": ("PM2.5", "PM10", "O3", "—"),
    "监测因子": ("化学需氧量", "氨氮", "二氧化硫", "氮氧化物", "颗粒物"),
    "监测指标": ("地表水水质", "植被覆盖度", "雪豹红外相机记录", "藏羚羊种群数量"),
    "所属园区": ("长江源园区", "黄河源园区", "澜沧江源园区"),
    "资质类别及等级": (
        "建筑工程施工总承包二级",
        "市政公用工程施工总承包三级",
        "公路工程施工总承包二级",
    ),
    "技术等级": ("一级", "二级", "三级", "高速"),
    "车辆类型": ("大型普通客车", "重型半挂牵引车", "中型普通客车", "重型厢式货车"),
    "水源类型": ("地表水", "地下水"),
    "畜种": ("牦牛", "藏羊"),
    "经营者类型": ("国有企业", "私营企业", "外商投资企业", "个体工商户"),
    "投资方国别（地区）": ("中国香港", "新加坡", "日本", "韩国", "美国", "德国"),
    "发卡类型": ("集团发卡企业", "品牌发卡企业", "规模发卡企业"),
    "商品名称": ("大米", "面粉", "食用植物油", "猪肉", "牛肉", "羊肉", "鸡蛋", "大白菜", "土豆"),
    "监测品种": ("粳米", "标准粉", "菜籽油", "鲜牛奶", "牛肉", "羊肉", "西红柿", "液化石油气"),
    "规格等级": ("一级", "二级", "散装", "袋装5kg"),
    "计价单位": ("元/公斤", "元/500克", "元/升", "元/瓶"),
    "计量单位": ("亿元", "万元", "%", "万人"),
    "等级": ("AAAAA", "AAAA", "AAA", "AA"),
    "保护级别": ("全国重点文物保护单位", "省级文物保护单位"),
    "类别": ("古遗址", "古建筑", "古墓葬", "石窟寺及石刻", "近现代重要史迹"),
    "时代": ("新石器时代", "汉", "唐", "明", "清", "近现代"),
    "公布批次": ("第五批", "第六批", "第七批", "第八批"),
    "级别": ("国家级", "省级", "市级"),
    "演出类别": ("文艺表演团体", "演出经纪机构"),
    "经营性质": ("非营利性", "营利性"),
    "机构类别": ("乡镇卫生院", "社区卫生服务中心", "村卫生室", "综合医院", "藏医医院"),
    "机构类型": ("定点医疗机构", "定点零售药店"),
    "医院等级": ("三级甲等", "二级甲等", "二级乙等", "一级", "未定级"),
    "层级": ("县级", "乡镇（街道）级", "村（社区）级"),
    "事故类型": ("道路运输", "建筑施工", "矿山", "火灾", "其他"),
    "事故等级": ("一般", "较大"),
    "灾害种类": ("洪涝", "干旱", "风雹", "雪灾", "地震", "低温冷冻"),
    "主营业务": ("盐湖资源开发", "电力生产", "交通基础设施投资", "文化旅游", "金融服务"),
    "项目类型": ("光伏发电", "风力发电", "光热发电", "储能"),
    "事项类型": ("行政许可", "行政确认", "公共服务", "行政给付"),
    "评价渠道": ("政务服务网", "政务服务大厅", "青松办App", "12345热线"),
    "整改状态": ("已整改", "整改中", "逾期未整改"),
    "检查结果": ("符合", "基本符合", "不符合"),
    "检验结果": ("合格", "合格", "合格", "不合格"),
    "登记状态": ("存续", "存续", "存续", "注销", "吊销"),
    "列入经营异常名录原因": ("未按规定报送年度报告", "通过登记的住所无法联系"),
    "移出原因": ("补报年度报告并公示", "依法办理住所变更登记", ""),
    "违法行为": ("超标排放污染物", "未批先建", "未按规定设置排污口"),
    "违法行为类型": ("销售不符合食品安全标准的食品", "虚假宣传", "无照经营", "计量违法"),
    "处罚依据": (
        "《中华人民共和国行政处罚法》第二十八条",
        "《中华人民共和国大气污染防治法》第九十九条",
    ),
    "处罚内容": ("警告", "罚款", "没收违法所得并处罚款", "责令停产整治并处罚款"),
    "林种": ("防护林", "用材林", "经济林", "特种用途林"),
    "采伐方式": ("抚育采伐", "更新采伐", "卫生伐"),
    "土地用途": ("工业用地", "商服用地", "住宅用地", "公共管理与公共服务用地"),
    "出让方式": ("挂牌", "拍卖", "协议"),
    "供地方式": ("划拨", "挂牌出让", "协议出让"),
    "主体业态": ("食品销售经营者", "餐饮服务经营者", "单位食堂"),
    "主题分类": ("政府工作", "财政金融", "城乡建设", "农业农村", "卫生健康", "教育"),
    "场所类型": ("室内", "室外", "综合"),
    "设施类型": ("养老院", "日间照料中心", "农村互助幸福院"),
    "剂型": ("片剂", "胶囊剂", "注射剂", "颗粒剂", "散剂"),
    "甲乙类": ("甲类", "乙类"),
    "组成形式": ("个人经营", "家庭经营"),
    "命名类别": ("示范区", "示范单位"),
    "创建类型": ("社会信用体系建设示范城市", "诚信示范企业"),
    "园区级别": ("国家级", "省级"),
    "类型": ("人民调解委员会", "行业性专业性调解委员会"),
    "主要污染物类别": ("废气、废水", "废气", "废水", "废气、废水、固体废物"),
    "行业类别": ("火力发电", "化学原料制造", "水泥制造", "有色金属冶炼", "污水处理"),
    "行业": ("制造业", "批发和零售业", "信息技术服务业", "采矿业"),
    "经营范围": ("一般项目：农产品收购；食品销售", "道路普通货物运输", "旅游业务", "药品零售"),
    "服务范围": ("职业介绍", "人力资源外包", "劳务派遣"),
    "许可范围": ("石油天然气开采", "危险化学品生产", "非煤矿山开采", "建筑施工"),
    "鉴定业务范围": ("法医临床鉴定", "法医病理鉴定", "文书鉴定", "痕迹鉴定"),
    "诊疗科目": ("内科；外科；妇产科", "藏医科；中医科", "全科医疗科；预防保健科"),
    "经营项目": ("预包装食品销售", "散装食品销售", "热食类食品制售"),
    "许可项目": ("住宿", "沐浴", "美容美发", "游泳"),
    "生产品种": ("酸奶", "青稞酒", "馍馍", "炒面", "牛肉干"),
    "主导产业": ("盐湖化工", "新能源", "新材料", "生物医药", "特色农畜产品加工"),
    "指标名称": ("地区生产总值", "规模以上工业增加值", "社会消费品零售总额", "固定资产投资"),
    "核定载客（吨）位": ("45座", "33座", "30吨", "18吨"),
    "执业区域": ("西宁市城东区", "海东市乐都区", "格尔木市"),
    "产品名称": ("建筑用钢筋", "水泥", "危险化学品", "电线电缆"),
    "开放时间": ("08:00-18:00", "09:00-17:30", "全天"),
    "河流": ("黄河", "湟水", "大通河", "通天河", "格尔木河"),
    "免疫记录": ("口蹄疫；小反刍兽疫", "口蹄疫；布鲁氏菌病", "口蹄疫"),
    "食品名称": ("酸奶", "牦牛肉干", "青稞饼干", "菜籽油", "枸杞"),
    "规格型号": ("500g/袋", "250ml/瓶", "1kg/袋", "散装称重"),
    "不合格项目": ("", "", "", "菌落总数", "二氧化硫残留量"),
    "整改情况": ("已整改", "无需整改", "整改中"),
    "问题描述": ("", "从业人员健康证明过期", "原料进货查验记录不全", "虫害防制设施不完善"),
    "有效性": ("有效", "已废止"),
    "年度目标": ("新建幼儿园5所", "改造老旧小区30个", "新增城镇就业6万人", "建设农村公路500公里"),
    "形象进度": ("已完工", "主体完工", "正在施工"),
}
GOVERNMENT = (
    "市场监督管理局",
    "生态环境局",
    "自然资源局",
    "交通运输局",
    "卫生健康委员会",
    "人民政府",
)
SHAPES: dict[str, str] = {
    "school": "{place}小学|{county}第{n}中学|{place}九年制学校|{county}民族中学",
    "hotel": "{brand}大酒店|{brand}宾馆|{county}{brand}饭店",
    "scenic_area": "{place}景区|{county}{place}生态旅游区|{brand}湖景区",
    "station": "{place}监测站|{county}{place}站",
    "shelter": "{place}广场应急避难场所|{county}体育场避难场所|{place}公园避难场所",
    "facility": "{place}幸福院|{county}社会福利中心|{place}日间照料中心",
    "committee": "{place}村人民调解委员会|{county}医疗纠纷人民调解委员会",
    "community": "{place}村|{place}社区",
    "forest_farm": "{county}{place}林场",
    "park": "{county}{brand}工业园|{county}经济技术开发区",
    "reserve": "{place}自然保护区",
    "route": "{county}—{place}|{place}至{county}",
    "stops": "{place}、{county}|{place}",
    "item": "{county}{place}{thing}",
    "project_name": "{county}{place}{thing}",
    "accident": "{county}“{n}·{m}”{kind}事故",
    "title": "关于{county}{thing}的通知|{county}{thing}公示",
    "drug": "{brand}片|{brand}胶囊|{brand}颗粒",
    "meaning": "因地处{place}而得名",
    "comment": "办事方便快捷|窗口服务热情|材料一次说清|等候时间较长",
    "website": "www.{py}{n}.cn|",
    "farm": "{county}{place}生态畜牧业专业合作社",
    "era": "清",
}
THINGS = (
    "道路改扩建工程",
    "污水处理厂建设项目",
    "光伏发电项目",
    "安置小区建设项目",
    "学校建设工程",
)
AUTHORITY_NAMES = frozenset(
    {
        "authority", "registration_authority", "issuer", "publisher", "supervisor",
        "department", "responsible", "purchaser",
    }
)  # fmt: skip
ORG_NAMES = frozenset(
    {
        "org_name", "entity_name", "party", "builder", "holder", "supplier", "owner", "buyer",
        "sponsor", "producer", "sampled_unit", "retailer", "operator", "protector", "firm",
        "notary_office", "unit", "manager",
    }
)  # fmt: skip
INTEGERS: dict[str, tuple[int, int]] = {
    "students": (120, 3200), "teachers": (12, 260), "boarders": (0, 1500), "beds": (10, 900),
    "residents": (5, 400), "year": (2020, 2025), "stars": (2, 5), "deaths": (0, 3),
    "injuries": (0, 8), "aqi": (20, 160), "rooms": (40, 420), "lawyers": (3, 60),
    "experts": (3, 30), "mediators": (3, 20), "households": (80, 2600), "population": (300, 9000),
    "companies": (20, 480), "employees": (3, 900), "hazards": (0, 12), "daily_trips": (1, 24),
    "legal_days": (5, 30), "promised_days": (1, 15), "rating": (1, 5), "capacity": (500, 30000),
    "staff": (8, 300), "affected": (50, 30000), "evacuated": (0, 3000), "houses": (0, 120),
}  # fmt: skip
FUTURE_DATES = frozenset({"valid_until", "term_until", "planned_end", "inspected_until"})
DECIMALS: dict[str, tuple[float, float]] = {
    "longitude": (0, 0), "latitude": (0, 0), "pm25": (5, 90), "pm10": (10, 180),
    "o3": (30, 180), "state_share": (30, 100), "coverage": (5, 60), "progress": (10, 100),
    "urban_share": (30, 80), "birth_rate": (8, 15), "death_rate": (5, 8), "yoy": (-8, 15),
    "mom": (-5, 5), "level": (1800, 3200), "flow": (5, 900), "rain": (0, 40),
    "concentration": (1, 120), "start_km": (0, 300), "end_km": (300, 600), "price": (2, 60),
    "length_km": (2, 260), "value": (1, 1000), "stock": (10, 900), "farmland": (0, 20),
}  # fmt: skip
# Prefecture seats, roughly: (longitude, latitude).
CENTRES = {
    "630100": (101.78, 36.62), "630200": (102.40, 36.48), "632200": (100.90, 36.95),
    "632300": (102.02, 35.52), "632500": (100.62, 36.28), "632600": (100.24, 34.47),
    "632700": (97.01, 33.00), "632800": (97.37, 37.37),
}  # fmt: skip


@dataclass
class Row:
    """What one row's columns share: its county, its organisation, its number."""

    rng: random.Random
    fake: Faker
    county: County
    index: int
    abbr: str
    styles: tuple[str, ...] = ()
    _org: tuple[str, str] | None = field(default=None)

    def org(self) -> tuple[str, str]:
        if self._org is None:
            rng = self.rng
            brand = rng.choice(names.BRANDS)
            if self.styles:
                name = f"{rng.choice(('青海', self.county.short))}{brand}{rng.choice(self.styles)}"
            else:
                _code, _section, kinds = rng.choice(names.INDUSTRIES)
                form = rng.choice(("有限公司", "有限责任公司", "股份有限公司"))
                name = f"青海{brand}{rng.choice(kinds)}{form}"
                if rng.random() < 0.4:
                    place = names.place_name(rng)
                    name = f"{self.county.short}{place}{rng.choice(kinds)}{form}"
            # Social organisations (5), law firms (3) and others carry their own authority code.
            authority = "5" if "协会" in name or "商会" in name or "研究会" in name else "9"
            body = f"{rng.randrange(10**8):08d}"
            self._org = name, uscc.make(authority, "1", self.county.code, body)
        return self._org


# What a dataset's organisations are called, by a keyword of its title (first match).
ORG_STYLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("养老", ("养老院", "老年公寓", "颐养中心", "社会福利服务中心")),
    ("社会组织", ("商会", "行业协会", "研究会", "公益服务中心")),
    ("律师事务所", ("律师事务所",)),
    ("司法鉴定", ("司法鉴定所", "司法鉴定中心")),
    ("旅行社", ("国际旅行社有限公司", "旅行社有限责任公司")),
    ("食品小作坊", ("清真食品加工坊", "酸奶坊", "馍馍加工坊")),
    ("食品", ("食品有限公司", "清真食品有限公司", "餐饮管理有限公司", "超市")),
    ("医疗", ("医院", "卫生院", "诊所", "藏医院")),
    ("医药", ("医院", "大药房", "药店", "卫生院")),
    ("卫生许可", ("宾馆", "洗浴中心", "美容美发店", "游泳馆")),
    ("培训", ("培训学校", "艺术培训学校", "体育培训中心")),
    ("农药", ("农资有限公司", "农资经营部")),
    ("排污", ("化工有限公司", "热电有限公司", "水泥有限公司", "污水处理有限公司")),
    ("安全生产", ("矿业有限公司", "化工有限公司", "建筑工程有限公司", "燃气有限公司")),
    ("建筑", ("建筑工程有限公司", "建设工程有限公司", "路桥工程有限公司")),
    ("施工", ("房地产开发有限公司", "置业有限公司", "城市建设投资有限公司")),
    ("运输", ("运输有限公司", "物流有限公司", "客运有限公司")),
    ("拍卖", ("拍卖有限公司",)),
    ("人力资源", ("人力资源服务有限公司", "劳务派遣有限公司")),
    ("演出", ("文化传媒有限公司", "演艺有限公司", "歌舞团")),
    ("高新技术", ("科技有限公司", "新材料有限公司", "锂业股份有限公司", "生物科技有限公司")),
    ("新能源", ("新能源有限公司", "光伏发电有限公司", "风力发电有限公司")),
    ("预付卡", ("百货有限公司", "超市有限公司", "餐饮管理有限公司")),
    ("取水", ("水务有限公司", "矿业有限公司", "农业开发有限公司")),
    ("水土保持", ("水电开发有限公司", "公路建设有限公司", "矿业有限公司")),
    ("国有企业", ("投资控股集团有限公司", "能源集团有限公司", "交通投资有限公司")),
    ("外商投资", ("国际贸易有限公司", "生物科技有限公司", "新能源有限公司")),
)


def org_styles(title: str) -> tuple[str, ...]:
    """How organisations in the dataset ``title`` are called (empty: any company)."""
    return next((styles for key, styles in ORG_STYLES if key in title), ())


def _shape(row: Row, spec: str) -> str:
    rng = row.rng
    shape = rng.choice(spec.split("|"))
    # Each part is drawn only when the shape uses it: shapes are drawn for every row.
    parts: dict[str, Callable[[], object]] = {
        "place": lambda: names.place_name(rng),
        "county": lambda: row.county.short,
        "brand": lambda: rng.choice(names.BRANDS),
        "n": lambda: rng.randint(1, 9),
        "m": lambda: rng.randint(1, 28),
        "thing": lambda: rng.choice(THINGS),
        "kind": lambda: rng.choice(("道路交通", "建筑施工", "火灾")),
        "py": lambda: row.fake.pystr(min_chars=4, max_chars=8).lower(),
    }
    return shape.format(**{k: make() for k, make in parts.items() if "{" + k + "}" in shape})


def _code(row: Row, item: ItemSpec) -> str:
    year = row.rng.randint(2019, AS_OF.year)
    if item.name_en in ("approval_no", "decision_no", "doc_no"):
        return f"青{row.abbr}〔{year}〕{row.index + 1}号"
    letters = "".join(p[0] for p in item.name_en.split("_")).upper()
    return f"{letters}{row.county.code}{year}{row.index + 1:06d}"


def _date(row: Row, item: ItemSpec) -> date:
    if item.name_en in FUTURE_DATES:
        return AS_OF + timedelta(days=row.rng.randint(30, 5 * 365))
    return AS_OF - timedelta(days=row.rng.randint(1, 6 * 365))


def _decimal(row: Row, item: ItemSpec) -> float:
    rng = row.rng
    if item.name_en in ("longitude", "latitude"):
        lng, lat = CENTRES.get(row.county.prefecture, (101.78, 36.62))
        centre = lng if item.name_en == "longitude" else lat
        return round(centre + rng.uniform(-0.6, 0.6), 6)
    low, high = DECIMALS.get(item.name_en, (0.0, 0.0))
    if "元" in item.name or (low, high) == (0.0, 0.0):
        if "万元" in item.name or "亿元" in item.name or "美元" in item.name:
            low, high = 5, 20000
        elif "（%）" in item.name:
            low, high = 0, 100
        elif "元" in item.name:
            low, high = 200, 200000
        else:
            low, high = 0.5, 800
    # Skewed towards the low end, as amounts and areas are.
    value = low + (high - low) * rng.random() ** 2
    return round(value, 2)


def value_for(item: ItemSpec) -> Callable[[Row], object]:
    """How to make one value of ``item`` from a row."""
    en, zh, kind = item.name_en, item.name, item.data_type
    if personal_item(item):
        if en == "gender":
            return lambda r: r.rng.choice("12")
        return lambda r: r.fake.name()
    if kind == DataType.INTEGER:
        low, high = INTEGERS.get(en, (1, 500))
        return lambda r: r.rng.randint(low, high)
    if kind == DataType.DECIMAL:
        return lambda r: _decimal(r, item)
    if kind == DataType.DATE:
        return lambda r: _date(r, item)
    if kind == DataType.DATETIME:
        return lambda r: datetime.combine(
            AS_OF - timedelta(days=r.rng.randint(0, 30)), time(r.rng.randint(0, 23))
        )
    if kind == DataType.BOOLEAN:
        return lambda r: r.rng.random() < 0.3
    if en == "division_code":
        return lambda r: r.county.code
    if en.endswith("credit_code"):
        return lambda r: r.org()[1]
    if en in ORG_NAMES or en.endswith("_org_name"):
        return lambda r: r.org()[0]
    if en in AUTHORITY_NAMES:
        return lambda r: f"{r.county.name}{r.rng.choice(GOVERNMENT)}"
    if en == "site" and zh.endswith("名称"):  # 文物保护单位的单位名称
        return lambda r: _shape(r, "{place}遗址|{place}寺|{county}古城遗址|{place}烽火台")
    if en in ("location", "site"):
        return lambda r: f"{r.county.name}{r.rng.choice(names.ROADS)}{r.rng.randint(1, 300)}号"
    if en == "office_phone":
        area = {p.code: p.area_code for p in PREFECTURE_BY_CODE.values()}
        return lambda r: (
            f"{area.get(r.county.prefecture, '0971')}-{r.rng.randint(6100000, 8899999)}"
        )
    if en == "url":
        return lambda r: f"https://www.qh.gov.cn/zwgk/xxgk/{r.index + 1}.html"
    if en == "romanized":
        return lambda r: r.fake.pystr(min_chars=5, max_chars=10).capitalize()
    if en in ("period",):
        return lambda r: f"{AS_OF.year}-{r.rng.randint(1, 12):02d}"
    if en == "plate_no":
        return lambda r: f"青{r.rng.choice('ABCDEFGH')}{r.fake.numerify('#####')}"
    if zh in CHOICES:
        options = CHOICES[zh]
        return lambda r: r.rng.choice(options)
    if en in SHAPES:
        spec = SHAPES[en]
        return lambda r: _shape(r, spec)
    if en.endswith(("_no", "_code", "_tag")) or en in ("name",):
        if en == "name":  # 地名 标准名称
            return lambda r: names.place_name(r.rng)
        return lambda r: _code(r, item)
    return lambda r: f"{zh}{r.rng.randint(1, 20)}"


ARROW = {
    DataType.INTEGER: pa.int64(),
    DataType.DECIMAL: pa.float64(),
    DataType.DATE: pa.date32(),
    DataType.DATETIME: pa.timestamp("s"),
    DataType.BOOLEAN: pa.bool_(),
}


def generate(
    items: Sequence[ItemSpec],
    *,
    rows: int,
    seed: str,
    region: str,
    abbr: str,
    keys: Collection[str] = (),
    title: str = "",
) -> pa.Table:
    """``rows`` rows of ``items`` (one column each) for a department of ``region``.

    Columns in ``keys`` hold no value twice: a repeated one is numbered (the load keys on
    them).
    """
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    counties = [c for c in COUNTIES if region in ("630000", c.prefecture)] or list(COUNTIES)
    weights = [c.population for c in counties]
    makers = [value_for(i) for i in items]
    styles = org_styles(title)
    columns: list[list[object]] = [[] for _ in items]
    seen: list[set[object] | None] = [set() if i.name_en in keys else None for i in items]
    for index in range(rows):
        county = rng.choices(counties, weights)[0]
        row = Row(rng, fake, county, index, abbr, styles)
        for column, make, used in zip(columns, makers, seen, strict=True):
            value = make(row)
            if used is not None:
                if isinstance(value, str) and value in used:
                    value = f"{value}（{index + 1}）"
                used.add(value)
            column.append(value)
    return pa.table(
        {
            i.name_en: pa.array(col, type=ARROW.get(DataType(i.data_type), pa.string()))
            for i, col in zip(items, columns, strict=True)
        }
    )
