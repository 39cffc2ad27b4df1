"""GB 32100 credit codes and GB 11643 resident IDs: published vectors, and properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govdata.core.errors import InvalidInput
from govdata.standards import resident_id, uscc

# Codes printed on real public registrations.
VALID_USCC = ["91350100M000100Y43", "11100000000013127D", "91110000802100433B"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert uscc.is_valid(code)
    assert uscc.validate(code.lower()) == code


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y44", "check"),  # last character changed
        ("91350100M000100Y4", "shape"),  # 17 characters
        ("91350100M000100I43", "shape"),  # I is not in the alphabet
        ("91350100M000100Z43", "shape"),
    ],
)
def test_bad_credit_codes_name_the_problem(code: str, problem: str) -> None:
    assert problem in uscc.problems(code)
    with pytest.raises(InvalidInput) as err:
        uscc.validate(code)
    assert err.value.code == "invalid_uscc"
    assert "GB 32100" in err.value.message_zh


body = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)


@given(body=body, pos=st.integers(0, 17), repl=st.sampled_from(uscc.ALPHABET))
def test_made_codes_validate_and_single_changes_are_caught(body: str, pos: int, repl: str) -> None:
    code = uscc.make("1", "1", "630000", body)
    assert uscc.is_valid(code)
    changed = code[:pos] + repl + code[pos + 1 :]
    if changed != code and pos != 16:
        # Position 16 is the organisation code's own check; 17 the overall check.
        assert not uscc.is_valid(changed)


def test_org_check_maps_ten_and_eleven() -> None:
    # 11 - (sum mod 11) gives 10 → "X" and 11 → "0".
    seen = {uscc.compute_org_check(f"{n:08d}") for n in range(0, 2000)}
    assert "X" in seen and "0" in seen


def test_published_resident_id_vector() -> None:
    # The example number in GB 11643-1999 itself.
    assert resident_id.is_valid("11010519491231002X")
    assert resident_id.birth_date("11010519491231002X") == date(1949, 12, 31)
    assert not resident_id.is_male("11010519491231002X")


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "check"),
        ("110105194913310028", "birth_date"),
        ("11010519491231002", "shape"),
        ("1101051949123100XX", "shape"),
    ],
)
def test_bad_resident_ids(number: str, problem: str) -> None:
    assert problem in resident_id.problems(number)
    with pytest.raises(InvalidInput) as err:
        resident_id.validate(number)
    assert err.value.code == "invalid_resident_id"


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    seq=st.integers(0, 999),
    division=st.sampled_from(["630102", "632801", "632121", "630122"]),
)
def test_made_resident_ids_round_trip(born: date, seq: int, division: str) -> None:
    number = resident_id.make(division, born, seq)
    assert resident_id.is_valid(number)
    assert resident_id.birth_date(number) == born
    assert resident_id.is_male(number) == (seq % 2 == 1)


def test_org_check_values_letters_per_gb_11714() -> None:
    # M is 22 in GB 11714 (A=10 … Z=35); the credit-code alphabet would make it 21.
    # 22*3 = 66 → 66 mod 11 = 0 → check 11 → "0"; with 21 it would be 63 → "3".
    assert uscc.compute_org_check("M0000000") == "0"
