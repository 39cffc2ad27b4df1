"""Quality runs: twelve rules over a 10M-row lake table, timed against Great Expectations,
Soda Core and one hand-written DuckDB aggregate query (the limit), all in the same run.

The table (``bench.persons``) is a Delta table in a temporary lake, written with ``Lake``
from a fixed seed and generated column by column with numpy (no Python loop per row):
resident ID, credit code, mobile, name, gender, birth date, amount, status code and e-mail,
with defects planted at known rates (``PLANTED``). Each defect category is disjoint from
the others of its column, so the failed count of every rule but the custom one is known
exactly before anything runs; the bench checks GovData's counts against it.

The twelve rules (``RULES``): two not-null, unique, pattern, length, range, allowed values,
date validity, resident ID (GB 11643), credit code (GB 32100), mobile and a custom
condition. Contenders, each ``--runs`` times, interleaved (one run of each in turn), the
median reported:

1. GovData: ``run_rules(lake.scan(table), RULES)`` — every rule compiled to one DuckDB
   aggregate over the table's stream of Arrow batches.
2. The limit: one hand-written DuckDB aggregate query computing the same 24 counts over
   the table's pyarrow dataset registered in DuckDB (``limit_sql``).
3. Great Expectations (pandas engine: its SQL engine does not run on DuckDB) and 4. Soda
   Core (DuckDB), in the peers' own virtual environment (they do not install next to the
   platform's pinned packages; see ``bench/quality_peers.py``), each run a fresh process,
   timed inside around the work (imports excluded, reading the data included). Soda runs
   twice: ``soda_core`` reads the files as a pyarrow dataset registered in DuckDB (the way
   the limit reads them), ``soda_core_parquet`` with DuckDB's own Parquet reader.

Every contender must find the same failed counts; a mismatch is printed and fails the run.

    python bench/quality.py --json data/bench-quality.json           # 10M rows
    python bench/quality.py --rows 1000000 --runs 1                   # for development
"""

from __future__ import annotations

import argparse
import json
import os
import platform as py_platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from govdata.governance.rules_sql import RuleCount, RuleSpec, run_rules
from govdata.governance.validators import (
    _CC_ALPHABET,
    _CC_WEIGHTS,
    _ID_CHECKS,
    _ID_WEIGHTS,
    _ORG_WEIGHTS,
    PROVINCE_CODES,
)
from govdata.lake.tables import Lake

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TABLE = "bench.persons"
CHUNK = 1_000_000
SEED = 20_261_206

STATUS_CODES = ["01", "02", "03", "04", "09"]
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
CUSTOM = "gender IN ('1', '2') AND (status <> '09' OR amount = 0)"

RULES = [
    RuleSpec("name_not_null", "not_null", "name"),
    RuleSpec("id_not_null", "not_null", "resident_id"),
    RuleSpec("id_unique", "unique", "resident_id"),
    RuleSpec("email_pattern", "pattern", "email", {"regex": EMAIL_REGEX}),
    RuleSpec("name_length", "length", "name", {"min": 2, "max": 4}),
    RuleSpec("amount_range", "range", "amount", {"min": 0, "max": 1_000_000}),
    RuleSpec("status_allowed", "allowed", "status", {"values": STATUS_CODES}),
    RuleSpec("birth_date_valid", "date_valid", "birth_date", {"format": "%Y-%m-%d"}),
    RuleSpec("id_gb11643", "resident_id", "resident_id"),
    RuleSpec("credit_gb32100", "credit_code", "credit_code"),
    RuleSpec("mobile_valid", "mobile", "mobile"),
    RuleSpec("custom_status_amount", "custom", None, {"predicate": CUSTOM}),
]

