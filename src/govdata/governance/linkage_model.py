"""The linkage model of the base libraries: subjects (population, legal entity), their
fields, how each field is normalised (as DuckDB SQL) and compared (Splink comparison
levels with prior m and u), blocking and training rules. ``linkage`` runs it.

SQL here is assembled from quoted identifiers (``quote``), SQLGlot literals (``literal``)
and constant text; every fragment is parsed by SQLGlot as exactly one DuckDB expression
(``parse_expr(...).sql(...)``) before it enters a statement
(tests/security/test_sql_hygiene.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from govdata.core.errors import InvalidInput
from govdata.core.sqlident import quote_identifier
from govdata.governance import sql_checks

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space → their ASCII forms.
_FULL = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HALF = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
# Traditional and variant characters → the simplified form used for comparison only (the
# golden record keeps what the authoritative source wrote).
VARIANTS = {
    "劉": "刘",
    "張": "张",
    "陳": "陈",
    "趙": "赵",
    "楊": "杨",
    "吳": "吴",
    "鄭": "郑",
    "孫": "孙",
    "馬": "马",
    "許": "许",
    "鄧": "邓",
    "馮": "冯",
    "韓": "韩",
    "葉": "叶",
    "羅": "罗",
    "謝": "谢",
    "黃": "黄",
    "蕭": "萧",
    "鍾": "钟",
    "譚": "谭",
    "陸": "陆",
    "盧": "卢",
    "蔣": "蒋",
    "賈": "贾",
    "偉": "伟",
    "軍": "军",
    "麗": "丽",
    "紅": "红",
    "濤": "涛",
    "強": "强",
    "鵬": "鹏",
    "龍": "龙",
    "鳳": "凤",
    "寶": "宝",
    "傑": "杰",
    "峯": "峰",
    "羣": "群",
    "華": "华",
    "國": "国",
    "東": "东",
    "蘭": "兰",
    "雲": "云",
    "剛": "刚",
    "輝": "辉",
    "喆": "哲",
    "堃": "坤",
    "淼": "渺",
    "玥": "月",
    "綫": "线",
    "衞": "卫",
    "裏": "里",
    "鑫": "鑫",
}
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "令狐",
    "端木",
)
# Field kinds: how a field is normalised, typed and compared.
ID, CREDIT, NAME, GENDER, DATE, ADDRESS, PHONE, TEXT = (
    "resident_id",
    "credit_code",
    "name",
    "gender",
    "date",
    "address",
    "phone",
    "text",
)


# Starting m and u per comparison level (kind, level label): what the model learnt on the
# generated population (baselib_synth, 60,000 records). Training replaces them; a library
# too small to train on (fewer than MIN_TRAIN_RECORDS records) keeps them.
PRIORS: dict[tuple[str, str], tuple[float, float]] = {
    ("id", "exact"): (0.95, 3e-5),
    ("id", "one typo (checksum fails)"): (0.048, 1e-6),
    ("id", "else"): (0.002, 0.99997),
    ("name", "exact"): (0.97, 1.2e-4),
    ("name", "one character differs"): (0.025, 0.0024),
    ("name", "jaro-winkler ≥ 0.8"): (0.002, 1.4e-4),
    ("name", "else"): (0.003, 0.9973),
    ("gender", "exact"): (0.99, 0.5),
    ("gender", "else"): (0.01, 0.5),
    ("date", "exact"): (0.982, 6e-5),
    ("date", "day and month swapped"): (0.0075, 1.1e-5),
    ("date", "one digit off"): (0.008, 0.001),
    ("date", "same year and month"): (0.0013, 0.0007),
    ("date", "else"): (0.0012, 0.99823),
    ("address", "exact"): (0.31, 5.3e-5),
    ("address", "jaro-winkler ≥ 0.92"): (0.05, 0.006),
    ("address", "character jaccard ≥ 0.7"): (0.09, 0.0007),
    ("address", "else"): (0.55, 0.99325),
    ("phone", "exact"): (0.72, 2.5e-5),
    ("phone", "else"): (0.28, 0.999975),
}
MIN_TRAIN_RECORDS = 1000


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    label: str  # zh-CN label for pages

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.date32() if self.kind == DATE else pa.string()


@dataclass(frozen=True)
class Subject:
    """A kind of entity a base library holds, with its linkage model."""

    code: str
    label: str
    key_field: str  # the identifier field (resident ID / credit code)
    prefix: str  # entity ids start with it
    fields: tuple[FieldSpec, ...]
    blocking: tuple[str, ...]  # Splink blocking rules (SQL on l./r.)
    training: tuple[str, ...]  # EM blocking rules; together they estimate every comparison
    deterministic: str  # rule for λ (probability two random records match)
    name_field: str = "name"

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise InvalidInput(
            f"基础库“{self.label}”没有字段 {name}",
            f"Base library subject {self.code} has no field {name}",
            code="baselib_field_unknown",
            details={"subject": self.code, "field": name},
        )

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


POPULATION = Subject(
    code="population",
    label="人口基础库",
    key_field="resident_id",
    prefix="P",
    fields=(
        FieldSpec("resident_id", ID, "公民身份号码"),
        FieldSpec("name", NAME, "姓名"),
        FieldSpec("gender", GENDER, "性别"),
        FieldSpec("birth_date", DATE, "出生日期"),
        FieldSpec("ethnicity", TEXT, "民族"),
        FieldSpec("address", ADDRESS, "住址"),
        FieldSpec("phone", PHONE, "联系电话"),
    ),
    blocking=(
        "l.resident_id_n = r.resident_id_n",
        "l.surname = r.surname AND l.birth_date_n = r.birth_date_n",
        "l.name_n = r.name_n AND l.id_birth = r.id_birth",
        "l.name_n = r.name_n AND l.address_n = r.address_n",
        "l.name_n = r.name_n AND l.phone_n = r.phone_n",
        "l.id_birth = r.id_birth AND l.id_tail = r.id_tail",
    ),
    training=(
        "l.resident_id_n = r.resident_id_n",
        "l.surname = r.surname AND l.birth_date_n = r.birth_date_n",
    ),
    deterministic="l.resident_id_n = r.resident_id_n AND l.name_n = r.name_n",
)
LEGAL_ENTITY = Subject(
    code="legal_entity",
    label="法人基础库",
    key_field="credit_code",
    prefix="E",
    fields=(
        FieldSpec("credit_code", CREDIT, "统一社会信用代码"),
        FieldSpec("name", NAME, "名称"),
        FieldSpec("legal_rep", NAME, "法定代表人"),
        FieldSpec("established", DATE, "成立日期"),
        FieldSpec("address", ADDRESS, "住所"),
        FieldSpec("status", TEXT, "登记状态"),
        FieldSpec("phone", PHONE, "联系电话"),
    ),
    blocking=(
        "l.credit_code_n = r.credit_code_n",
        "l.name_n = r.name_n",
        "l.legal_rep_n = r.legal_rep_n AND l.established_n = r.established_n",
        "l.address_n = r.address_n",
    ),
    training=(
        "l.credit_code_n = r.credit_code_n",
        "l.name_n = r.name_n",
    ),
    deterministic="l.credit_code_n = r.credit_code_n AND l.name_n = r.name_n",
)
SUBJECTS = {s.code: s for s in (POPULATION, LEGAL_ENTITY)}


def subject(code: str) -> Subject:
    try:
        return SUBJECTS[code]
    except KeyError:
        raise InvalidInput(
            f"不支持的基础库主题：{code}",
            f"Unknown base library subject: {code}",
            code="baselib_subject_unknown",
            details={"subject": code, "known": sorted(SUBJECTS)},
        ) from None


# -- normalisation -------------------------------------------------------------------------

D = "duckdb"


def quote(name: str) -> str:
    return quote_identifier(name, D)


def literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect=D)


def parse_expr(fragment: str) -> exp.Expr:
    """One DuckDB expression, parsed (a fragment that is not one fails here)."""
    return sqlglot.parse_one(fragment, read=D)


def _translate(expr: str, source: str, target: str) -> str:
    """``translate`` only where a character to replace occurs: DuckDB's translate costs
    microseconds a value, its regular expressions far less."""
    chars = literal("[" + "".join("\\" + c if c in "\\]^-[" else c for c in source) + "]")
    return (
        f"CASE WHEN regexp_matches({expr}, {chars}) "
        f"THEN translate({expr}, {literal(source)}, {literal(target)}) ELSE {expr} END"
    )


def _clean(expr: str) -> str:
    """Half-width, no whitespace at all, empty → NULL."""
    text = f"CAST({expr} AS VARCHAR)"
    return f"nullif(regexp_replace({_translate(text, _FULL, _HALF)}, '\\s+', '', 'g'), '')"


def display_sql(f: FieldSpec, expr: str, arrow_type: pa.DataType) -> str:
    """The value a golden record shows: cleaned, typed, but in the source's own spelling."""
    if f.kind == DATE:
        if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
            return f"CAST({expr} AS DATE)"
        return (
            f"CAST(try_strptime({_clean(expr)}, ['%Y%m%d', '%Y-%m-%d', '%Y/%m/%d', "
            f"'%Y.%m.%d', '%Y年%m月%d日']) AS DATE)"
        )
    text = _clean(expr)
    if f.kind in (ID, CREDIT):
        return f"upper({text})"
    if f.kind == NAME:
        return f"nullif(regexp_replace({text}, '[·•・.]', '', 'g'), '')"
    if f.kind == GENDER:
        return (
            f"CASE upper({text}) WHEN '1' THEN '1' WHEN '男' THEN '1' WHEN 'M' THEN '1' "
            f"WHEN 'MALE' THEN '1' WHEN '2' THEN '2' WHEN '女' THEN '2' WHEN 'F' THEN '2' "
            f"WHEN 'FEMALE' THEN '2' ELSE NULL END"
        )
    if f.kind == PHONE:
        return (
            f"nullif(regexp_replace(regexp_replace({text}, '[^0-9]', '', 'g'), "
            f"'^(0086|86)(1[0-9]{{10}})$', '\\2'), '')"
        )
    return text


