"""Cell values Excel can hold: text stripped of the control characters a workbook rejects.

Names and labels come from people and other systems, and a stray control character (pasted
from a terminal, a legacy export) must not turn an export into a 500.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def cell_safe(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