# Defect categories per column as shares of all rows (disjoint within a column).
PLANTED: dict[str, dict[str, float]] = {
    "resident_id": {
        "null": 0.005,
        "bad_check": 0.02,
        "legacy_15": 0.005,
        "bad_date": 0.003,
        "bad_province": 0.002,
    },
    "credit_code": {"null": 0.01, "bad_check": 0.015, "bad_org_check": 0.005, "bad_char": 0.003},
    "mobile": {"null": 0.01, "prefix_12": 0.02, "ten_digits": 0.01, "plus_86": 0.005},
    "name": {"null": 0.01, "too_long": 0.005, "one_char": 0.002},
    "gender": {"bad": 0.005},
    "birth_date": {"null": 0.005, "impossible": 0.005, "no_dashes": 0.003},
    "amount": {"null": 0.02, "negative": 0.004, "too_big": 0.001},
    "status": {"null": 0.003, "unknown": 0.006},
    "email": {"null": 0.05, "no_at": 0.01, "space": 0.005},
}
# Every DUP_EVERY-th row repeats the resident ID of the row before it (exact pairs).
DUP_EVERY = 1000
DUP_AT = 500

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"
)

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_CC = np.frombuffer(_CC_ALPHABET.encode(), dtype=np.uint8)


# -- data ---------------------------------------------------------------------------------------


def _categories(rng: np.random.Generator, n: int, shares: dict[str, float]) -> np.ndarray:
    """A category index per row: 0 is clean, i+1 the i-th planted defect (disjoint)."""
    u = rng.random(n)
    out = np.zeros(n, dtype=np.int8)
    low = 0.0
    for i, share in enumerate(shares.values()):
        out[(u >= low) & (u < low + share)] = i + 1
        low += share
    return out


def _mask(cats: np.ndarray, shares: dict[str, float], name: str) -> np.ndarray:
    result: np.ndarray = cats == list(shares).index(name) + 1
    return result


