"""Name vocabularies for Qinghai's peoples, companies and places, and fast pickers over them.

Han, Hui, Tu and Salar people carry a surname and a one- or two-character given
name; Tibetans (and most Mongols of 河南县) carry one or two name elements
without a surname; Mongols of 海西 often carry Mongolian names. Given names
follow the fashions of the birth cohort. Transliterated names are written
with different characters in different offices (才让/才仁, 多杰/多吉); the
variant tables below let source systems reproduce that.

Everything here is picked with a caller's ``random.Random``: no Faker per row.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate


def _words(spec: str) -> tuple[str, ...]:
    return tuple(spec.split())


def _weighted(spec: str) -> tuple[tuple[str, int], ...]:
    """``"王:90 李:85"`` → ``(("王", 90), ("李", 85))``."""
    return tuple((k, int(w)) for k, w in (item.split(":") for item in spec.split()))


# Surnames with rough frequency weights.
HAN_SURNAMES = _weighted(
    "王:90 李:85 张:80 刘:65 陈:45 杨:50 赵:35 马:40 "
    "祁:20 朱:18 胡:18 郭:18 何:16 高:16 林:10 罗:12 "
    "郑:10 梁:10 谢:8 宋:10 唐:9 许:9 韩:12 冯:9 邓:8 "
    "曹:9 彭:7 曾:5 肖:7 田:9 董:9 袁:7 潘:6 于:7 蒋:6 "
    "蔡:5 余:6 杜:8 叶:5 程:7 苏:7 魏:8 吕:7 丁:7 任:7 "
    "沈:5 姚:6 卢:6 姜:6 崔:6 钟:4 谭:4 陆:4 汪:5 范:6 "
    "金:5 石:6 廖:3 贾:7 夏:5 韦:3 付:6 方:5 白:6 邹:3 "
    "孟:6 熊:3 秦:7 邱:4 江:4 尹:5 薛:6 闫:6 段:5 雷:5 "
    "侯:6 龙:3 史:6 陶:4 黎:2 贺:5 顾:3 毛:5 郝:6 龚:3 "
    "邵:4 万:4 钱:3 严:4 覃:1 武:6 戴:4 莫:2 孔:4 向:3 "
    "汤:3 孙:30 徐:25 黄:28 周:28 吴:26 常:5 安:5 鲁:4 "
    "星:2"
)
HUI_SURNAMES = _weighted(
    "马:120 韩:20 冶:12 何:10 白:10 沙:8 穆:6 丁:8 杨:10 "
    "苏:6 喇:6 海:5 哈:4 米:3 妥:4 鲜:3 周:4 李:8 张:6 "
    "王:6 赵:4 铁:3"
)
SALAR_SURNAMES = _weighted("韩:60 马:30 沈:6 冶:6 何:4 陕:3 绽:2")
TU_SURNAMES = _weighted("祁:30 李:25 吕:10 鲁:10 星:8 董:8 胡:8 秦:6 赵:6 张:8 王:8 谢:4 索:4 麻:3")
# Given-name characters by cohort: before 1980 and from 1980 on.
MALE_CLASSIC = "国建军明华平伟强勇林文志海永生福德成忠兴发光荣义春学山宝贵云玉祥"
MALE_MODERN = "浩宇轩杰涛鹏辉磊峰斌超博晨睿凯翔鑫俊豪航泽然铭昊哲瑞阳锦楠煜"
FEMALE_CLASSIC = "秀英兰芳桂花玉珍凤霞梅红琴莲淑华云翠萍娟丽燕春玲芬菊"
FEMALE_MODERN = "婷静敏慧琳雪颖欣悦怡涵萱佳琪璐瑶倩蕾薇妍晶丹雯洁娜梦诗雅馨彤"
NEUTRAL = "小晓春秋金文新永海丽明玉"

# Tibetan name elements; men's names take one or two of the first, women's end in the second.
TIBETAN_ELEMENTS = _words(
    "扎西 才让 多杰 索南 尼玛 旦增 洛桑 贡保 更登 桑杰 拉加 完玛 华旦 仁青 "
    "公保 久美 东周 南加 昂文 才旦 周加 加羊 达哇 万德 吉美 当周 更藏 夏吾 "
    "才华 三知 吉太 多吉 贡却 尖措 切排 拉毛 角巴 仁增 闹吾 多布"
)
TIBETAN_FEMININE = _words("卓玛 措 吉 拉毛 卓嘎 央金 措毛 吉毛 草 才措 央吉 梅朵")
TIBETAN_FEMALE_SOLO = _words("卓玛 拉毛 央金 德吉 白玛 梅朵 卓嘎 拉姆 措姆 吉美措")
MONGOLIAN_MALE = _words(
    "巴特尔 宝音 额尔德尼 格日勒 阿拉坦 布和 朝鲁 达来 乌力吉 孟和 苏和 那顺 巴图 特木尔 吉日嘎拉"
)
MONGOLIAN_FEMALE = _words("娜仁 其其格 斯琴 图雅 乌兰 萨仁 高娃 托娅 塔娜 琪琪格 格日乐 阿茹娜")

# Spelling variants between offices: a name part and another office's writing of it.
VARIANTS: dict[str, str] = dict(
    item.partition(">")[::2]
    for item in _words(
        "才让>才仁 才仁>才让 多杰>多吉 多吉>多杰 拉毛>拉姆 拉姆>拉毛 措>错 "
        "卓玛>卓嘛 旦增>丹增 扎西>扎喜 索南>索朗 尼玛>尼麻 完玛>万玛 才旦>才丹 "
        "玲>琳 琳>玲 丽>莉 莉>丽 伟>玮 娟>鹃 杰>洁 英>瑛 红>虹 燕>艳 "
        "艳>燕 明>铭 萍>平 平>萍 斌>彬 峰>锋 文>雯 梅>玫 兰>岚 军>君 "
        "华>骅 静>婧 霞>侠"
    )
)


class WeightedPicker:
    """Weighted choice by bisecting cumulative weights: one ``random()`` per pick."""

    def __init__(self, pairs: tuple[tuple[str, int], ...] | list[tuple[str, float]]) -> None:
        self.items = [p[0] for p in pairs]
        self.cumulative = list(accumulate(float(p[1]) for p in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


_SURNAMES = {
    "汉": WeightedPicker(HAN_SURNAMES),
    "回": WeightedPicker(HUI_SURNAMES),
    "撒拉": WeightedPicker(SALAR_SURNAMES),
    "土": WeightedPicker(TU_SURNAMES),
}


def surname(rng: random.Random, ethnicity: str) -> str | None:
    """A family name, or None for peoples who do not use one."""
    picker = _SURNAMES.get(ethnicity)
    if picker is None:
        return None
    return picker.pick(rng)


def _han_given(rng: random.Random, male: bool, born: int) -> str:
    modern = born >= 1980
    if male:
        pool = MALE_MODERN if modern else MALE_CLASSIC
    else:
        pool = FEMALE_MODERN if modern else FEMALE_CLASSIC
    first = rng.choice(pool)
    roll = rng.random()
    # Single-character given names were common mid-century and again recently.
    if roll < (0.35 if modern else 0.25):
        return first
    if roll < 0.45:
        return rng.choice(NEUTRAL) + first
    return first + rng.choice(pool)


def _tibetan(rng: random.Random, male: bool) -> str:
    if male:
        first = rng.choice(TIBETAN_ELEMENTS)
        return first if rng.random() < 0.45 else first + rng.choice(TIBETAN_ELEMENTS)
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(TIBETAN_FEMALE_SOLO)
    return rng.choice(TIBETAN_ELEMENTS) + rng.choice(TIBETAN_FEMININE)


def _mongolian(rng: random.Random, male: bool) -> str:
    return rng.choice(MONGOLIAN_MALE if male else MONGOLIAN_FEMALE)


def given_name(rng: random.Random, ethnicity: str, male: bool, born: int) -> str:
    """A full name for peoples without surnames, else the given part."""
    if ethnicity == "藏":
        return _tibetan(rng, male)
    if ethnicity == "蒙古":
        # 河南县's Mongols mostly use Tibetan names; 海西's, Mongolian ones.
        return _mongolian(rng, male) if rng.random() < 0.5 else _tibetan(rng, male)
    return _han_given(rng, male, born)


def person_name(
    rng: random.Random, ethnicity: str, male: bool, born: int, family: str | None = None
) -> str:
    """A full name; ``family`` passes a household's surname down to children."""
    if ethnicity in ("藏", "蒙古"):
        return given_name(rng, ethnicity, male, born)
    last = family or surname(rng, ethnicity) or "马"
    return last + _han_given(rng, male, born)


