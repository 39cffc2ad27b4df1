"""Sensitive-data discovery (敏感数据识别): what kinds of personal data a sample of a table holds.

``sample_lake`` and ``sample_source`` read a bounded sample as Arrow: a lake table as a
uniform random sample drawn while the lake's own batch reader streams the table through once
(only one batch and the sample are ever held), a source table as its first rows through the
source's connector (sources cannot sample cheaply; the sample is what the source returns
first). ``scan_sample`` then judges every text or integer column, vectorised with Arrow
kernels; the checksum identifiers are confirmed by ``govdata.governance.validators`` on the
values whose shape already matched:

- resident identity numbers with a valid GB 11643 check (checksum-invalid numbers do not
  count), unified social credit codes valid by GB 32100, bank card numbers passing Luhn,
  mainland mobile numbers, e-mail addresses;
- addresses: Chinese text naming a division (省 市 区 县 州 旗 盟) and a place within it
  (路 街 巷 村 镇 …), ending in a house number, a room, a village or a group, or holding a
  digit;
- Chinese personal names: 2–4 Chinese characters opening with a common surname (one of
  about 300, or a compound surname such as 欧阳), or two parts joined by a middle dot.

A value counts for the first kind it matches, in the order above (an 18-digit resident ID
can pass Luhn by chance). A column's kind is its most frequent one; its hit rate is hits over
non-empty sampled values, and a column suggests a catalog change when the rate reaches
``MIN_HIT_RATE``. Examples are kept masked only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from govdata.governance import validators
from govdata.lake.tables import Lake
from govdata.sharing.masking import MaskKind, mask_value
from govdata.sources.base import SourceConnector
from govdata.sources.proposals import SURNAMES

MIN_HIT_RATE = 0.5
EXAMPLES = 3
SEED = 20260507
_KEY = "__sample_key"


class FindingKind(StrEnum):
    RESIDENT_ID = "resident_id"
    CREDIT_CODE = "credit_code"
    BANK_CARD = "bank_card"
    MOBILE = "mobile"
    EMAIL = "email"
    NAME = "name"
    ADDRESS = "address"


@dataclass(frozen=True)
class KindRule:
    """What a finding suggests for the item holding it."""

    mask: MaskKind | None
    sensitive: bool  # 个人敏感信息
    grade: int


# Identifiers that single out a person, or reach them, are sensitive personal information
# (grade 3); names, addresses and e-mail are personal information (grade 2, masked); a credit
# code names an organisation publicly (grade 1, no mask).
RULES: dict[FindingKind, KindRule] = {
    FindingKind.RESIDENT_ID: KindRule(MaskKind.RESIDENT_ID, True, 3),
    FindingKind.CREDIT_CODE: KindRule(None, False, 1),
    FindingKind.BANK_CARD: KindRule(MaskKind.BANK_CARD, True, 3),
    FindingKind.MOBILE: KindRule(MaskKind.PHONE, True, 3),
    FindingKind.EMAIL: KindRule(MaskKind.EMAIL, False, 2),
    FindingKind.NAME: KindRule(MaskKind.NAME, False, 2),
    FindingKind.ADDRESS: KindRule(MaskKind.ADDRESS, False, 2),
}
LABELS: dict[str, tuple[str, str]] = {
    FindingKind.RESIDENT_ID: ("公民身份号码", "Resident ID number"),
    FindingKind.CREDIT_CODE: ("统一社会信用代码", "Unified social credit code"),
    FindingKind.BANK_CARD: ("银行卡号", "Bank card number"),
    FindingKind.MOBILE: ("手机号码", "Mobile number"),
    FindingKind.EMAIL: ("电子邮箱", "E-mail address"),
    FindingKind.NAME: ("姓名", "Personal name"),
    FindingKind.ADDRESS: ("地址", "Address"),
}

COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "夏侯"}
)
_SHAPES: dict[FindingKind, str] = {
    FindingKind.RESIDENT_ID: r"^[0-9]{17}[0-9Xx]$",
    FindingKind.CREDIT_CODE: r"^[0-9A-HJ-NP-RTUW-Y]{18}$",
    FindingKind.BANK_CARD: r"^[0-9]{16,19}$",
    FindingKind.MOBILE: r"^1[3-9][0-9]{9}$",
    FindingKind.EMAIL: r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
}
# Confirmed per value (the shape matched already): the checksums and the full e-mail syntax.
_CONFIRM = {
    FindingKind.RESIDENT_ID: validators.resident_id,
    FindingKind.CREDIT_CODE: validators.credit_code,
    FindingKind.BANK_CARD: validators.bank_card,
    FindingKind.EMAIL: validators.email,
}
_HAN = "[\u4e00-\u9fff]"
_PERSON = f"^{_HAN}{{2,4}}$"
_DOTTED = f"^{_HAN}{{1,12}}[·•]{_HAN}{{1,12}}$"
_DIVISION = r"(省|自治区|市|区|县|州|旗|盟)"
_PLACE = r"(路|街|巷|弄|道|村|镇|乡|里|胡同|小区|社区|大厦|号)"
_ADDRESS_END = r"([0-9０-９]|(号|室|村|组|社|栋|幢|楼|户|单元)$)"


@dataclass
class ColumnFinding:
    """What one column's sample holds."""

    column: str
    non_empty: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    kind: FindingKind | None = None
    hits: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.non_empty if self.non_empty else 0.0

    @property
    def suggests(self) -> bool:
        return self.kind is not None and self.hit_rate >= MIN_HIT_RATE


