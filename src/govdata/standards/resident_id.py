"""Resident identity number (公民身份号码), GB 11643-1999, ISO 7064 MOD 11-2.

Six-digit address code (GB/T 2260, in force at registration), eight-digit
birth date, three-digit sequence (odd for men, even for women), check character.
"""

from __future__ import annotations

import re
from datetime import date

from govdata.core.errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def compute_check(first17: str) -> str:
    return CHECKS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def problems(number: str) -> list[str]:
    if not _SHAPE.match(number):
        return ["shape"]
    found = []
    if birth_date(number) is None:
        found.append("birth_date")
    if compute_check(number[:17]) != number[17]:
        found.append("check")
    return found


def is_valid(number: str) -> bool:
    return not problems(number)


def validate(number: str) -> str:
    normalised = number.strip().upper()
    found = problems(normalised)
    if found:
        raise InvalidInput(
            f"公民身份号码“{number}”不符合 GB 11643 校验规则",
            f"Resident ID '{number}' fails the GB 11643 check",
            code="invalid_resident_id",
            details={"value": number, "problems": found},
        )
    return normalised


def make(division: str, born: date, sequence: int) -> str:
    """A valid number; ``sequence`` 0–999, odd for men and even for women."""
    first17 = f"{division}{born:%Y%m%d}{sequence:03d}"
    return first17 + compute_check(first17)


def is_male(number: str) -> bool:
    return int(number[16]) % 2 == 1
