"""Identifier validators: one plain function per identifier, ``value -> bool``, never raising.

- ``resident_id``: 公民身份号码, GB 11643-1999. Eighteen characters: a six-digit address
  code whose first two digits name a province-level division, an eight-digit birth date
  (a real calendar day, not in the future, not before 1800), a three-digit sequence, and
  the ISO 7064 MOD 11-2 check character (``X`` for 10; a lower-case ``x`` is accepted and
  ``normalise_resident_id`` upper-cases it). Fifteen-digit numbers of the 1984 scheme are
  not valid 18-digit numbers.
- ``credit_code``: 统一社会信用代码, GB 32100-2015. Eighteen characters over the 31-character
  set ``0-9 A-H J-N P-R T-U W-Y``, the last a weighted MOD 31 check over the first 17;
  positions 9–17 are the GB 11714 organisation code, whose ninth character is its own
  MOD 11 check (``X`` for 10). Any character of the set may open the code, including the
  registration-authority letters A, N and Y (python-stdnum rejects those).
- ``mobile``: a mainland mobile number, eleven digits ``1[3-9]xxxxxxxxx``.
- ``bank_card``: 16 to 19 digits passing the Luhn check (ISO/IEC 7812).
- ``email``: a dot-atom address ``local@domain`` (RFC 5322 without quoted local parts, ASCII).

Values are judged exactly as given: surrounding spaces, full-width digits or a ``+86``
prefix make a value invalid (cleaning data is not a validator's job). Anything but a
``str`` is invalid.
"""

from __future__ import annotations

import re
from datetime import date

from govdata.core.clock import DISPLAY_TZ, now
from govdata.core.errors import InvalidInput

__all__ = [
    "PROVINCE_CODES",
    "bank_card",
    "credit_code",
    "email",
    "luhn",
    "mobile",
    "normalise_resident_id",
    "resident_id",
    "resident_id_check",
]

# GB/T 2260 province-level divisions (first two digits of an address code), with 71/81/82
# (Taiwan, Hong Kong, Macao) and 83 (residence permits of Taiwan residents).
PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
        *("71", "81", "82", "83"),
    }
)
EARLIEST_BIRTH = date(1800, 1, 1)

# GB 11643: the weight of position i (counted from the right, the check character is 1)
# is 2^(i-1) mod 11; the check character makes the weighted sum ≡ 1 (mod 11).
_ID_WEIGHTS = tuple(pow(2, 17 - j, 11) for j in range(17))
_ID_CHECKS = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")

# GB 32100: the 31 characters and their values 0–30, weights 3^(i-1) mod 31.
_CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_VALUE = {c: i for i, c in enumerate(_CC_ALPHABET)}
_CC_WEIGHTS = tuple(pow(3, j, 31) for j in range(17))
_CC_SHAPE = re.compile(f"[{_CC_ALPHABET}]{{18}}")
# GB 11714: weights of the organisation code body; letters count 10–35 (A=10 … Z=35).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_CARD = re.compile(r"[0-9]{16,19}")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))"
)


# -- resident identity numbers --------------------------------------------------------------


def resident_id_check(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECKS[total % 11]


def _birth_date(number: str) -> date | None:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if born < EARLIEST_BIRTH or born > now().astimezone(DISPLAY_TZ).date():
        return None
    return born


def resident_id(value: object) -> bool:
    """True for an 18-character resident identity number that is valid by GB 11643."""
    if not isinstance(value, str) or not _ID_SHAPE.fullmatch(value):
        return False
    if value[:2] not in PROVINCE_CODES or _birth_date(value) is None:
        return False
    return resident_id_check(value[:17]) == value[17].upper()


def normalise_resident_id(value: str) -> str:
    """A valid resident identity number in its stored form (check character ``X`` upper-case).

    Raises ``InvalidInput`` (``invalid_resident_id``) for anything ``resident_id`` rejects.
    """
    if not resident_id(value):
        raise InvalidInput(
            f"公民身份号码“{value}”不符合 GB 11643 规则",
            f"Resident ID {value!r} is not valid by GB 11643",
            code="invalid_resident_id",
            details={"value": str(value)},
        )
    return value.upper()


# -- unified social credit codes ------------------------------------------------------------


def _credit_check(first17: str) -> str:
    total = sum(_CC_VALUE[c] * w for c, w in zip(first17, _CC_WEIGHTS, strict=True))
    return _CC_ALPHABET[(31 - total % 31) % 31]


def _org_check(body: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def credit_code(value: object) -> bool:
    """True for a unified social credit code valid by GB 32100, including the GB 11714
    check of the organisation code it embeds (positions 9–17)."""
    if not isinstance(value, str) or not _CC_SHAPE.fullmatch(value):
        return False
    if _credit_check(value[:17]) != value[17]:
        return False
    return _org_check(value[8:16]) == value[16]


# -- mobile numbers, bank cards, e-mail -----------------------------------------------------


def mobile(value: object) -> bool:
    """True for a mainland mobile number: eleven digits, ``1`` then ``3``–``9``."""
    return isinstance(value, str) and _MOBILE.fullmatch(value) is not None


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def bank_card(value: object) -> bool:
    """True for a bank card number: 16 to 19 digits passing the Luhn check."""
    return isinstance(value, str) and _CARD.fullmatch(value) is not None and luhn(value)


def email(value: object) -> bool:
    """True for an ASCII e-mail address ``local@domain`` (dot-atom local part of at most 64
    characters, a domain of at least two labels ending in an alphabetic or IDNA top label,
    254 characters in all)."""
    if not isinstance(value, str) or len(value) > 254:
        return False
    match = _EMAIL.fullmatch(value)
    return match is not None and len(match.group("local")) <= 64