def variant(rng: random.Random, name: str) -> str:
    """The same name written as another office might write it; unchanged when no variant fits."""
    candidates = [part for part in VARIANTS if part in name[1:] or name.startswith(part)]
    if not candidates:
        return name
    part = rng.choice(candidates)
    # Surnames keep their writing; only given names and transliterations drift.
    if part in name[1:]:
        return name[0] + name[1:].replace(part, VARIANTS[part], 1)
    return VARIANTS[part] + name[len(part) :]


# Company names: brand words, industries (GB/T 4754 sections) and organisational forms.
BRANDS = _words(
    "昆仑 三江源 雪域 高原 青湖 祁连 柴达木 江河 金泰 鑫源 宏达 瑞丰 恒信 "
    "华泰 天佑 博远 德润 汇通 隆盛 新城 盛世 福源 永兴 瑞祥 康宁 聚德 佳和 "
    "晨光 锦绣 吉祥 格桑 湟水 河湟 西海 夏都 雪莲 青稞 牦牛 圣源 天域 绿洲 "
    "金源 同创 众和 昌盛 鼎盛 华瑞 顺达 万通 腾飞 丰源 源丰 安康 兴旺 通达 "
    "正和 启航 创新 明珠 青海湖 卓越 嘉禾 和谐 秀水 金穗 远大 龙源 泰和 长宏 "
    "海晟 中鼎 达坂 日月山 可可西里 唐古拉 金诃 雪峰 宝石 天露 湟源 银河 宏图 "
    "恒瑞 安达 吉星 盛和 智远"
)

INDUSTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("A", "农、林、牧、渔业", ("生态农牧", "牦牛养殖", "藏羊养殖", "枸杞种植", "青稞种植", "草业")),
    ("B", "采矿业", ("矿业", "盐湖资源开发", "矿产开发")),
    (
        "C",
        "制造业",
        ("化工", "新材料", "锂业", "食品", "乳业", "藏毯", "建材", "机械制造", "青稞酒业"),
    ),
    ("D", "电力、热力、燃气及水生产和供应业", ("新能源", "光伏发电", "电力", "燃气", "水电开发")),
    ("E", "建筑业", ("建筑工程", "建设工程", "路桥工程", "装饰工程", "水利工程")),
    ("F", "批发和零售业", ("商贸", "贸易", "百货", "医药", "农资", "汽车销售")),
    ("G", "交通运输、仓储和邮政业", ("物流", "运输", "客运", "仓储")),
    ("H", "住宿和餐饮业", ("酒店管理", "餐饮管理", "清真餐饮", "宾馆")),
    ("I", "信息传输、软件和信息技术服务业", ("信息技术", "网络科技", "软件", "数据科技")),
    ("K", "房地产业", ("房地产开发", "物业管理", "置业")),
    ("L", "租赁和商务服务业", ("商务咨询", "企业管理", "广告", "会展服务")),
    ("M", "科学研究和技术服务业", ("工程设计", "检验检测", "环境科技", "测绘")),
    ("N", "水利、环境和公共设施管理业", ("环保科技", "生态修复", "园林绿化")),
    ("O", "居民服务、修理和其他服务业", ("家政服务", "汽车维修", "洗涤服务")),
    ("P", "教育", ("教育科技", "职业培训")),
    ("Q", "卫生和社会工作", ("藏医药", "健康管理", "养老服务")),
    ("R", "文化、体育和娱乐业", ("文化传媒", "文化旅游", "旅游开发", "体育发展")),
)
INDUSTRY_WEIGHTS = (8, 3, 10, 5, 10, 25, 6, 8, 4, 4, 7, 3, 2, 2, 1, 1, 3)

SHOP_KINDS = _words(
    "便利店 牛肉面馆 超市 五金店 汽车修理部 理发店 茶餐厅 批发部 药店 服装店 "
    "手机店 建材经营部 烤肉店 酸奶店 藏式餐馆 粮油店 土特产店"
)
COOPERATIVE_KINDS = _words(
    "种植专业合作社 养殖专业合作社 生态畜牧业专业合作社 农机专业合作社 枸杞专业合作社"
)

# Places: town and village syllables for the valleys and for the pastoral Tibetan areas.
PLACE_FIRST = "东西南北上下新大小金河清红黄青石马杨李沙白柳草湖山泉塘拉扎曲多尕隆加宗卡恰尼江"
PLACE_SECOND = "沟滩寨庄湾川口台堡岭坪坡园门城海塘日玛卡曲达科囊"
ROADS = _words(
    "昆仑路 五四大街 黄河路 长江路 湟水路 祁连路 海湖大道 柴达木路 八一路 七一路 "
    "胜利路 解放路 人民路 建设路 民主街 团结路 新宁路 文化街 南川路 北川路 "
    "西关大街 东关大街 南山路 北山路 同仁路 康宁路 兴海路 通海路 德令哈路 "
    "格尔木路 玉树路 共和路 金塔路 和平路 幸福路 迎宾路 新华街 滨河路 朝阳路 "
    "光明路"
)
COMPOUND_SUFFIX = _words("小区 花园 家园 苑 佳苑 公寓")


def place_name(rng: random.Random) -> str:
    return rng.choice(PLACE_FIRST) + rng.choice(PLACE_SECOND)
