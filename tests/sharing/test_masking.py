"""Partial masking for the data-sharing API: vectors per kind, array == value, batch plumbing."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.core.errors import InvalidInput
from govdata.sharing.masking import (
    CLEAR,
    MaskKind,
    detect_kind,
    mask_array,
    mask_batch,
    mask_table,
    mask_value,
    validate_masks,
)

K = MaskKind

VECTORS: list[tuple[MaskKind, str | None, str | None]] = [
    # 公民身份号码: 18 and 15 characters keep 6 + 4; too short to be one keeps the last 4 only.
    (K.RESIDENT_ID, "63010219900307123X", "630102********123X"),
    (K.RESIDENT_ID, "630102900307123", "630102*****7123"),
    (K.RESIDENT_ID, "63010219900307123x", "630102********123x"),
    (K.RESIDENT_ID, "1234567890", "******7890"),
    (K.RESIDENT_ID, "1234", "****"),
    (K.RESIDENT_ID, "", ""),
    (K.RESIDENT_ID, None, None),
    # Mobile numbers keep 3 + 4; landlines and other lengths keep the last 4.
    (K.PHONE, "13812345678", "138****5678"),
    (K.PHONE, "0971-6123456", "********3456"),
    (K.PHONE, "09716123456", "097****3456"),
    (K.PHONE, "6123456", "***3456"),
    (K.PHONE, "+86 13812345678", "***********5678"),
    (K.PHONE, "110", "***"),
    (K.PHONE, None, None),
    # Names keep the surname character, one '*' for each other character.
    (K.NAME, "王", "*"),
    (K.NAME, "王芳", "王*"),
    (K.NAME, "李小明", "李**"),
    (K.NAME, "欧阳娜娜", "欧***"),
    (K.NAME, "Alice", "A****"),
    (K.NAME, "", ""),
    (K.NAME, None, None),
    # Addresses keep 6 characters (half of a short one) and always end in exactly '****'.
    (K.ADDRESS, "青海省西宁市城中区南大街1号", "青海省西宁市****"),
    (K.ADDRESS, "青海省西宁市", "青海省****"),
    (K.ADDRESS, "西宁市城中区区", "西宁市城中区****"),
    (K.ADDRESS, "城中区", "城****"),
    (K.ADDRESS, "某", "****"),
    (K.ADDRESS, "", "****"),
    (K.ADDRESS, None, None),
    # Bank cards keep 6 + 4; shorter values keep the last 4.
    (K.BANK_CARD, "6222021234567890", "622202******7890"),
    (K.BANK_CARD, "6222021234567890123", "622202*********0123"),
    (K.BANK_CARD, "1234567890", "******7890"),
    (K.BANK_CARD, "123", "***"),
    (K.BANK_CARD, None, None),
    # E-mail keeps the first character of the local part and the domain after the last '@'.
    (K.EMAIL, "zhangsan@example.gov.cn", "z***@example.gov.cn"),
    (K.EMAIL, "a@b.cn", "a***@b.cn"),
    (K.EMAIL, "@b.cn", "***@b.cn"),
    (K.EMAIL, '"a@b"@c.cn', '"***@c.cn'),
    (K.EMAIL, "张三@政务.中国", "张***@政务.中国"),
    (K.EMAIL, "not-an-email", "n**********l"),
    (K.EMAIL, None, None),
    # Generic keeps the first and last character from 3 characters on.
    (K.GENERIC, "abc", "a*c"),
    (K.GENERIC, "统一社会信用代码", "统******码"),
    (K.GENERIC, "ab", "**"),
    (K.GENERIC, "a", "*"),
    (K.GENERIC, "", ""),
    (K.GENERIC, "😀x😀", "😀*😀"),
    (K.GENERIC, None, None),
]

# Length is kept by these kinds; ADDRESS and EMAIL deliberately hide it.
LENGTH_KEEPING = [K.RESIDENT_ID, K.PHONE, K.NAME, K.BANK_CARD, K.GENERIC]


@pytest.mark.parametrize(("kind", "value", "expected"), VECTORS)
def test_vectors(kind: MaskKind, value: str | None, expected: str | None) -> None:
    assert mask_value(kind, value) == expected
    assert mask_value(kind.value, value) == expected
    assert mask_array(kind, pa.array([value], pa.string())).to_pylist() == [expected]


def test_vectors_as_one_column_per_kind() -> None:
    for kind in MaskKind:
        values = [value for k, value, _ in VECTORS if k is kind]
        expected = [masked for k, _, masked in VECTORS if k is kind]
        assert mask_array(kind, pa.array(values, pa.string())).to_pylist() == expected


def test_non_string_values_are_masked_as_text() -> None:
    assert mask_value(K.PHONE, 13812345678) == "138****5678"
    assert mask_array(K.PHONE, pa.array([13812345678, None])).to_pylist() == ["138****5678", None]
    result = mask_array(K.GENERIC, pa.array([12345, None], pa.int64()))
    assert result.type == pa.string()
    assert result.to_pylist() == ["1***5", None]


def test_string_types_are_kept_and_chunks_survive() -> None:
    large = mask_array(K.NAME, pa.array(["王芳", None], pa.large_string()))
    assert large.type == pa.large_string()
    assert large.to_pylist() == ["王*", None]
    chunked = pa.chunked_array([["李小明"], [], [None, "欧阳娜娜"]], pa.string())
    masked = mask_array(K.NAME, chunked)
    assert isinstance(masked, pa.ChunkedArray)
    assert masked.to_pylist() == ["李**", None, "欧***"]
    empty = mask_array(K.EMAIL, pa.chunked_array([], pa.string()))
    assert len(empty) == 0
    dictionary = mask_array(K.NAME, pa.array(["王芳", "王芳"]).dictionary_encode())
    assert dictionary.type == pa.string()
    assert dictionary.to_pylist() == ["王*", "王*"]


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        mask_value("pinyin", "x")
    assert caught.value.code == "sharing_mask_invalid"
    with pytest.raises(InvalidInput):
        mask_array(CLEAR, pa.array(["x"]))


# Chinese, emoji, '@' (for EMAIL) and '*' (so a mask can't pass by coincidence) turn up often;
# surrogates can't be UTF-8 and so can't be in an Arrow string.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("@*王欧阳娜青海省😀👩‍👩‍👧 \n0123456789X"),
        st.characters(codec="utf-8"),
    ),
    max_size=24,
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), max_size=8))
def test_array_agrees_with_value(values: list[str | None]) -> None:
    for kind in MaskKind:
        expected = [mask_value(kind, value) for value in values]
        assert mask_array(kind, pa.array(values, pa.string())).to_pylist() == expected
        large = mask_array(kind, pa.array(values, pa.large_string()))
        assert large.to_pylist() == expected
        chunked = pa.chunked_array([values[:2], values[2:]], pa.string())
        assert mask_array(kind, chunked).to_pylist() == expected


@settings(max_examples=200, deadline=None)
@given(value=TEXT)
def test_lengths_kept_where_stated(value: str) -> None:
    for kind in LENGTH_KEEPING:
        masked = mask_value(kind, value)
        assert masked is not None
        assert len(masked) == len(value)
    address = mask_value(K.ADDRESS, value)
    assert address is not None
    assert address.endswith("****")


BIRTH = st.dates().map(lambda d: d.strftime("%Y%m%d")).filter(lambda s: len(s) == 8)


@settings(max_examples=200, deadline=None)
@given(
    area=st.text(alphabet="0123456789", min_size=6, max_size=6),
    birth=BIRTH,
    serial=st.text(alphabet="0123456789", min_size=3, max_size=3),
    check=st.sampled_from("0123456789X"),
)
def test_resident_id_never_shows_birth_date(area: str, birth: str, serial: str, check: str) -> None:
    resident_id = area + birth + serial + check
    masked = mask_value(K.RESIDENT_ID, resident_id)
    assert masked == area + "********" + serial + check
    assert birth not in masked
    column = mask_array(K.RESIDENT_ID, pa.array([resident_id])).to_pylist()
    assert column == [masked]


def _batch() -> pa.RecordBatch:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("xm", pa.string(), nullable=False),
            pa.field("sfzh", pa.large_string()),
            pa.field("sjhm", pa.int64()),
            pa.field("dz", pa.string(), metadata={b"comment": b"address"}),
        ],
        metadata={b"source": b"test"},
    )
    return pa.RecordBatch.from_pydict(
        {
            "id": [1, 2],
            "xm": ["李小明", "王"],
            "sfzh": ["63010219900307123X", None],
            "sjhm": [13812345678, None],
            "dz": ["青海省西宁市城中区南大街1号", None],
        },
        schema=schema,
    )


MASKS = {"xm": "name", "sfzh": "resident_id", "sjhm": "phone", "dz": CLEAR, "gone": "name"}


def test_mask_batch() -> None:
    batch = _batch()
    masked = mask_batch(batch, MASKS)
    assert masked.schema.names == batch.schema.names
    assert masked.schema.metadata == batch.schema.metadata
    # Unmasked and CLEAR fields come through identical, field and data.
    for name in ("id", "dz"):
        assert masked.schema.field(name) == batch.schema.field(name)
        assert masked.schema.field(name).metadata == batch.schema.field(name).metadata
        assert masked.column(name).equals(batch.column(name))
    assert masked.schema.field("xm") == pa.field("xm", pa.string(), nullable=False)
    assert masked.schema.field("sfzh").type == pa.large_string()
    assert masked.schema.field("sjhm") == pa.field("sjhm", pa.string(), nullable=True)
    assert masked.to_pydict() == {
        "id": [1, 2],
        "xm": ["李**", "*"],
        "sfzh": ["630102********123X", None],
        "sjhm": ["138****5678", None],
        "dz": ["青海省西宁市城中区南大街1号", None],
    }


def test_mask_table_matches_batch() -> None:
    batch = _batch()
    table = pa.Table.from_batches([batch, batch])
    masked = mask_table(table, MASKS)
    expected = mask_batch(batch, MASKS)
    assert masked.schema == expected.schema
    assert masked.to_pydict() == pa.Table.from_batches([expected, expected]).to_pydict()
    assert mask_table(table, {}).equals(table)


def test_mask_batch_rejects_unknown_kind() -> None:
    with pytest.raises(InvalidInput) as caught:
        mask_batch(_batch(), {"xm": "full"})
    assert caught.value.code == "sharing_mask_invalid"


@pytest.mark.parametrize(
    ("name", "name_en", "data_element", "expected"),
    [
        ("公民身份号码", None, "DE00001", K.RESIDENT_ID),
        ("号码", None, "de00001", K.RESIDENT_ID),
        ("身份证号", "sfzh", None, K.RESIDENT_ID),
        ("法定代表人证件号码", None, None, K.RESIDENT_ID),
        ("证件", "IdCardNo", None, K.RESIDENT_ID),
        ("编号", "resident_id", None, K.RESIDENT_ID),
        ("手机号码", None, None, K.PHONE),
        ("联系人电话", "contact_tel", None, K.PHONE),
        ("联系方式", None, None, K.PHONE),
        ("号码", "mobile_phone", None, K.PHONE),
        ("号码", "telephone", None, K.PHONE),
        ("姓名", "name", None, K.NAME),
        ("联系人", None, None, K.NAME),
        ("法定代表人", "legal_rep_name", None, K.NAME),
        ("人员", "person_name", None, K.NAME),
        ("人员", "personName", None, K.NAME),
        ("户籍地址", None, None, K.ADDRESS),
        ("住址", "home_addr", None, K.ADDRESS),
        ("居住地", None, None, K.ADDRESS),
        ("银行卡号", None, None, K.BANK_CARD),
        ("银行账号", "account_no", None, K.BANK_CARD),
        ("卡", "bank_card", None, K.BANK_CARD),
        ("电子邮件地址", "email_address", None, K.EMAIL),
        ("邮箱", None, None, K.EMAIL),
        ("联系", "e_mail", None, K.EMAIL),
        # Organisation and other thing names are not personal names.
        ("单位名称", None, None, None),
        ("企业名称", "company_name", None, None),
        ("机构名称", "org_name", None, None),
        ("部门名称", "dept_name", None, None),
        ("名称", "name", None, None),
        ("文件", "file_name", None, None),
        ("表", "table_name", None, None),
        ("简称", "company_short_name", None, None),
        # Neither are these, despite sharing letters with a keyword.
        ("酒店", "hotel", None, None),
        ("名字英文", "name_en", None, None),
        ("标识", "id", None, None),
        ("统一社会信用代码", "uscc", "DE00002", None),
        ("", None, None, None),
    ],
)
def test_detect_kind(
    name: str, name_en: str | None, data_element: str | None, expected: MaskKind | None
) -> None:
    assert detect_kind(name, name_en, data_element) is expected


def test_validate_masks_returns_a_plain_copy() -> None:
    masks = {"xm": K.NAME, "sfzh": "resident_id", "dz": CLEAR}
    checked = validate_masks(masks, ["xm", "sfzh", "dz", "id"])
    assert checked == {"xm": "name", "sfzh": "resident_id", "dz": "clear"}
    assert type(checked) is dict
    assert all(type(value) is str for value in checked.values())
    assert checked is not masks
    assert validate_masks({}, []) == {}


@pytest.mark.parametrize(
    ("masks", "named", "details"),
    [
        ({"gone": "name"}, "gone", {"unknown_fields": ["gone"], "invalid_masks": {}}),
        ({"xm": "pinyin"}, "pinyin", {"unknown_fields": [], "invalid_masks": {"xm": "pinyin"}}),
        ({"xm": "Name"}, "Name", {"unknown_fields": [], "invalid_masks": {"xm": "Name"}}),
        ({"xm": 3}, "3", {"unknown_fields": [], "invalid_masks": {"xm": "3"}}),
    ],
)
def test_validate_masks_errors(
    masks: dict[str, Any], named: str, details: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_masks(masks, ["xm", "sfzh"])
    error = caught.value
    assert error.code == "sharing_mask_invalid"
    assert error.status == 422
    assert named in error.message_zh
    assert named in error.message_en
    assert {key: error.details[key] for key in details} == details
    assert CLEAR in error.details["allowed"]
