"""How a value goes wrong in the demo's sources: the defective forms of resident IDs,
credit codes, mobile numbers and names that ``govdata.demo.defects`` injects.

Each function takes the plan's random stream and a valid value and returns a value the
matching validator (``govdata.governance.validators``) rejects — except names, which stay
names: another office's spelling of the same person.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable

from govdata.demo import names
from govdata.governance import validators
from govdata.standards.resident_id import compute_check

_NAME_FORMS = names.WeightedPicker(
    (("homophone", 40), ("stray_space", 25), ("swapped", 20), ("full_width", 15))
)
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_AREA_CODES = ("0971", "0972", "0973", "0974", "0975", "0976", "0977", "0979")
_IMPOSSIBLE_DAYS = ("0230", "0431", "0631", "0931", "1131", "1301", "1232", "0015")


def bad_check_digit(rng: random.Random, number: str) -> str:
    right = number[17].upper()
    return number[:17] + rng.choice([c for c in "0123456789X" if c != right])


def legacy_15(rng: random.Random, number: str) -> str:
    """The 1984 scheme's number: no century, no check character."""
    return number[:6] + number[8:17]


def bad_birth_date(rng: random.Random, number: str) -> str:
    year = int(number[6:10])
    days = [*_IMPOSSIBLE_DAYS, *(() if calendar.isleap(year) else ("0229",))]
    first17 = number[:10] + str(rng.choice(days)) + number[14:17]
    return first17 + compute_check(first17)


def _registration_check(digits: str) -> str:
    """ISO 7064 MOD 11,10: the check digit of a 15-digit business registration number."""
    p = 10
    for ch in digits:
        s = (p + int(ch)) % 10 or 10
        p = (s * 2) % 11
    return str((11 - p) % 10)


def bad_credit_code(rng: random.Random, code: str) -> str:
    roll = rng.random()
    if roll < 0.4:
        return code[:17] + rng.choice([c for c in validators._CC_ALPHABET if c != code[17]])
    if roll < 0.7 and "0" in code[8:17]:
        at = code.index("0", 8)
        return code[:at] + "O" + code[at + 1 :]
    body = code[2:8] + f"{int(rng.random() * 100_000_000):08d}"
    return body + _registration_check(body)


def invalid_mobile(rng: random.Random, phone: str) -> str:
    form = rng.randrange(7)
    if form == 0:
        at = rng.randrange(3, 11)
        return phone[:at] + phone[at + 1 :]
    if form == 1:
        return phone + str(rng.randrange(10))
    if form == 2:
        return f"{rng.choice(_AREA_CODES)}-{rng.randrange(6_100_000, 8_900_000)}"
    if form == 3:
        return phone.translate(_FULL_WIDTH)
    if form == 4:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if form == 5:
        return "+86" + phone
    return "12" + phone[2:]


def _split_at(name: str, surnamed: bool) -> int:
    """Where a space falls inside a name: after the surname, or between name elements."""
    if surnamed:
        return 1
    return 2 if len(name) >= 4 else max(len(name) // 2, 1)


def name_variant(rng: random.Random, name: str, surnamed: bool) -> tuple[str, str] | None:
    """(the name as another office wrote it, the form of the difference), or None for a
    one-character name no other character is written for.

    Spaces go inside the name (``张 伟``, ``扎西　才让``), never at its ends: comparisons
    trim the ends, and a padded name is the same name.
    """
    forms = [_NAME_FORMS.pick(rng), "homophone", "swapped", "stray_space"]
    at = _split_at(name, surnamed)
    for form in forms:
        if form == "homophone":
            other = names.variant(rng, name)
        elif form == "swapped":
            given = name[1:] if surnamed else name
            if surnamed and len(given) == 2 and given[0] != given[1]:
                other = name[0] + given[::-1]
            elif not surnamed and len(name) == 4 and name[:2] != name[2:]:
                other = name[2:] + name[:2]
            else:
                continue
        elif len(name) < 2:
            continue
        else:
            space = "\u3000" if form == "full_width" else " "
            other = name[:at] + space + name[at:]
        if other != name:
            return other, form
    return None


VALUE_MAKERS: dict[str, Callable[[random.Random, str], str]] = {
    "bad_check_digit": bad_check_digit,
    "legacy_15": legacy_15,
    "bad_birth_date": bad_birth_date,
    "bad_credit_code": bad_credit_code,
    "invalid_mobile": invalid_mobile,
}
STILL_VALID: dict[str, Callable[[object], bool]] = {
    "bad_check_digit": validators.resident_id,
    "legacy_15": validators.resident_id,
    "bad_birth_date": validators.resident_id,
    "bad_credit_code": validators.credit_code,
    "invalid_mobile": validators.mobile,
}
