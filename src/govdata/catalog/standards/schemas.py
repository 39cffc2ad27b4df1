"""Input and output shapes of the standards registry and of its import reports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from govdata.catalog.vocab import DataType

ElementStatus = Literal["draft", "current", "retired"]
CodeSetStatus = Literal["current", "retired"]
StandardKind = Literal["data_elements", "code_sets"]
ExportFormat = Literal["json", "xlsx"]

# Identifiers appear in URLs and files; code-set identifiers are standard numbers
# such as ``GB/T 2261.1-2003``, so a slash and a space are allowed there.
ELEMENT_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE_SET_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9 ./_-]{0,63}$"
NAME_EN = r"^[A-Za-z][A-Za-z0-9_]{0,127}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Data elements -----------------------------------------------------------------------------


class DataElementFields(_In):
    """What an update of a data element may change (everything but its identifier)."""

    name: str = Field(min_length=1, max_length=128)
    name_en: str | None = Field(default=None, pattern=NAME_EN)
    definition: str = Field(default="", max_length=4000)
    data_type: DataType
    format: str | None = Field(default=None, max_length=64)
    max_length: int | None = Field(default=None, ge=1, le=1_000_000)
    value_domain: str | None = Field(default=None, max_length=4000)
    code_set: str | None = Field(default=None, max_length=64, description="code set identifier")
    unit: str | None = Field(default=None, max_length=32)
    version: str = Field(default="1.0", min_length=1, max_length=32)
    status: ElementStatus = "current"


class DataElementIn(DataElementFields):
    identifier: str = Field(pattern=ELEMENT_IDENTIFIER, examples=["DE00001"])


class DataElementOut(_Out):
    id: str
    identifier: str
    name: str
    name_en: str | None
    definition: str
    data_type: str
    format: str | None
    max_length: int | None
    value_domain: str | None
    code_set: str | None
    code_set_name: str | None
    unit: str | None
    version: str
    status: str
    created_at: datetime
    updated_at: datetime


class DataElementPage(BaseModel):
    items: list[DataElementOut]
    total: int
    next_cursor: str | None


# Code sets ---------------------------------------------------------------------------------


class CodeValueIn(_In):
    code: str = Field(min_length=1, max_length=32)
    label: str = Field(min_length=1, max_length=128)
    label_en: str | None = Field(default=None, max_length=128)
    parent_code: str | None = Field(default=None, max_length=32)


class CodeValueOut(_Out):
    code: str
    label: str
    label_en: str | None
    parent_code: str | None
    position: int


class CodeSetFields(_In):
    """What an update of a code set may change; ``values`` replaces the whole list, in order."""

    name: str = Field(min_length=1, max_length=128)
    name_en: str | None = Field(default=None, max_length=128)
    standard: str | None = Field(default=None, max_length=128)
    version: str = Field(default="1.0", min_length=1, max_length=32)
    status: CodeSetStatus = "current"
    description: str | None = Field(default=None, max_length=4000)
    values: list[CodeValueIn] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _values_consistent(self) -> CodeSetFields:
        codes = [v.code for v in self.values]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate codes: {', '.join(dupes)}")
        known = set(codes)
        orphans = sorted({v.parent_code for v in self.values if v.parent_code} - known)
        if orphans:
            raise ValueError(f"unknown parent codes: {', '.join(orphans)}")
        return self


class CodeSetIn(CodeSetFields):
    identifier: str = Field(pattern=CODE_SET_IDENTIFIER, examples=["GB/T 2261.1-2003"])


class CodeSetSummary(_Out):
    id: str
    identifier: str
    name: str
    name_en: str | None
    standard: str | None
    version: str
    status: str
    description: str | None
    value_count: int
    updated_at: datetime


class CodeSetOut(CodeSetSummary):
    values: list[CodeValueOut]


class CodeSetPage(BaseModel):
    items: list[CodeSetSummary]
    total: int
    next_cursor: str | None


# Import and export -------------------------------------------------------------------------


class ImportRowError(BaseModel):
    """One problem in an imported file. ``row`` is the spreadsheet row (the header is row 1)
    or the 1-based position in the JSON list; ``column`` is the header or field name."""

    sheet: str | None = None
    row: int
    column: str | None
    code: str
    message: str
    message_en: str


class ImportReport(BaseModel):
    kind: StandardKind
    format: ExportFormat
    created: list[str]
    updated: list[str]
    unchanged: list[str]


class ExportFile(BaseModel):
    filename: str
    media_type: str
    content: bytes
