"""Partial masking (数据脱敏) of sensitive values delivered through the data-sharing API.

The masks are the usual partial masks of GB/T 35273 (personal information security) and
GB/T 37964 (de-identification) practice: a resident ID keeps its region code and last four
characters, a mobile number its carrier prefix and last four digits, a name its surname, an
address its first six characters, a bank card its issuer prefix and last four digits, an e-mail
address the first character of its local part and its domain.

Masking happens at delivery time, per grant: the lake keeps the clear values, so a grant that
later allows clear access (or a different mask) needs no reload.

Every mask counts characters (Unicode code points), never bytes, and masks the value exactly as
given. ``mask_value`` masks one value and is the reference; ``mask_array`` does the same with
Arrow compute kernels over whole columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from govdata.core.errors import InvalidInput

__all__ = [
    "CLEAR",
    "MaskKind",
    "detect_kind",
    "mask_array",
    "mask_batch",
    "mask_table",
    "mask_value",
    "validate_masks",
]


class MaskKind(StrEnum):
    RESIDENT_ID = "resident_id"
    PHONE = "phone"
    NAME = "name"
    ADDRESS = "address"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    GENERIC = "generic"


CLEAR = "clear"
"""Marker meaning "no mask" in a grant's per-item mask map."""

_ALLOWED = frozenset({*(kind.value for kind in MaskKind), CLEAR})
_MASK_CODE = "sharing_mask_invalid"
_ADDRESS_TAIL = "****"
_EMAIL_GAP = "***"
# The domain follows the *last* '@': a quoted local part may itself contain one.
_EMAIL_RE = r"(?s)^(?P<first>.?).*@(?P<domain>[^@]*)$"


def _kind(kind: MaskKind | str) -> MaskKind:
    try:
        return MaskKind(kind)
    except ValueError:
        raise InvalidInput(
            f"未知的脱敏方式：{kind!r}",
            f"Unknown mask kind: {kind!r}",
            code=_MASK_CODE,
            details={"mask": str(kind), "allowed": sorted(_ALLOWED)},
        ) from None


# --- one value ---------------------------------------------------------------------------------


def _keep_ends(text: str, head: int, tail: int) -> str:
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def _card(text: str) -> str:
    # Values too short to be a real ID or card number keep only their last four characters,
    # and nothing at all when that would show the whole value.
    n = len(text)
    if n >= 11:
        return _keep_ends(text, 6, 4)
    return _keep_ends(text, 0, 4) if n > 4 else "*" * n


def _phone(text: str) -> str:
    n = len(text)
    if n == 11:
        return _keep_ends(text, 3, 4)
    return _keep_ends(text, 0, 4) if n > 4 else "*" * n


def _name(text: str) -> str:
    return _keep_ends(text, 1, 0) if len(text) >= 2 else "*" * len(text)


