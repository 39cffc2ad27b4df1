"""The platform's own source, parsed once per test run for the tests that read it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "govdata"


@dataclass(frozen=True)
class Module:
    path: str  # relative to src/govdata, with forward slashes
    source: str
    tree: ast.Module


@cache
def modules() -> tuple[Module, ...]:
    found = []
    for file in sorted(SRC.rglob("*.py")):
        source = file.read_text(encoding="utf-8")
        found.append(Module(file.relative_to(SRC).as_posix(), source, ast.parse(source)))
    return tuple(found)