def _strings(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Rows of ASCII bytes (n, width) as a string array (null where not ``valid``)."""
    n, width = chars.shape
    flat = np.ascontiguousarray(chars).reshape(-1)
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(flat))
    if valid is not None:
        arr = pc.if_else(pa.array(valid), arr, pa.nulls(n, pa.string()))
    return arr


def _resident_ids(
    rng: np.random.Generator, start: int, n: int, born: np.ndarray, cats: np.ndarray
) -> pa.Array:
    shares = PLANTED["resident_id"]
    provinces = np.array(sorted(PROVINCE_CODES - {"71", "81", "82", "83"}), dtype="S2")
    prov = np.frombuffer(rng.choice(provinces, n).tobytes(), dtype=np.uint8).reshape(n, 2) - 48
    # Region (4) and sequence (3) digits carry the row number: every ID is distinct.
    index = np.arange(start, start + n, dtype=np.int64)
    tail = (index[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    ymd = born.astype("datetime64[D]").astype(str).astype("S10")
    date_chars = np.frombuffer(ymd.tobytes(), dtype=np.uint8).reshape(n, 10)[
        :, [0, 1, 2, 3, 5, 6, 8, 9]
    ]
    date_digits = date_chars.astype(np.int64) - 48
    bad_date = _mask(cats, shares, "bad_date")
    date_digits[bad_date, 4:6] = [1, 3]  # month 13
    bad_province = _mask(cats, shares, "bad_province")
    prov[bad_province] = [0, 0]
    body = np.concatenate([prov, tail[:, :4], date_digits, tail[:, 4:]], axis=1)
    check = (body @ np.array(_ID_WEIGHTS)) % 11
    checks = np.frombuffer(_ID_CHECKS.encode(), dtype=np.uint8)
    last = checks[check]
    bad_check = _mask(cats, shares, "bad_check")
    last[bad_check] = checks[(check[bad_check] + 1) % 11]
    chars = np.concatenate([(body + 48).astype(np.uint8), last[:, None]], axis=1)
    ids = _strings(chars)
    legacy = _mask(cats, shares, "legacy_15")
    # 1984 scheme: the century and the check character dropped.
    legacy_chars = np.concatenate([chars[:, :6], chars[:, 8:17]], axis=1)
    ids = pc.if_else(pa.array(legacy), _strings(legacy_chars), ids)
    # Exact duplicate pairs: row k*DUP_EVERY+DUP_AT repeats the ID of the row before it.
    dup = (index % DUP_EVERY) == DUP_AT
    source = np.where(dup, np.arange(n) - 1, np.arange(n))
    ids = ids.take(pa.array(source))
    null = _mask(cats, shares, "null")
    return pc.if_else(pa.array(null), pa.nulls(n, pa.string()), ids)


def _credit_codes(rng: np.random.Generator, n: int, cats: np.ndarray) -> pa.Array:
    shares = PLANTED["credit_code"]
    first = np.frombuffer(b"123456789ANY", dtype=np.uint8)[rng.integers(0, 12, n)]
    kind = np.frombuffer(b"1239", dtype=np.uint8)[rng.integers(0, 4, n)]
    region = _DIGITS[rng.integers(0, 10, size=(n, 6))]
    org_body = _CC[rng.integers(0, len(_CC_ALPHABET), size=(n, 8))]
    base36 = np.zeros(256, dtype=np.int64)
    for i, c in enumerate(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        base36[c] = i
    org_sum = base36[org_body] @ np.array(_ORG_WEIGHTS)
    org_check = (11 - org_sum % 11) % 11
    org_chars = np.frombuffer(b"0123456789X", dtype=np.uint8)[org_check]
    bad_org = _mask(cats, shares, "bad_org_check")
    org_chars[bad_org] = np.frombuffer(b"0123456789X", dtype=np.uint8)[
        (org_check[bad_org] + 1) % 11
    ]
    body = np.concatenate(
        [first[:, None], kind[:, None], region, org_body, org_chars[:, None]], axis=1
    )
    value = np.zeros(256, dtype=np.int64)
    for i, c in enumerate(_CC_ALPHABET.encode()):
        value[c] = i
    check = (31 - (value[body] @ np.array(_CC_WEIGHTS)) % 31) % 31
    bad_check = _mask(cats, shares, "bad_check")
    check[bad_check] = (check[bad_check] + 1) % 31
    chars = np.concatenate([body, _CC[check][:, None]], axis=1)
    bad_char = _mask(cats, shares, "bad_char")
    chars[bad_char, 10] = ord("I")  # not in the GB 32100 character set
    return _strings(chars, ~_mask(cats, shares, "null"))


def _mobiles(rng: np.random.Generator, n: int, cats: np.ndarray) -> pa.Array:
    shares = PLANTED["mobile"]
    chars = np.concatenate(
        [
            np.full((n, 1), ord("1"), dtype=np.uint8),
            np.frombuffer(b"3456789", dtype=np.uint8)[rng.integers(0, 7, n)][:, None],
            _DIGITS[rng.integers(0, 10, size=(n, 9))],
        ],
        axis=1,
    )
    chars[_mask(cats, shares, "prefix_12"), 1] = ord("2")
    mobiles = _strings(chars)
    mobiles = pc.if_else(
        pa.array(_mask(cats, shares, "ten_digits")),
        pc.utf8_slice_codeunits(mobiles, 0, 10),
        mobiles,
    )
    mobiles = pc.if_else(
        pa.array(_mask(cats, shares, "plus_86")),
        pc.binary_join_element_wise("+86", mobiles, ""),
        mobiles,
    )
    return pc.if_else(pa.array(_mask(cats, shares, "null")), pa.nulls(n, pa.string()), mobiles)


def _names(rng: np.random.Generator, n: int, cats: np.ndarray) -> pa.Array:
    shares = PLANTED["name"]
    surname = pa.array(SURNAMES).take(pa.array(rng.integers(0, len(SURNAMES), n)))
    given1 = pa.array(GIVEN).take(pa.array(rng.integers(0, len(GIVEN), n)))
    given2 = pa.array(GIVEN).take(pa.array(rng.integers(0, len(GIVEN), n)))
    two = pa.array(rng.random(n) < 0.3)  # a third of the names have one given character
    names = pc.if_else(
        two,
        pc.binary_join_element_wise(surname, given1, ""),
        pc.binary_join_element_wise(surname, given1, given2, ""),
    )
    names = pc.if_else(
        pa.array(_mask(cats, shares, "too_long")),
        pc.binary_join_element_wise(names, "（已注销）", ""),
        names,
    )
    names = pc.if_else(pa.array(_mask(cats, shares, "one_char")), surname, names)
    return pc.if_else(pa.array(_mask(cats, shares, "null")), pa.nulls(n, pa.string()), names)


def _emails(rng: np.random.Generator, n: int, cats: np.ndarray) -> pa.Array:
    shares = PLANTED["email"]
    local = _strings(
        np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)[
            rng.integers(0, 36, size=(n, 8))
        ]
    )
    domains = pa.array(["@163.com", "@qq.com", "@gov.cn", "@sina.com.cn", "@126.com"])
    domain = domains.take(pa.array(rng.integers(0, 5, n)))
    no_at = pa.array(["163.com", "qq.com", "gov.cn", "sina.com.cn", "126.com"]).take(
        pa.array(rng.integers(0, 5, n))
    )
    domain = pc.if_else(pa.array(_mask(cats, shares, "no_at")), no_at, domain)
    sep = pc.if_else(pa.array(_mask(cats, shares, "space")), " ", "")
    emails = pc.binary_join_element_wise(local, sep, domain, "")
    return pc.if_else(pa.array(_mask(cats, shares, "null")), pa.nulls(n, pa.string()), emails)


def _chunk(seed: int, start: int, n: int) -> pa.RecordBatch:
    rng = np.random.default_rng([seed, start])
    cats = {col: _categories(rng, n, shares) for col, shares in PLANTED.items()}
    # Duplicate pairs are clean: a pair's two rows fail only the uniqueness rule.
    index = np.arange(start, start + n, dtype=np.int64)
    pair = ((index % DUP_EVERY) == DUP_AT) | ((index % DUP_EVERY) == DUP_AT - 1)
    cats["resident_id"][pair] = 0
    born = np.datetime64("1930-01-01") + rng.integers(0, 33_000, n).astype("timedelta64[D]")
    birth = pa.array(born.astype("datetime64[D]").astype(str))
    bd = PLANTED["birth_date"]
    birth = pc.if_else(
        pa.array(_mask(cats["birth_date"], bd, "impossible")),
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(birth, 0, 5), "02-30", ""),
        birth,
    )
    birth = pc.if_else(
        pa.array(_mask(cats["birth_date"], bd, "no_dashes")),
        pc.replace_substring(birth, "-", ""),
        birth,
    )
    birth = pc.if_else(
        pa.array(_mask(cats["birth_date"], bd, "null")), pa.nulls(n, pa.string()), birth
    )
    gender = np.where(rng.random(n) < 0.5, "1", "2").astype(object)
    gender[_mask(cats["gender"], PLANTED["gender"], "bad")] = "9"
    am = PLANTED["amount"]
    status_pick = rng.choice(5, n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    amount = np.round(rng.random(n) * 50_000, 2)
    closed = status_pick == 4
    # Closed records (09) carry no amount, except 1 % of them (the custom rule's defect).
    amount[closed & (rng.random(n) >= 0.01)] = 0.0
    amount[_mask(cats["amount"], am, "negative")] *= -1
    amount[_mask(cats["amount"], am, "negative") & (amount == 0)] = -1.0
    amount[_mask(cats["amount"], am, "too_big")] = 2_000_000.0
    amount_arr = pa.array(amount, mask=_mask(cats["amount"], am, "null"))
    st = PLANTED["status"]
    status = np.array(STATUS_CODES, dtype=object)[status_pick]
    status[_mask(cats["status"], st, "unknown")] = "99"
    status_arr = pa.array(status, mask=_mask(cats["status"], st, "null"), type=pa.string())
    return pa.RecordBatch.from_arrays(
        [
            pa.array(index),
            _resident_ids(rng, start, n, born, cats["resident_id"]),
            _names(rng, n, cats["name"]),
            pa.array(gender, type=pa.string()),
            birth,
            _mobiles(rng, n, cats["mobile"]),
            _emails(rng, n, cats["email"]),
            _credit_codes(rng, n, cats["credit_code"]),
            amount_arr,
            status_arr,
        ],
        schema=SCHEMA,
    )


SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("resident_id", pa.string()),
        ("name", pa.string()),
        ("gender", pa.string()),
        ("birth_date", pa.string()),
        ("mobile", pa.string()),
        ("email", pa.string()),
        ("credit_code", pa.string()),
        ("amount", pa.float64()),
        ("status", pa.string()),
    ]
)


def planted_counts(rows: int) -> dict[str, int]:
    """The failed count every rule but the custom one must find, from the defect masks."""
    got = dict.fromkeys((r.id for r in RULES), 0)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        rng = np.random.default_rng([SEED, start])
        cats = {col: _categories(rng, n, shares) for col, shares in PLANTED.items()}
        index = np.arange(start, start + n, dtype=np.int64)
        pair = ((index % DUP_EVERY) == DUP_AT) | ((index % DUP_EVERY) == DUP_AT - 1)
        cats["resident_id"][pair] = 0

        def count(col: str, *names: str) -> int:
            return int(sum(int(_mask(cats[col], PLANTED[col], x).sum()) for x in names))  # noqa: B023

        got["name_not_null"] += count("name", "null")
        got["id_not_null"] += count("resident_id", "null")
        got["id_unique"] += int(((index % DUP_EVERY) == DUP_AT).sum())
        got["email_pattern"] += count("email", "no_at", "space")
        got["name_length"] += count("name", "too_long", "one_char")
        got["amount_range"] += count("amount", "negative", "too_big")
        got["status_allowed"] += count("status", "unknown")
        got["birth_date_valid"] += count("birth_date", "impossible", "no_dashes")
        got["id_gb11643"] += count(
            "resident_id", "bad_check", "legacy_15", "bad_date", "bad_province"
        )
        got["credit_gb32100"] += count("credit_code", "bad_check", "bad_org_check", "bad_char")
        got["mobile_valid"] += count("mobile", "prefix_12", "ten_digits", "plus_86")
    del got["custom_status_amount"]
    return got


def build_table(lake: Lake, rows: int) -> float:
    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, rows, CHUNK):
            yield _chunk(SEED, start, min(CHUNK, rows - start))

    t0 = time.perf_counter()
    lake.create(TABLE, SCHEMA)
    lake.overwrite(TABLE, pa.RecordBatchReader.from_batches(SCHEMA, batches()))
    return time.perf_counter() - t0


# -- the limit: one hand-written aggregate --------------------------------------------------------

_PROVINCES = ", ".join(f"'{p}'" for p in sorted(PROVINCE_CODES))
_TODAY = "CAST(timezone('Asia/Shanghai', current_timestamp) AS DATE)"


def _weighted(column: str, weights: tuple[int, ...], value: str, first: int = 1) -> str:
    """Σ value(character i) × weight i as SQL, ``value`` turning ``{c}`` (one character of
    ``column``, from position ``first`` on) into a number."""
    return " + ".join(
        f"{value.format(c=f'substr({column}, {first + i}, 1)')} * {w}"
        for i, w in enumerate(weights)
    )


def _lookup(alphabet: str) -> str:
    """A list literal indexed by a character's code + 1 giving its place in ``alphabet``."""
    table = [0] * 128
    for i, ch in enumerate(alphabet):
        table[ord(ch)] = i
    return "[" + ", ".join(map(str, table)) + "]"


def _first_false(*conditions: str) -> str:
    """True when every condition holds; stops at the first that does not, so the later ones
    only ever see values of the right shape (a CASE, not AND, which DuckDB evaluates whole)."""
    whens = " ".join(f"WHEN NOT ({c}) THEN false" for c in conditions[:-1])
    return f"coalesce(CASE {whens} ELSE {conditions[-1]} END, false)"


def _id_groups(column: str) -> str:
    """The GB 11643 weighted sum (mod 11 once more) three digits at a time: each group, as a
    number, indexes a list of its share of the sum."""
    terms = []
    for start in range(0, 17, 3):
        weights = _ID_WEIGHTS[start : start + 3]
        k = len(weights)
        shares = [
            sum(int(d) * w for d, w in zip(f"{n:0{k}d}", weights, strict=True)) % 11
            for n in range(10**k)
        ]
        table = "[" + ", ".join(map(str, shares)) + "]"
        terms.append(f"{table}[CAST(substr({column}, {start + 1}, {k}) AS INT) + 1]")
    return " + ".join(terms)


_BORN = "try_strptime(substr(resident_id, 7, 8), '%Y%m%d')"
_CC_LIST = _lookup(_CC_ALPHABET)
_B36_LIST = _lookup("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# The failing condition of each rule that has no built-in equivalent in a peer, written by
# hand the way a DuckDB user would: shape first, then the arithmetic, each character's value
# read off a lookup list by its code. Soda's failed-rows checks use these same texts.
FAILS: dict[str, str] = {
    "birth_date_valid": "try_strptime(birth_date, '%Y-%m-%d') IS NULL",
    "id_gb11643": "NOT "
    + _first_false(
        "regexp_full_match(resident_id, '[0-9]{17}[0-9Xx]')",
        f"substr(resident_id, 1, 2) IN ({_PROVINCES})",
        f"{_BORN} IS NOT NULL",
        f"CAST({_BORN} AS DATE) BETWEEN DATE '1800-01-01' AND {_TODAY}",
        f"substr('{_ID_CHECKS}', ({_id_groups('resident_id')}) % 11 + 1, 1)"
        " = upper(substr(resident_id, 18, 1))",
    ),
    "credit_gb32100": "NOT "
    + _first_false(
        f"regexp_full_match(credit_code, '[{_CC_ALPHABET}]{{18}}')",
        f"substr('{_CC_ALPHABET}', (31 - ("
        + _weighted("credit_code", _CC_WEIGHTS, f"{_CC_LIST}[ord({{c}}) + 1]")
        + ") % 31) % 31 + 1, 1) = substr(credit_code, 18, 1)",
        "substr('0123456789X', (11 - ("
        + _weighted("credit_code", _ORG_WEIGHTS, f"{_B36_LIST}[ord({{c}}) + 1]", first=9)
        + ") % 11) % 11 + 1, 1) = substr(credit_code, 17, 1)",
    ),
    "custom_status_amount": f"NOT coalesce({CUSTOM}, false)",
}


def limit_sql(relation: str) -> str:
    """The 24 counts of ``RULES`` in one aggregate, written by hand."""
    status = ", ".join(f"'{s}'" for s in STATUS_CODES)
    parts = [
        "count(*)",
        "count_if(name IS NULL)",
        "count(*)",
        "count_if(resident_id IS NULL)",
        "count(resident_id)",
        "count(resident_id) - count(DISTINCT resident_id)",
        "count(email)",
        f"count_if(NOT regexp_full_match(email, '{EMAIL_REGEX}'))",
        "count(name)",
        "count_if(length(name) NOT BETWEEN 2 AND 4)",
        "count(amount)",
        "count_if(amount NOT BETWEEN 0 AND 1000000)",
        "count(status)",
        f"count_if(status NOT IN ({status}))",
        "count(birth_date)",
        f"count_if(birth_date IS NOT NULL AND {FAILS['birth_date_valid']})",
        "count(resident_id)",
        f"count_if(resident_id IS NOT NULL AND {FAILS['id_gb11643']})",
        "count(credit_code)",
        f"count_if(credit_code IS NOT NULL AND {FAILS['credit_gb32100']})",
        "count(mobile)",
        "count_if(NOT regexp_full_match(mobile, '1[3-9][0-9]{9}'))",
        "count(*)",
        f"count_if({FAILS['custom_status_amount']})",
    ]
    return "SELECT " + ",\n  ".join(parts) + f"\nFROM {relation}"


# -- contenders -----------------------------------------------------------------------------------

Counts = dict[str, tuple[int | None, int]]


Timing = tuple[float, float]  # wall seconds, CPU seconds (every thread of the process)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_govdata(lake: Lake) -> tuple[Timing, Counts]:
    w0, c0 = time.perf_counter(), _cpu()
    counts: list[RuleCount] = run_rules(lake.scan(TABLE), RULES)
    timing = (time.perf_counter() - w0, _cpu() - c0)
    return timing, {c.rule_id: (c.checked, c.failed) for c in counts}


def run_limit(lake: Lake) -> tuple[Timing, Counts]:
    w0, c0 = time.perf_counter(), _cpu()
    con = duckdb.connect()
    try:
        con.register("persons", lake.dataset(TABLE))
        row = con.execute(limit_sql("persons")).fetchone()
    finally:
        con.close()
    timing = (time.perf_counter() - w0, _cpu() - c0)
    assert row is not None
    return timing, {r.id: (int(row[2 * i]), int(row[2 * i + 1])) for i, r in enumerate(RULES)}


def peer_spec(lake: Lake, workdir: Path) -> Path:
    """The peers' input: a DuckDB database file with one view over the table's Parquet
    files, the rules, and the hand-written failing conditions."""
    files = lake.table(TABLE).file_uris()
    database = workdir / "peers.duckdb"
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW persons AS SELECT * FROM read_parquet([{listed}])")
    con.close()
    spec = {
        "database": str(database),
        "files": files,
        "provinces": sorted(PROVINCE_CODES),
        "table": "persons",
        "rules": [
            {"id": r.id, "kind": r.kind, "field": r.field, "params": dict(r.params)} for r in RULES
        ],
        "fails": FAILS,
    }
    path = workdir / "peers.json"
    path.write_text(json.dumps(spec, ensure_ascii=False))
    return path


PEAK_MEMORY_MIB: dict[str, float] = {}  # the peers' largest resident set over their runs


def run_peer(python: Path, peer: str, spec: Path, workdir: Path) -> tuple[Timing, Counts, str]:
    out = workdir / f"{peer}-{time.monotonic_ns()}.json"
    cmd = [str(python), str(BENCH / "quality_peers.py"), peer, str(spec), str(out)]
    # Great Expectations draws progress bars on stderr: keep it for when the peer fails.
    done = subprocess.run(cmd, cwd=workdir, capture_output=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace")[-5000:])
        raise SystemExit(f"{peer} failed (exit {done.returncode})")
    got = json.loads(out.read_text())
    counts = {k: (v[0], int(v[1])) for k, v in got["counts"].items()}
    PEAK_MEMORY_MIB[peer] = max(PEAK_MEMORY_MIB.get(peer, 0.0), float(got["max_rss_mib"]))
    return (float(got["seconds"]), float(got["cpu_seconds"])), counts, str(got["version"])


# -- report ---------------------------------------------------------------------------------------


def t(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def mismatches(reference: Counts, other: Counts, name: str) -> list[str]:
    """Rules whose counts differ from GovData's: the limit must agree on checked and failed,
    a peer on failed (the peers count "checked" each in its own way)."""
    problems = []
    for rule in RULES:
        want, got = reference[rule.id], other.get(rule.id)
        if got is None:
            problems.append(f"{name}: {rule.id} missing")
            continue
        failed = want[1]
        if name == "great_expectations" and rule.kind == "unique":
            # GE counts every row of a duplicated value; each planted duplicate is an exact
            # pair, so that is twice the extra copies GovData (and Soda) count.
            failed *= 2
        if got[1] != failed or (name == "limit" and got[0] != want[0]):
            problems.append(f"{name}: {rule.id} GovData {want} vs {got}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="table rows")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (median)")
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=ROOT / ".venv-peers" / "bin" / "python",
        help="Python of the peers' virtual environment (make bench-quality builds it)",
    )
    parser.add_argument("--skip-peers", action="store_true", help="GovData and the limit only")
    parser.add_argument(
        "--lake", type=Path, help="keep the generated lake here and reuse it next time"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args()
    if not args.skip_peers and not args.peers_python.exists():
        parser.error(f"{args.peers_python} not found: run `make bench-quality` or --skip-peers")

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            # Other processes share the machine: read the figures in the light of this.
            "load_average_at_start": os.getloadavg(),
            "python": py_platform.python_version(),
            "duckdb": duckdb.__version__,
            "pyarrow": pa.__version__,
        },
        "options": {"rows": args.rows, "runs": args.runs, "rules": len(RULES), "seed": SEED},
    }
    print(
        f"{os.cpu_count()} CPUs, Python {py_platform.python_version()}, DuckDB"
        f" {duckdb.__version__}, load average {t(os.getloadavg()[0], 1)}",
        flush=True,
    )
    tmp = tempfile.mkdtemp(prefix="govdata-bench-quality-")
    workdir = Path(tmp)
    lake_root = args.lake or workdir / "lake"
    try:
        lake = Lake(lake_root)
        stamp = lake_root / f".rows-{args.rows}-seed-{SEED}"
        if not (lake.exists(TABLE) and stamp.exists()):
            if lake_root.exists():
                shutil.rmtree(lake_root)
            lake = Lake(lake_root)
            seconds = build_table(lake, args.rows)
            stamp.touch()
            print(f"table of {args.rows:,} rows written in {t(seconds, 1)} s", flush=True)
            report["generate_seconds"] = seconds
        files = lake.table(TABLE).file_uris()
        size = sum(Path(f).stat().st_size for f in files)
        report["table"] = {"files": len(files), "bytes": size}
        print(f"{TABLE}: {len(files)} Parquet files, {size / 2**20:.0f} MiB", flush=True)
        planted = planted_counts(args.rows)

        contenders: list[str] = ["govdata", "limit"]
        spec = None
        if not args.skip_peers:
            spec = peer_spec(lake, workdir)
            contenders += ["great_expectations", "soda_core", "soda_core_parquet"]
        times: dict[str, list[float]] = {c: [] for c in contenders}
        cpu: dict[str, list[float]] = {c: [] for c in contenders}
        counts: dict[str, Counts] = {}
        versions: dict[str, str] = {}
        for run in range(args.runs):
            for c in contenders:
                if c == "govdata":
                    timing, got = run_govdata(lake)
                elif c == "limit":
                    timing, got = run_limit(lake)
                else:
                    assert spec is not None
                    timing, got, versions[c] = run_peer(args.peers_python, c, spec, workdir)
                times[c].append(timing[0])
                cpu[c].append(timing[1])
                counts.setdefault(c, got)
                print(
                    f"  run {run + 1} {c}: {t(timing[0])} s (CPU {t(timing[1])} s),"
                    f" load average {t(os.getloadavg()[0], 1)}",
                    flush=True,
                )

        problems: list[str] = []
        for rule_id, want in planted.items():
            if counts["govdata"][rule_id][1] != want:
                problems.append(
                    f"planted: {rule_id} {want} vs GovData {counts['govdata'][rule_id]}"
                )
        for c in contenders[1:]:
            problems += mismatches(counts["govdata"], counts[c], c)

        medians = {c: statistics.median(v) for c, v in times.items()}
        cpu_medians = {c: statistics.median(v) for c, v in cpu.items()}
        report["seconds"] = {
            c: {
                "median": medians[c],
                "runs": times[c],
                "cpu_median": cpu_medians[c],
                "cpu_runs": cpu[c],
            }
            for c in contenders
        }
        report["versions"] = versions
        report["peers_peak_memory_mib"] = PEAK_MEMORY_MIB
        report["counts"] = {
            r.id: {"checked": counts["govdata"][r.id][0], "failed": counts["govdata"][r.id][1]}
            for r in RULES
        }
        report["planted"] = planted
        report["ratios"] = {f"govdata/{c}": medians["govdata"] / medians[c] for c in contenders[1:]}
        report["cpu_ratios"] = {
            f"govdata/{c}": cpu_medians["govdata"] / cpu_medians[c] for c in contenders[1:]
        }
        report["mismatches"] = problems
        report["load_average_at_end"] = os.getloadavg()

        print(f"\n{args.rows:,} rows, {len(RULES)} rules, median of {args.runs} run(s):")
        for r in RULES:
            checked, failed = counts["govdata"][r.id]
            rate = 100 * failed / checked if checked else 0.0
            print(
                f"  {r.id:22s} {r.kind:12s} checked {checked:>11,}"
                f" failed {failed:>9,} ({rate:.2f} %)"
            )
        for c in contenders:
            label = c + (f" {versions[c]}" if c in versions else "")
            print(
                f"  {label:30s} {t(medians[c]):>8s} s  {args.rows / medians[c] / 1e6:6.2f} M rows/s"
                f"  CPU {t(cpu_medians[c]):>8s} s"
            )
        for name, ratio in report["ratios"].items():
            print(f"  {name:30s} {t(ratio, 3)} (CPU {t(report['cpu_ratios'][name], 3)})")
        if problems:
            print("\nMISMATCHES:")
            for p in problems:
                print("  " + p)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
            print(f"\nJSON written to {args.json}")
        if problems:
            sys.exit(1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