# -- judging values ---------------------------------------------------------------------------


def _text(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """The column as trimmed text, or None for columns that cannot hold the kinds we seek."""
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_integer(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        column = column.cast(pa.string())
    elif not pa.types.is_string(column.type):
        return None
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.utf8_trim_whitespace(column)


def _confirmed(values: pa.Array, shape: pa.Array, kind: FindingKind) -> pa.Array:
    """``shape`` narrowed to the values the kind's validator accepts (Python only runs on
    the values whose shape matched)."""
    check = _CONFIRM.get(kind)
    if check is None:
        return shape
    out = shape.to_pylist()
    for i in pc.indices_nonzero(shape).to_pylist():
        out[i] = check(values[i].as_py())
    return pa.array(out, pa.bool_())


def _name_mask(values: pa.Array) -> pa.Array:
    plain = pc.match_substring_regex(values, _PERSON)
    first = pc.utf8_slice_codeunits(values, 0, 1)
    first_two = pc.utf8_slice_codeunits(values, 0, 2)
    surname = pc.or_(
        pc.is_in(first, value_set=pa.array(sorted(SURNAMES))),
        pc.is_in(first_two, value_set=pa.array(sorted(COMPOUND_SURNAMES))),
    )
    return pc.or_(pc.and_(plain, surname), pc.match_substring_regex(values, _DOTTED))


def _address_mask(values: pa.Array) -> pa.Array:
    length = pc.utf8_length(values)
    long_enough = pc.and_(pc.greater_equal(length, 6), pc.less_equal(length, 120))
    parts = pc.and_(
        pc.match_substring_regex(values, _DIVISION), pc.match_substring_regex(values, _PLACE)
    )
    return pc.and_(pc.and_(long_enough, parts), pc.match_substring_regex(values, _ADDRESS_END))


def _kind_masks(values: pa.Array) -> Iterator[tuple[FindingKind, pa.Array]]:
    for kind, pattern in _SHAPES.items():
        shape = pc.fill_null(pc.match_substring_regex(values, pattern), False)
        yield kind, _confirmed(values, shape, kind)
    yield FindingKind.NAME, pc.fill_null(_name_mask(values), False)
    yield FindingKind.ADDRESS, pc.fill_null(_address_mask(values), False)


def scan_column(name: str, column: pa.Array | pa.ChunkedArray) -> ColumnFinding:
    """Judge one column of a sample (see the module docstring)."""
    finding = ColumnFinding(name)
    text = _text(column)
    if text is None:
        return finding
    values = text.filter(pc.fill_null(pc.greater(pc.utf8_length(text), 0), False))
    finding.non_empty = len(values)
    if not finding.non_empty:
        return finding
    taken = pa.array([False] * len(values), pa.bool_())
    hits: dict[FindingKind, pa.Array] = {}
    for kind, matched in _kind_masks(values):
        first_match = pc.and_(matched, pc.invert(taken))
        taken = pc.or_(taken, matched)
        count = pc.sum(first_match).as_py() or 0
        if count:
            finding.counts[kind.value] = int(count)
            hits[kind] = first_match
    if not hits:
        return finding
    order = list(FindingKind)
    kind = max(hits, key=lambda k: (finding.counts[k.value], -order.index(k)))
    finding.kind = kind
    finding.hits = finding.counts[kind.value]
    distinct = pc.unique(values.filter(hits[kind])).slice(0, EXAMPLES).to_pylist()
    mask = RULES[kind].mask or MaskKind.GENERIC
    finding.examples = [str(mask_value(mask, v)) for v in distinct]
    return finding


def scan_sample(sample: pa.Table) -> list[ColumnFinding]:
    """One finding per column of ``sample``, in column order."""
    return [scan_column(name, sample.column(name)) for name in sample.column_names]


# -- reading samples ----------------------------------------------------------------------------


def _bottom_k(reader: pa.RecordBatchReader, rows: int) -> pa.Table:
    """A uniform sample of at most ``rows`` rows of a stream: every row draws a random key
    and the ``rows`` smallest keys stay (bottom-k sampling), batch by batch, so memory holds
    one batch and the sample, never the table."""
    kept: pa.Table | None = None
    for i, batch in enumerate(reader):
        if not batch.num_rows:
            continue
        keys = pc.random(batch.num_rows, initializer=SEED + i)
        part = pa.Table.from_batches([batch]).append_column(_KEY, keys)
        kept = part if kept is None else pa.concat_tables([kept, part])
        if kept.num_rows > rows:
            kept = kept.take(pc.select_k_unstable(kept, k=rows, sort_keys=[(_KEY, "ascending")]))
    if kept is None:
        return reader.schema.empty_table()
    return kept.drop_columns([_KEY])


def sample_lake(lake: Lake, table: str, rows: int, columns: list[str] | None = None) -> pa.Table:
    """A reservoir sample of at most ``rows`` rows of a lake table (all of it when smaller).

    Reads through ``Lake.scan`` so the sample holds what every reader of the lake sees."""
    return _bottom_k(lake.scan(table, columns=columns), rows)


def sample_source(
    connector: SourceConnector, table: str, rows: int, columns: list[str] | None = None
) -> pa.Table:
    """The first ``rows`` rows of a source table, read through its connector."""
    batches = list(connector.read_batches(table, columns=columns, limit=rows, batch_rows=rows))
    if not batches:
        return pa.table({})
    return pa.Table.from_batches(batches)


def label(kind: str | None, locale: str = "zh_CN") -> str:
    if kind is None:
        return ""
    pair = LABELS.get(kind)
    if pair is None:
        return kind
    return pair[1] if locale.startswith("en") else pair[0]


def rule_of(kind: str | None) -> KindRule | None:
    return RULES.get(FindingKind(kind)) if kind else None


def describe(findings: list[ColumnFinding]) -> list[dict[str, Any]]:
    """Findings as plain data (for logs and the CLI)."""
    return [
        {
            "column": f.column,
            "kind": f.kind.value if f.kind else None,
            "hits": f.hits,
            "non_empty": f.non_empty,
            "hit_rate": round(f.hit_rate, 4),
            "examples": f.examples,
        }
        for f in findings
    ]