def _variant_fold(expr: str) -> str:
    return _translate(expr, "".join(VARIANTS), "".join(VARIANTS.values()))


def _surname(expr: str) -> str:
    compound = ", ".join(literal(s) for s in COMPOUND_SURNAMES)
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN substr({expr}, 1, 2) IN ({compound}) "
        f"THEN substr({expr}, 1, 2) ELSE substr({expr}, 1, 1) END"
    )


def comparable_sql(subject: Subject) -> tuple[list[str], list[str]]:
    """Columns of ``records`` the model compares: those computed from the display columns,
    and those computed from the first (a second SELECT level)."""
    first: list[str] = []
    for f in subject.fields:
        v = quote("v_" + f.name)
        n = quote(f.name + "_n")
        if f.kind == NAME:
            first.append(f"{_variant_fold(v)} AS {n}")
        elif f.kind == ADDRESS:
            # Province prefixes say nothing inside one province's platform.
            first.append(
                f"nullif(regexp_replace({_variant_fold(v)}, "
                f"'^[^省]{{2,3}}省|^[^区]{{2,8}}自治区', ''), '') AS {n}"
            )
        else:
            first.append(f"{v} AS {n}")
        if f.kind in (ID, CREDIT):
            check = sql_checks.resident_id if f.kind == ID else sql_checks.credit_code
            first.append(f"{sql_checks.to_duckdb(check('v_' + f.name))} AS {quote(f.name + '_ok')}")
    second: list[str] = []
    if subject is POPULATION:
        second.append(f"{_surname('name_n')} AS surname")
        second.append(
            "CASE WHEN length(resident_id_n) = 18 THEN substr(resident_id_n, 7, 8) END AS id_birth"
        )
        second.append(
            "CASE WHEN length(resident_id_n) = 18 THEN substr(resident_id_n, 1, 6) || "
            "substr(resident_id_n, 15, 3) END AS id_tail"
        )
    return first, second or ["NULL AS _none"]


