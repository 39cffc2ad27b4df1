"""The identifier validators, against vectors whose check characters this file computes from
the standards' own tables (GB 11643, GB 32100, GB 11714, Luhn), and published examples."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import InvalidInput
from govdata.governance import validators as v

# GB 11643-1999 §5.2: weights of positions 18..2 and the check character per remainder.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}
# GB 32100-2015 table 1: the 31 characters (value = position) and the weights of positions 1–17.
CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997: weights of the 8-character body; letters A–Z count 10–35.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id_check(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def make_id(division: str, born: str, sequence: str = "123") -> str:
    first17 = division + born + sequence
    return first17 + id_check(first17)


def org_check(body: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    c9 = 11 - sum(x * w for x, w in zip(values, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def cc_check(first17: str) -> str:
    total = sum(CC_CHARS.index(c) * w for c, w in zip(first17, CC_WEIGHTS, strict=True))
    return CC_CHARS[(31 - total % 31) % 31]


def make_cc(authority: str, kind: str, division: str, body: str) -> str:
    first17 = authority + kind + division + body + org_check(body)
    return first17 + cc_check(first17)


def luhn_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # doubled: every second digit from the right of the full number
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


# -- resident identity numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example of GB 11643-1999
        "440524188001010014",  # the other example of GB 11643-1999 (born 1880)
        make_id("630102", "19900101"),
        make_id("632801", "20000229"),  # a leap day
        make_id("810000", "19970701"),  # Hong Kong residence permit
        make_id("650102", "19850615", "999"),
    ],
)
def test_valid_resident_ids(number: str) -> None:
    assert v.resident_id(number)
    assert v.normalise_resident_id(number) == number


def test_x_check_characters_in_either_case() -> None:
    # Find a number whose check character is X by the standard's table, not by the module.
    number = next(
        make_id("630102", "19900101", f"{n:03d}")
        for n in range(1000)
        if make_id("630102", "19900101", f"{n:03d}").endswith("X")
    )
    lower = number[:-1] + "x"
    assert v.resident_id(number)
    assert v.resident_id(lower)
    assert v.normalise_resident_id(lower) == number
    assert not v.resident_id(number[:-1] + "0")


def test_every_wrong_check_character_is_rejected() -> None:
    good = make_id("630102", "19900101")
    for char in "0123456789X":
        if char != good[-1]:
            assert not v.resident_id(good[:-1] + char)


TOMORROW = (now().astimezone(DISPLAY_TZ).date() + timedelta(days=1)).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("110105491231002", "15-digit legacy number"),
        (make_id("630102", "19990230"), "30 February"),
        (make_id("630102", "20010229"), "29 February of a common year"),
        (make_id("630102", "19001301"), "month 13"),
        (make_id("630102", "19900100"), "day 0"),
        (make_id("630102", TOMORROW), "born tomorrow"),
        (make_id("630102", "17991231"), "before 1800"),
        (make_id("000000", "19900101"), "no province 00"),
        (make_id("990000", "19900101"), "no province 99"),
        (make_id("100000", "19900101"), "no province 10"),
        ("11010519491231002", "17 characters"),
        ("11010519491231002X1", "19 characters"),
        (" 11010519491231002X", "leading space"),
        ("１１０１０５１９４９１２３１００２Ｘ", "full-width digits"),
        ("11010519491231002Y", "check character Y"),
        ("", "empty"),
    ],
)
def test_invalid_resident_ids(number: str, why: str) -> None:
    assert not v.resident_id(number), why


def test_non_strings_are_invalid() -> None:
    for value in (None, 110105194912310021, b"11010519491231002X", ["11010519491231002X"]):
        assert not v.resident_id(value)
        assert not v.credit_code(value)
        assert not v.mobile(value)
        assert not v.bank_card(value)
        assert not v.email(value)


def test_normalise_refuses_invalid_numbers() -> None:
    with pytest.raises(InvalidInput) as caught:
        v.normalise_resident_id("110105491231002")
    assert caught.value.code == "invalid_resident_id"


DIVISIONS = st.sampled_from(["110105", "310101", "440305", "630102", "632801", "820000"])
BIRTHDAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))


@settings(max_examples=150, deadline=None)
@given(DIVISIONS, BIRTHDAYS, st.integers(0, 999))
def test_exactly_one_check_character_is_accepted(division: str, born: date, seq: int) -> None:
    first17 = f"{division}{born:%Y%m%d}{seq:03d}"
    accepted = [c for c in "0123456789X" if v.resident_id(first17 + c)]
    assert accepted == [id_check(first17)]
    assert v.resident_id_check(first17) == id_check(first17)


# -- unified social credit codes -------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example of GB 32100-2015
        "9144030071526726XG",  # published codes of registered companies
        "91330100799655058B",
        make_cc("1", "1", "630000", "MB000001"),
        # Registration authorities named by letters: A (military), N (agriculture), Y (other).
        make_cc("A", "1", "110000", "MA00001K"),
        make_cc("N", "2", "630102", "MA0LYA3N"),
        make_cc("Y", "1", "632801", "MA7F2KQ8"),
        make_cc("5", "3", "630100", "50000000"),
    ],
)
def test_valid_credit_codes(code: str) -> None:
    assert v.credit_code(code)


def test_org_code_check_x() -> None:
    body = next(f"MA{n:06d}" for n in range(1000) if org_check(f"MA{n:06d}") == "X")
    code = make_cc("9", "1", "630100", body)
    assert code[16] == "X"
    assert v.credit_code(code)


def test_every_wrong_outer_check_is_rejected() -> None:
    good = make_cc("Y", "1", "632801", "MA7F2KQ8")
    for char in CC_CHARS:
        if char != good[-1]:
            assert not v.credit_code(good[:-1] + char)


def test_embedded_organisation_code_check_is_verified() -> None:
    good = make_cc("9", "1", "630100", "MA0000A1")
    # A wrong GB 11714 character, with the outer GB 32100 check recomputed to fit it.
    wrong_org = next(c for c in "0123456789X" if c != good[16])
    first17 = good[:16] + wrong_org
    code = first17 + cc_check(first17)
    assert not v.credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y4",  # 17 characters
        "91350100m000100y43",  # lower case
        "91350100M000100Y43 ",
        "9I350100M000100Y43",  # I is not in the set
        "91350100M0001OOY43",  # O is not in the set
        "S1350100M000100Y43",  # S is not in the set
        "",
    ],
)
def test_invalid_credit_codes(code: str) -> None:
    assert not v.credit_code(code)


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=CC_CHARS, min_size=2, max_size=2),
    st.sampled_from(["110000", "630100", "632801"]),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8),
)
def test_any_code_made_by_the_standard_is_valid(head: str, division: str, body: str) -> None:
    code = make_cc(head[0], head[1], division, body)
    assert v.credit_code(code)
    assert not v.credit_code(code[:17] + CC_CHARS[(CC_CHARS.index(code[17]) + 1) % 31])


# -- mobile, bank card, e-mail ---------------------------------------------------------------


@pytest.mark.parametrize("number", ["13800001111", "19912345678", "14700000000", "16600000001"])
def test_valid_mobiles(number: str) -> None:
    assert v.mobile(number)


@pytest.mark.parametrize(
    "number",
    [
        "12800001111",
        "10800001111",
        "1380000111",
        "138000011112",
        "+8613800001111",
        "138 0000 1111",
        "1380000111a",
        "",
    ],
)
def test_invalid_mobiles(number: str) -> None:
    assert not v.mobile(number)


@pytest.mark.parametrize("length", [16, 17, 18, 19])
def test_bank_cards_of_every_length(length: int) -> None:
    payload = ("6222021234567890123")[: length - 1]
    card = payload + luhn_digit(payload)
    assert v.bank_card(card)
    assert not v.bank_card(payload + str((int(card[-1]) + 1) % 10))


@pytest.mark.parametrize(
    "card",
    [
        "4111111111111111",  # a published test number
        "6228480402564890018",
    ],
)
def test_published_cards(card: str) -> None:
    assert v.bank_card(card)


@pytest.mark.parametrize(
    "card",
    [
        "411111111111111",  # 15 digits, Luhn-valid
        "62220212345678901234",  # 20 digits
        "4111 1111 1111 1111",
        "4111111111111112",
        "",
    ],
)
def test_invalid_cards(card: str) -> None:
    assert not v.bank_card(card)


@pytest.mark.parametrize(
    "address",
    [
        "a@b.cn",
        "first.last+tag@sub.example.com.cn",
        "user_01@gov.qh.cn",
        "x@gov.xn--fiqs8s",  # .中国
        "a" * 64 + "@example.com",
    ],
)
def test_valid_emails(address: str) -> None:
    assert v.email(address)


@pytest.mark.parametrize(
    "address",
    [
        "a..b@x.cn",
        ".a@x.cn",
        "a.@x.cn",
        "a@b",
        "a@-b.cn",
        "a@b-.cn",
        "a b@x.cn",
        "张三@x.cn",
        "a@@b.cn",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".cn",
        "",
    ],
)
def test_invalid_emails(address: str) -> None:
    assert not v.email(address)
