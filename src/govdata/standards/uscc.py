"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters over ``0-9A-Z`` minus I, O, Z, S, V: registration authority (1),
organisation type (1), administrative division (6), GB 11714 organisation code
(9, with its own check character), and a check character over the first 17.
"""

from __future__ import annotations

import re

from govdata.core.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{18}}$")


def compute_check(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def _org_value(char: str) -> int:
    # GB 11714 values letters A-Z as 10-35 (its own table, not the credit-code alphabet).
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def compute_org_check(first8: str) -> str:
    """GB 11714 check character of the 9-character organisation code."""
    total = sum(_org_value(c) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def problems(code: str) -> list[str]:
    """What is wrong with ``code``; empty when it is valid."""
    if not _SHAPE.match(code):
        return ["shape"]
    found = []
    org = code[8:17]
    # The organisation code's first 8 positions use digits and capitals.
    if all(c in _VALUE for c in org[:8]) and compute_org_check(org[:8]) != org[8]:
        found.append("org_check")
    if compute_check(code[:17]) != code[17]:
        found.append("check")
    return found


def is_valid(code: str) -> bool:
    return not problems(code)


def validate(code: str) -> str:
    """Return the normalised code, or raise InvalidInput naming what is wrong."""
    normalised = code.strip().upper()
    found = problems(normalised)
    if found:
        raise InvalidInput(
            f"统一社会信用代码“{code}”不符合 GB 32100 校验规则",
            f"Unified social credit code '{code}' fails the GB 32100 check",
            code="invalid_uscc",
            details={"value": code, "problems": found},
        )
    return normalised


def make(authority: str, org_type: str, division: str, org_body: str) -> str:
    """Build a valid code from its parts; ``org_body`` is the 8-character organisation code body."""
    org = org_body + compute_org_check(org_body)
    first17 = authority + org_type + division + org
    return first17 + compute_check(first17)