# -- the Splink model ----------------------------------------------------------------------


def _null(col: str) -> dict[str, Any]:
    return {
        "sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL',
        "label_for_charts": "null",
        "is_null_level": True,
    }


def _level(sql: str, label: str) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label}


def _else() -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "else"}


def _comparison(f: FieldSpec) -> dict[str, Any] | None:
    """The Splink comparison of a field; None for fields carried but not compared (an
    ethnicity or a registration status says little about who a record is)."""
    if f.kind == TEXT:
        return None
    c = f.name + "_n"
    lc, rc = f'"{c}_l"', f'"{c}_r"'
    levels: list[dict[str, Any]] = [_null(c), _level(f"{lc} = {rc}", "exact")]
    if f.kind in (ID, CREDIT):
        ok_l, ok_r = f'"{f.name}_ok_l"', f'"{f.name}_ok_r"'
        # A typo: Damerau-Levenshtein ≤ 1 (one substitution, or two adjacent characters
        # swapped) with at least one side failing its checksum. Two valid IDs are never one
        # such edit apart (MOD 11-2 and MOD 31 catch both), so they fall to "else".
        # Hamming first: DuckDB's damerau_levenshtein is ~8x slower, so it only runs on
        # the few pairs two characters apart.
        one_apart = (
            f"length({lc}) = length({rc}) AND (hamming({lc}, {rc}) = 1 OR "
            f"(hamming({lc}, {rc}) = 2 AND damerau_levenshtein({lc}, {rc}) = 1))"
        )
        levels.append(
            _level(f"{one_apart} AND NOT ({ok_l} AND {ok_r})", "one typo (checksum fails)")
        )
    elif f.kind == NAME:
        levels.append(
            _level(
                f"length({lc}) = length({rc}) AND levenshtein({lc}, {rc}) = 1",
                "one character differs",
            )
        )
        levels.append(_level(f"jaro_winkler_similarity({lc}, {rc}) >= 0.8", "jaro-winkler ≥ 0.8"))
    elif f.kind == DATE:
        levels.append(
            _level(
                f"year({lc}) = year({rc}) AND month({lc}) = day({rc}) AND day({lc}) = month({rc})",
                "day and month swapped",
            )
        )
        levels.append(
            _level(
                f"hamming(strftime({lc}, '%Y%m%d'), strftime({rc}, '%Y%m%d')) = 1",
                "one digit off",
            )
        )
        levels.append(
            _level(f"date_trunc('month', {lc}) = date_trunc('month', {rc})", "same year and month")
        )
    elif f.kind == ADDRESS:
        levels.append(_level(f"jaro_winkler_similarity({lc}, {rc}) >= 0.92", "jaro-winkler ≥ 0.92"))
        levels.append(_level(f"jaccard({lc}, {rc}) >= 0.7", "character jaccard ≥ 0.7"))
    levels.append(_else())
    family = "id" if f.kind in (ID, CREDIT) else f.kind
    for level in levels:
        prior = PRIORS.get((family, level["label_for_charts"]))
        if prior is not None:
            level["m_probability"], level["u_probability"] = prior
    return {"output_column_name": f.name, "comparison_levels": levels}


def settings(subject: Subject) -> dict[str, Any]:
    """The Splink settings of a subject's model (untrained)."""
    comparisons = [c for f in subject.fields if (c := _comparison(f)) is not None]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "blocking_rules_to_generate_predictions": list(subject.blocking),
        "comparisons": comparisons,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "probability_two_random_records_match": 1e-6,
    }


def model_columns(subject: Subject) -> list[str]:
    cols = ["unique_id"]
    for f in subject.fields:
        cols.append(f.name + "_n")
        if f.kind in (ID, CREDIT):
            cols.append(f.name + "_ok")
    if subject is POPULATION:
        cols += ["surname", "id_birth", "id_tail"]
    return cols