def _address(text: str) -> str:
    n = len(text)
    return text[: 6 if n > 6 else n // 2] + _ADDRESS_TAIL


def _generic(text: str) -> str:
    return _keep_ends(text, 1, 1) if len(text) >= 3 else "*" * len(text)


def _email(text: str) -> str:
    at = text.rfind("@")
    if at < 0:
        return _generic(text)
    return text[:at][:1] + _EMAIL_GAP + text[at:]


_VALUE_MASKS: dict[MaskKind, Callable[[str], str]] = {
    MaskKind.RESIDENT_ID: _card,
    MaskKind.PHONE: _phone,
    MaskKind.NAME: _name,
    MaskKind.ADDRESS: _address,
    MaskKind.BANK_CARD: _card,
    MaskKind.EMAIL: _email,
    MaskKind.GENERIC: _generic,
}


def mask_value(kind: MaskKind | str, value: object) -> str | None:
    """Mask one value; ``None`` stays ``None``, other non-strings are masked on ``str(value)``."""
    mask = _VALUE_MASKS[_kind(kind)]
    if value is None:
        return None
    return mask(value if isinstance(value, str) else str(value))


# --- whole arrays ------------------------------------------------------------------------------


class _Col:
    """A string column with its code-point lengths and helpers typed to match it.

    Kernels refuse to join ``large_string`` with ``string`` scalars, so every literal is made in
    the column's own type.
    """

    def __init__(self, values: Any) -> None:
        self.values = values
        self.type = values.type
        self.n = pc.utf8_length(values)

    def lit(self, text: str) -> Any:
        return pa.scalar(text, self.type)

    def head(self, count: int) -> Any:
        return pc.utf8_slice_codeunits(self.values, start=0, stop=count)

    def tail(self, count: int) -> Any:
        if count == 0:
            return self.lit("")
        return pc.utf8_slice_codeunits(self.values, start=-count)

    def stars(self, minus: int = 0) -> Any:
        # Repeat counts must not be negative; rows where that clamp matters are never selected.
        count = pc.max_element_wise(pc.subtract(self.n, minus), 0) if minus else self.n
        return pc.binary_repeat(self.lit("*"), count)

    def join(self, *parts: Any) -> Any:
        return pc.binary_join_element_wise(*parts, self.lit(""))

    def keep_ends(self, head: int, tail: int) -> Any:
        return self.join(self.head(head), self.stars(head + tail), self.tail(tail))

    def at_least(self, count: int) -> Any:
        return pc.greater_equal(self.n, count)


def _card_array(col: _Col) -> Any:
    short = pc.if_else(col.at_least(5), col.keep_ends(0, 4), col.stars())
    return pc.if_else(col.at_least(11), col.keep_ends(6, 4), short)


def _phone_array(col: _Col) -> Any:
    other = pc.if_else(col.at_least(5), col.keep_ends(0, 4), col.stars())
    return pc.if_else(pc.equal(col.n, 11), col.keep_ends(3, 4), other)


def _name_array(col: _Col) -> Any:
    return pc.if_else(col.at_least(2), col.keep_ends(1, 0), col.stars())


def _address_array(col: _Col) -> Any:
    # The head length (n // 2 when n <= 6) varies per row but slicing takes one fixed bound, so
    # each of the few possible heads is cut and the right one picked by length.
    head = col.head(0)
    for n_min, keep in ((2, 1), (4, 2), (6, 3), (7, 6)):
        head = pc.if_else(col.at_least(n_min), col.head(keep), head)
    return col.join(head, col.lit(_ADDRESS_TAIL))


def _generic_array(col: _Col) -> Any:
    return pc.if_else(col.at_least(3), col.keep_ends(1, 1), col.stars())


def _email_array(col: _Col) -> Any:
    parts = pc.extract_regex(col.values, _EMAIL_RE)
    masked = col.join(
        pc.struct_field(parts, "first"),
        col.lit(_EMAIL_GAP + "@"),
        pc.struct_field(parts, "domain"),
    )
    return pc.if_else(pc.match_substring(col.values, "@"), masked, _generic_array(col))


_ARRAY_MASKS: dict[MaskKind, Callable[[_Col], Any]] = {
    MaskKind.RESIDENT_ID: _card_array,
    MaskKind.PHONE: _phone_array,
    MaskKind.NAME: _name_array,
    MaskKind.ADDRESS: _address_array,
    MaskKind.BANK_CARD: _card_array,
    MaskKind.EMAIL: _email_array,
    MaskKind.GENERIC: _generic_array,
}


def mask_array(
    kind: MaskKind | str, array: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    """Mask every value of a column; nulls stay null.

    The result is ``string`` (``large_string`` input stays ``large_string``); other types are
    cast to ``string`` first, so their text is Arrow's rendering (``true``, not ``True``).
    """
    mask = _ARRAY_MASKS[_kind(kind)]
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    result: pa.Array | pa.ChunkedArray = mask(_Col(array))
    return result


def _masked_columns(
    schema: pa.Schema, columns: list[Any], masks: Mapping[str, str]
) -> tuple[pa.Schema, list[Any]]:
    fields = []
    out = []
    for field, column in zip(schema, columns, strict=True):
        kind = masks.get(field.name, CLEAR)
        if kind != CLEAR:
            column = mask_array(kind, column)
            field = pa.field(field.name, column.type, field.nullable, field.metadata)
        fields.append(field)
        out.append(column)
    return pa.schema(fields, metadata=schema.metadata), out


def mask_batch(batch: pa.RecordBatch, masks: Mapping[str, str]) -> pa.RecordBatch:
    """Mask the fields named in ``masks`` (field name -> mask kind or ``CLEAR``).

    Other fields pass through untouched; names that are not fields of the batch are ignored.
    """
    schema, columns = _masked_columns(batch.schema, list(batch.columns), masks)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def mask_table(table: pa.Table, masks: Mapping[str, str]) -> pa.Table:
    """``mask_batch`` for a table."""
    schema, columns = _masked_columns(table.schema, list(table.columns), masks)
    return pa.Table.from_arrays(columns, schema=schema)


# --- choosing and checking masks ---------------------------------------------------------------

_RESIDENT_ID_ELEMENT = "DE00001"

# Checked in this order: "联系人电话" is a phone number, not a name, and "电子邮件地址" an e-mail
# address, not an address. English keywords are whole words of a snake_case identifier.
_KEYWORDS: tuple[tuple[MaskKind, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        MaskKind.RESIDENT_ID,
        ("身份证", "身份号码", "证件号码"),
        ("resident_id", "id_card", "idcard", "id_no", "id_number"),
    ),
    (
        MaskKind.BANK_CARD,
        ("银行卡", "银行账号", "卡号"),
        ("bank_card", "bankcard", "card_no", "card_number", "account_no", "bank_account"),
    ),
    (MaskKind.EMAIL, ("邮箱", "电子邮件"), ("email", "e_mail")),
    (
        MaskKind.PHONE,
        ("手机", "电话", "联系方式"),
        ("phone", "telephone", "cellphone", "mobile", "tel"),
    ),
    (MaskKind.ADDRESS, ("地址", "住址", "居住地"), ("address", "addr")),
)
_NAME_ZH = ("姓名", "联系人", "法定代表人")
# "<word>_name" is the name of a thing, not of a person, when one of these words qualifies it.
_THING_WORDS = frozenset(
    {
        "company",
        "corp",
        "enterprise",
        "org",
        "organization",
        "organisation",
        "dept",
        "department",
        "unit",
        "agency",
        "institution",
        "bank",
        "file",
        "table",
        "column",
        "field",
        "schema",
        "database",
        "db",
        "host",
        "app",
        "system",
        "product",
        "project",
        "item",
        "dataset",
        "resource",
        "region",
        "area",
    }
)
# 名称 names things (单位名称, 企业名称); a person's name is 姓名.
_THING_NAME_ZH = "名称"


def _words(text: str) -> list[str]:
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    return [word for word in re.split(r"[^a-z0-9]+", snake) if word]


def _is_person_name(words: list[str]) -> bool:
    return bool(words) and words[-1] == "name" and not _THING_WORDS.intersection(words)


def detect_kind(
    name: str, name_en: str | None = None, data_element: str | None = None
) -> MaskKind | None:
    """The mask an entry item (信息项) needs, judged from its names or its data element.

    Returns ``None`` for items that need no mask, including organisation names.
    """
    if data_element is not None and data_element.strip().upper() == _RESIDENT_ID_ELEMENT:
        return MaskKind.RESIDENT_ID
    texts = [text for text in (name, name_en) if text]
    words = [_words(text) for text in texts]
    # Padding with "_" turns whole-word matching into plain substring tests.
    snakes = ["_" + "_".join(w) + "_" for w in words]
    for kind, zh, en in _KEYWORDS:
        if any(k in text for k in zh for text in texts):
            return kind
        if any(f"_{k}_" in snake for k in en for snake in snakes):
            return kind
    if any(k in text for k in _NAME_ZH for text in texts):
        return MaskKind.NAME
    if any(_THING_NAME_ZH in text for text in texts):
        return None
    if any(_is_person_name(w) for w in words):
        return MaskKind.NAME
    return None


def validate_masks(masks: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """Check a grant's mask map against the fields it covers and return a plain copy.

    Every key must be one of ``fields`` and every value a ``MaskKind`` value or ``CLEAR``.
    """
    known = set(fields)
    unknown_fields = [key for key in masks if key not in known]
    bad_masks = {
        str(key): str(value)
        for key, value in masks.items()
        if not isinstance(value, str) or value not in _ALLOWED
    }
    if unknown_fields or bad_masks:
        problems_zh = [f"字段 {key!r} 不存在" for key in unknown_fields]
        problems_en = [f"unknown field {key!r}" for key in unknown_fields]
        problems_zh += [f"字段 {k!r} 的脱敏方式 {v!r} 无效" for k, v in bad_masks.items()]
        problems_en += [f"invalid mask {v!r} for field {k!r}" for k, v in bad_masks.items()]
        raise InvalidInput(
            "脱敏设置不合法：" + "；".join(problems_zh),
            "Invalid mask settings: " + "; ".join(problems_en),
            code=_MASK_CODE,
            details={
                "unknown_fields": [str(key) for key in unknown_fields],
                "invalid_masks": bad_masks,
                "allowed": sorted(_ALLOWED),
            },
        )
    return {str(key): str(value) for key, value in masks.items()}
