"""Catalog items proposed from a discovered table, with a sensitivity and grade guess.

Everything here is a proposal for the officer, who decides: each item carries the reasons
behind its name, type, data element, sensitivity and grade, and the entry's grade is the
highest of its items' (就高定级) with the items that drove it listed.

Names come from the column comment, else from ``TERMS`` (common pinyin-initial and English
column names, and Chinese headers of files). Sensitivity and grades come from the names
and from sampled values: resident identity numbers with a valid GB 11643 check character,
unified social credit codes (GB 32100), mainland mobile numbers, bank card numbers (Luhn),
e-mail addresses and Chinese personal names. A value rule fires when at least
``VALUE_SHARE`` of a column's non-empty sampled values match it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from govdata.catalog.schemas import ItemIn
from govdata.catalog.vocab import DataType
from govdata.sources.base import ColumnInfo, TableInfo
from govdata.sources.schemas import ProposedItem, Reason
from govdata.standards import resident_id, uscc

VALUE_SHARE = 0.8
# Strings with no declared length get the smallest of these that holds the longest sample.
_LENGTH_STEPS = (1, 2, 4, 8, 10, 16, 20, 32, 50, 64, 100, 128, 200, 256, 500, 1000, 2000, 4000)


@dataclass(frozen=True)
class ElementRef:
    """What a proposal needs to know about a standard data element."""

    identifier: str
    name: str
    name_en: str | None
    data_type: str
    max_length: int | None


@dataclass(frozen=True)
class Term:
    """A column meaning: its Chinese name, English field name, the names it goes by, and
    how personal it is (``grade`` 1–4; ``sensitive`` for 个人敏感信息)."""

    zh: str
    en: str
    aliases: tuple[str, ...]
    zh_aliases: tuple[str, ...] = ()
    grade: int = 1
    sensitive: bool = False


TERMS: tuple[Term, ...] = (
    Term(
        "公民身份号码",
        "resident_id",
        (
            "sfzh",
            "sfzhm",
            "gmsfhm",
            "sfz",
            "id_card",
            "idcard",
            "id_card_no",
            "idcard_no",
            "id_no",
            "idno",
            "id_number",
            "resident_id",
            "citizen_id",
            "identity_no",
        ),
        ("身份证号", "身份证号码", "身份证", "公民身份证号", "公民身份证号码"),
        grade=3,
        sensitive=True,
    ),
    Term(
        "姓名",
        "name",
        ("xm", "name", "full_name", "person_name", "real_name", "realname", "xingming"),
        ("名字", "真实姓名"),
        grade=2,
    ),
    Term("性别", "gender", ("xb", "gender", "sex", "xbdm"), ("性别代码",)),
    Term(
        "出生日期",
        "birth_date",
        ("csrq", "birth_date", "birthday", "birthdate", "date_of_birth", "dob", "born"),
        ("生日",),
        grade=2,
    ),
    Term(
        "联系电话",
        "phone",
        (
            "dh",
            "lxdh",
            "phone",
            "mobile",
            "tel",
            "telephone",
            "mobile_phone",
            "phone_no",
            "phone_number",
            "sjhm",
            "sjh",
            "contact_phone",
            "cellphone",
        ),
        ("电话", "手机", "手机号", "手机号码", "电话号码", "联系方式"),
        grade=3,
        sensitive=True,
    ),
    Term(
        "地址",
        "address",
        ("dz", "address", "addr", "zz", "jtzz", "hjdz", "xxdz", "home_address", "zzdz"),
        ("住址", "家庭住址", "详细地址", "户籍地址", "居住地址"),
        grade=2,
    ),
    Term(
        "统一社会信用代码",
        "uscc",
        ("tyshxydm", "shxydm", "credit_code", "uscc", "social_credit_code", "xydm"),
        ("信用代码", "社会信用代码"),
    ),
    Term("民族", "ethnicity", ("mz", "nation", "ethnicity", "mzdm"), ("民族代码",), grade=2),
    Term("婚姻状况", "marital_status", ("hyzk", "marital_status", "marriage"), grade=2),
    Term("学历", "education", ("xl", "education", "degree", "whcd"), ("文化程度",), grade=2),
    Term("政治面貌", "political_status", ("zzmm", "political_status"), grade=2),
    Term(
        "宗教信仰",
        "religion",
        ("zjxy", "religion"),
        ("宗教",),
        grade=3,
        sensitive=True,
    ),
    Term(
        "健康状况",
        "health_status",
        ("jkzk", "health_status", "health"),
        grade=3,
        sensitive=True,
    ),
    Term(
        "诊断名称",
        "diagnosis_name",
        ("zdmc", "diagnosis", "diagnosis_name"),
        ("诊断",),
        grade=3,
        sensitive=True,
    ),
    Term(
        "银行卡号",
        "bank_card_no",
        ("yhkh", "yhzh", "bank_card", "bank_card_no", "card_no", "bank_account", "account_no"),
        ("银行账号", "银行卡", "卡号"),
        grade=3,
        sensitive=True,
    ),
    Term(
        "护照号码",
        "passport_no",
        ("hzhm", "passport", "passport_no"),
        ("护照号",),
        grade=3,
        sensitive=True,
    ),
    Term(
        "社会保障卡号",
        "social_security_card_no",
        ("sbkh", "shbzkh", "social_security_card_no", "ssc_no"),
        ("社保卡号",),
        grade=3,
        sensitive=True,
    ),
    Term(
        "电子信箱",
        "email",
        ("email", "mail", "e_mail", "dzyx", "yx"),
        ("邮箱", "电子邮箱"),
        grade=2,
    ),
    Term("年龄", "age", ("nl", "age"), grade=2),
    Term("户号", "household_no", ("hh", "household_no"), grade=2),
    Term("工作单位", "employer", ("gzdw", "employer", "work_unit"), grade=2),
    Term(
        "车牌号码", "plate_no", ("cphm", "cph", "plate_no", "license_plate"), ("车牌号",), grade=2
    ),
    Term("死亡日期", "death_date", ("swrq", "death_date"), grade=2),
    Term(
        "邮政编码", "postal_code", ("yzbm", "zip", "zipcode", "postcode", "postal_code"), ("邮编",)
    ),
    Term(
        "行政区划代码",
        "division_code",
        ("xzqh", "xzqhdm", "division_code", "region_code", "area_code", "adcode"),
        ("区划代码",),
    ),
    Term("单位名称", "organization_name", ("dwmc", "org_name", "company_name", "unit_name")),
    Term(
        "法定代表人姓名",
        "legal_rep_name",
        ("fddbr", "fddbrxm", "legal_person", "legal_rep", "legal_rep_name"),
        ("法定代表人", "法人"),
        grade=2,
    ),
    Term("注册资本", "registered_capital", ("zczb", "registered_capital")),
    Term("成立日期", "established_date", ("clrq", "established_date", "found_date")),
    Term("登记日期", "registration_date", ("djrq", "registration_date", "register_date")),
    Term("经度", "longitude", ("lng", "lon", "longitude")),
    Term("纬度", "latitude", ("lat", "latitude")),
    Term("备注", "remarks", ("bz", "remark", "remarks", "memo", "note", "notes")),
    Term(
        "创建时间",
        "created_at",
        ("cjsj", "create_time", "created_at", "gmt_create", "created_time", "createtime"),
    ),
    Term(
        "数据更新时间",
        "updated_at",
        (
            "gxsj",
            "update_time",
            "updated_at",
            "modified_at",
            "gmt_modified",
            "last_modified",
            "updatetime",
        ),
        ("更新时间", "修改时间"),
    ),
    Term("编号", "id", ("id", "bh", "xh", "uuid"), ("序号", "主键")),
)
_BY_ALIAS: dict[str, Term] = {a: t for t in TERMS for a in t.aliases}
_BY_ZH: dict[str, Term] = {z: t for t in TERMS for z in (t.zh, *t.zh_aliases)}
_BY_EN: dict[str, Term] = {t.en: t for t in TERMS}
_HOW = {
    "exact": ("常用列名词典", "the dictionary of common column names"),
    "suffix": ("列名后缀", "the column name's suffix"),
    "values": ("样本值", "the sampled values"),
}

# The most common Chinese surnames (about 85% of the population), for the personal-name rule.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘"
    "祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟"
    "艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞"
    "姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_MOBILE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_CARD = re.compile(r"^\d{16,19}$")
_PERSON = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DECLARED_LENGTH = re.compile(r"\(\s*(\d+)\s*(?:,\s*\d+\s*)?\)")


def _r(code: str, zh: str, en: str) -> Reason:
    return Reason(code=code, message=zh, message_en=en)


# Value rules --------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(v: str) -> bool:
    # An 18-digit resident ID can pass Luhn by chance; it is caught by its own rule first.
    return bool(_CARD.match(v)) and not resident_id.is_valid(v.upper()) and luhn_ok(v)


@dataclass(frozen=True)
class ValueRule:
    code: str
    test: Callable[[str], bool]
    zh: str
    en: str
    grade: int
    sensitive: bool
    # The meaning (a ``Term.en``) values like these give a column whose name says nothing.
    term: str


VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(
        "values_resident_id",
        lambda v: resident_id.is_valid(v.upper()),
        "样本值为校验正确的公民身份号码（GB 11643），属个人敏感信息",
        "sampled values are resident ID numbers with a valid GB 11643 check: sensitive "
        "personal information",
        3,
        True,
        "resident_id",
    ),
    ValueRule(
        "values_uscc",
        lambda v: uscc.is_valid(v.upper()),
        "样本值为校验正确的统一社会信用代码（GB 32100），属公开的主体标识",
        "sampled values are unified social credit codes with a valid GB 32100 check: a public "
        "identifier of an organisation",
        1,
        False,
        "uscc",
    ),
    ValueRule(
        "values_mobile",
        lambda v: bool(_MOBILE.match(v)),
        "样本值为手机号码，可直接联系到个人，按个人敏感信息管理",
        "sampled values are mobile numbers that reach a person directly: handled as sensitive "
        "personal information",
        3,
        True,
        "phone",
    ),
    ValueRule(
        "values_bank_card",
        _is_card,
        "样本值为通过 Luhn 校验的银行卡号，属个人金融信息",
        "sampled values are bank card numbers passing the Luhn check: personal financial "
        "information",
        3,
        True,
        "bank_card_no",
    ),
    ValueRule(
        "values_email",
        lambda v: bool(_EMAIL.match(v)),
        "样本值为电子邮箱地址，属个人信息",
        "sampled values are e-mail addresses: personal information",
        2,
        False,
        "email",
    ),
    ValueRule(
        "values_person_name",
        lambda v: bool(_PERSON.match(v)) and v[0] in SURNAMES,
        "样本值像中文姓名（常见姓氏开头的 2 至 4 个汉字），属个人信息",
        "sampled values look like Chinese personal names (2 to 4 characters starting with a "
        "common surname): personal information",
        2,
        False,
        "name",
    ),
)


def _sample_strings(values: Sequence[Any]) -> list[str]:
    out = []
    for v in values:
        if v is None or isinstance(v, (bytes, bytearray, dict, list, float)):
            continue
        text = str(v).strip()
        if text:
            out.append(text)
    return out


def _value_rule(values: list[str]) -> tuple[ValueRule, float] | None:
    if not values:
        return None
    for rule in VALUE_RULES:
        share = sum(1 for v in values if rule.test(v)) / len(values)
        if share >= VALUE_SHARE:
            return rule, share
    return None


# Names and types ------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _term_for(column: str) -> tuple[Term, str] | None:
    """The term a column name means, and how it was found (``exact``, ``suffix``, ``zh``)."""
    if _CJK.search(column):
        term = _BY_ZH.get(column.strip())
        return (term, "zh") if term else None
    norm = _normal(column)
    if norm in _BY_ALIAS:
        return _BY_ALIAS[norm], "exact"
    # applicant_sfzh, head_name, legal_rep_resident_id: the last words carry the meaning.
    parts = norm.split("_")
    for i in range(1, len(parts)):
        tail = "_".join(parts[i:])
        if tail in _BY_ALIAS and tail != "id":
            return _BY_ALIAS[tail], "suffix"
    return None


def _comment_name(comment: str | None) -> str | None:
    if not comment:
        return None
    first = re.split(r"[，,;；:：（(\n]", comment.strip(), maxsplit=1)[0].strip()
    return first[:128] or None


def _identifier(name: str) -> str | None:
    ident = _normal(name)
    if not ident or not ident[0].isalpha():
        return None
    return ident[:128]


def _data_type(t: pa.DataType) -> DataType:
    if pa.types.is_boolean(t):
        return DataType.BOOLEAN
    if pa.types.is_integer(t):
        return DataType.INTEGER
    if pa.types.is_decimal(t) or pa.types.is_floating(t):
        return DataType.DECIMAL
    if pa.types.is_date(t):
        return DataType.DATE
    if pa.types.is_timestamp(t):
        return DataType.DATETIME
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return DataType.BINARY
    return DataType.STRING


def _declared_length(col: ColumnInfo) -> int | None:
    if pa.types.is_decimal(col.arrow_type):
        return int(col.arrow_type.precision)
    if _data_type(col.arrow_type) != DataType.STRING:
        return None
    m = _DECLARED_LENGTH.search(col.type)
    return int(m.group(1)) if m else None


def _needed_length(values: list[str], data_type: DataType) -> int | None:
    """How long the sampled values are: characters for strings, digits for decimals."""
    if not values:
        return None
    if data_type == DataType.DECIMAL:
        return max(len(re.sub(r"\D", "", v)) for v in values)
    return max(len(v) for v in values)


def _stepped(length: int) -> int:
    return next((s for s in _LENGTH_STEPS if s >= length), length)


# One column --------------------------------------------------------------------------------------


@dataclass
class _Draft:
    column: str
    name: str
    name_en: str | None
    data_type: DataType
    length: int | None
    is_key: bool
    is_sensitive: bool
    grade: int
    description: str | None
    data_element: str | None
    reasons: list[Reason]


def _match_element(
    name: str, name_en: str | None, elements: Sequence[ElementRef]
) -> ElementRef | None:
    for e in elements:
        if name_en and e.name_en == name_en:
            return e
    for e in elements:
        if e.name == name:
            return e
    return None


def _draft(col: ColumnInfo, key: bool, values: list[str], elements: Sequence[ElementRef]) -> _Draft:
    reasons: list[Reason] = []
    rule = _value_rule(values)
    found = _term_for(col.name)
    if found is None and rule is not None:
        found = _BY_EN[rule[0].term], "values"
    term = found[0] if found else None
    how = found[1] if found else ""
    from_comment = _comment_name(col.comment)
    name_en = term.en if term else None
    if name_en is None and not _CJK.search(col.name):
        name_en = _identifier(col.name)
    element = _match_element(from_comment or (term.zh if term else col.name), name_en, elements)
    # The Chinese name: the comment, a Chinese header, the meaning found, the data element.
    if from_comment:
        name = from_comment
        reasons.append(
            _r("name_from_comment", "中文名称取自列注释", "Chinese name from the column comment")
        )
    elif how == "zh":
        name = col.name.strip()
        reasons.append(_r("name_from_header", "中文名称取自列名", "Chinese name from the header"))
    elif term:
        name = term.zh
        zh, en = _HOW[how]
        reasons.append(
            _r(
                "name_from_dictionary",
                f"中文名称按{zh}识别为“{term.zh}”",
                f"Chinese name '{term.zh}' from {en}",
            )
        )
    elif element is not None:
        name = element.name
        reasons.append(
            _r(
                "name_from_data_element",
                f"中文名称取自同名数据元 {element.identifier}",
                f"Chinese name from data element {element.identifier} of the same English name",
            )
        )
    else:
        name = col.name.strip()[:128]
        reasons.append(
            _r(
                "name_unknown",
                "未识别列含义，请补充中文名称",
                "The column's meaning is not recognised; give it a Chinese name",
            )
        )
    # Type and length.
    data_type = _data_type(col.arrow_type)
    length = _declared_length(col)
    needed = _needed_length(values, data_type)
    if length is None and data_type == DataType.STRING and needed is not None:
        length = _stepped(needed)
        reasons.append(
            _r(
                "length_from_samples",
                f"长度按样本最长值（{needed}）取 {length}",
                f"length {length} from the longest sampled value ({needed})",
            )
        )
    # A standard data element, when its type fits.
    data_element = None
    if element is not None:
        if element.data_type != data_type:
            reasons.append(
                _r(
                    "element_type_mismatch",
                    f"数据元 {element.identifier}（{element.name}）为 {element.data_type} 型，"
                    "与该列不符，未关联",
                    f"data element {element.identifier} ({element.name}) is {element.data_type}; "
                    "not referenced",
                )
            )
        elif element.max_length is not None and length is not None and length > element.max_length:
            if needed is not None and needed <= element.max_length:
                length = element.max_length
                data_element = element.identifier
                reasons.append(
                    _r(
                        "element_length_capped",
                        f"关联数据元 {element.identifier}（{element.name}），"
                        f"长度按数据元取 {length}",
                        f"references data element {element.identifier} ({element.name}); length "
                        f"{length} from the element",
                    )
                )
            else:
                reasons.append(
                    _r(
                        "element_length_mismatch",
                        f"数据元 {element.identifier}（{element.name}）最长 {element.max_length}，"
                        "该列更长，未关联",
                        f"data element {element.identifier} ({element.name}) allows "
                        f"{element.max_length}; the column is longer; not referenced",
                    )
                )
        else:
            data_element = element.identifier
            if length is None and data_type == DataType.STRING:
                length = element.max_length
            reasons.append(
                _r(
                    "element_matched",
                    f"关联数据元 {element.identifier}（{element.name}）",
                    f"references data element {element.identifier} ({element.name})",
                )
            )
    # Sensitivity and grade, from the name and from the values.
    grade, sensitive = 1, False
    if term is not None and (term.grade > 1 or term.sensitive):
        grade, sensitive = term.grade, term.sensitive
        kind = "个人敏感信息" if term.sensitive else "个人信息"
        kind_en = "sensitive personal information" if term.sensitive else "personal information"
        reasons.append(
            _r(
                "grade_from_name",
                f"“{term.zh}”属{kind}，建议{grade}级",
                f"'{term.zh}' is {kind_en}: level {grade} suggested",
            )
        )
    if rule is not None:
        value_rule, share = rule
        pct = round(share * 100)
        reasons.append(
            _r(value_rule.code, f"{pct}% 的{value_rule.zh}", f"{pct}% of the {value_rule.en}")
        )
        if value_rule.grade > grade:
            grade = value_rule.grade
        sensitive = sensitive or value_rule.sensitive
    is_key = key or col.is_key
    if is_key:
        reasons.append(_r("key_from_primary_key", "该列属于主键", "part of the primary key"))
    return _Draft(
        column=col.name,
        name=name,
        name_en=name_en,
        data_type=data_type,
        length=length,
        is_key=is_key,
        is_sensitive=sensitive,
        grade=grade,
        description=col.comment if col.comment and col.comment.strip() != name else None,
        data_element=data_element,
        reasons=reasons,
    )


def _dedupe(drafts: list[_Draft]) -> None:
    """Item names and English names are unique within an entry."""
    seen_zh: set[str] = set()
    seen_en: set[str] = set()
    for d in drafts:
        if d.name in seen_zh:
            d.name = f"{d.name}（{d.column}）"[:128]
        seen_zh.add(d.name)
        if d.name_en is not None:
            base, n = d.name_en, 2
            while d.name_en in seen_en:
                d.name_en = f"{base}_{n}"
                n += 1
            seen_en.add(d.name_en)


# The table ---------------------------------------------------------------------------------------


def propose(info: TableInfo, sample: pa.Table, elements: Sequence[ElementRef]) -> dict[str, Any]:
    """Items, the entry grade and its reasons for ``info``, sampled by ``sample``.

    Returns the keyword arguments of ``ProposalOut`` other than the source and table.
    """
    keys = set(info.primary_key)
    drafts = []
    for col in info.columns:
        values = (
            _sample_strings(sample.column(col.name).to_pylist())
            if col.name in sample.column_names
            else []
        )
        drafts.append(_draft(col, col.name in keys, values, elements))
    _dedupe(drafts)
    items = [
        ProposedItem(
            column=d.column,
            item=ItemIn(
                name=d.name,
                name_en=d.name_en,
                data_type=d.data_type,
                length=d.length,
                is_key=d.is_key,
                is_sensitive=d.is_sensitive,
                grade=d.grade,
                description=d.description[:2000] if d.description else None,
                data_element=d.data_element,
            ),
            reasons=d.reasons,
        )
        for d in drafts
    ]
    grade = max((d.grade for d in drafts), default=1)
    top = [d.name for d in drafts if d.grade == grade]
    if grade > 1:
        names = "、".join(f"“{n}”" for n in top)
        grade_reasons = [
            _r(
                "grade_from_items",
                f"信息项 {names} 为{grade}级，资源就高定为{grade}级",
                f"items {', '.join(top)} are level {grade}: the resource takes the highest, "
                f"level {grade}",
            )
        ]
    else:
        grade_reasons = [
            _r(
                "grade_default",
                "未发现个人信息或敏感信息，建议一级，请结合业务核定",
                "No personal or sensitive information found: level 1 suggested; confirm it "
                "against the business",
            )
        ]
    sensitive = [d.name for d in drafts if d.is_sensitive]
    identifying = [d for d in drafts if d.grade >= 2 and not d.is_sensitive]
    if sensitive and identifying:
        grade_reasons.append(
            _r(
                "grade_combination",
                f"敏感信息（{'、'.join(sensitive)}）与其他个人信息同表，泄露后可识别到具体个人",
                f"sensitive items ({', '.join(sensitive)}) sit with other personal information: "
                "a leak would identify individuals",
            )
        )
    return {"items": items, "grade": grade, "grade_reasons": grade_reasons}
