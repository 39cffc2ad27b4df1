"""Input and output shapes of cross-source checks (多源校核) and authoritative sources."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FieldKind(StrEnum):
    """How a field's values are normalised before they are compared (and masked)."""

    NAME = "name"  # a person's name: no white space, one kind of middle dot
    ID = "id"  # an identifier: no white space, upper case
    GENDER = "gender"  # 1/男/M and 2/女/F
    DATE = "date"  # YYYY-MM-DD from the usual spellings
    ADDRESS = "address"  # no white space
    TEXT = "text"  # white space runs as one space, trimmed, upper case
    CODE = "code"  # a code value: no white space, upper case


KIND_LABELS: dict[str, tuple[str, str]] = {
    FieldKind.NAME: ("姓名", "Name"),
    FieldKind.ID: ("标识号码", "Identifier"),
    FieldKind.GENDER: ("性别", "Gender"),
    FieldKind.DATE: ("日期", "Date"),
    FieldKind.ADDRESS: ("地址", "Address"),
    FieldKind.TEXT: ("文本", "Text"),
    FieldKind.CODE: ("代码", "Code"),
}


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


RUN_LABELS: dict[str, tuple[str, str]] = {
    RunStatus.QUEUED: ("排队中", "Queued"),
    RunStatus.RUNNING: ("运行中", "Running"),
    RunStatus.SUCCEEDED: ("已完成", "Succeeded"),
    RunStatus.FAILED: ("失败", "Failed"),
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectField(_In):
    code: str = Field(description="field code, lower case: name, birth_date, ...")
    label: str = Field(min_length=1, max_length=64)
    kind: FieldKind

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        v = v.strip()
        if not CODE_RE.match(v):
            raise ValueError("lower-case letters, digits and _; starts with a letter")
        return v


def check_fields(fields: list[SubjectField], key_field: str) -> None:
    codes = [f.code for f in fields]
    if len(set(codes)) != len(codes):
        raise ValueError("field codes must be unique")
    if key_field not in codes:
        raise ValueError("the key field must be one of the fields")
    if len(fields) < 2:
        raise ValueError("a subject needs its key and at least one field to compare")


class SubjectIn(_In):
    code: str = Field(description="subject code, lower case: population, legal_entity, ...")
    name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=2000)
    key_field: str
    fields: list[SubjectField] = Field(min_length=2, max_length=64)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        v = v.strip()
        if not CODE_RE.match(v):
            raise ValueError("lower-case letters, digits and _; starts with a letter")
        return v

    @model_validator(mode="after")
    def _fields(self) -> SubjectIn:
        check_fields(self.fields, self.key_field)
        return self


class SubjectUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=2000)
    key_field: str | None = None
    fields: list[SubjectField] | None = Field(default=None, min_length=2, max_length=64)


class SourceIn(_In):
    entry: str = Field(description="catalog entry id or resource code (with a lake table)")
    label: str = Field(min_length=1, max_length=64, description="short name: 户籍, 社保 ...")
    mapping: dict[str, str] = Field(
        description="subject field code -> lake column; the key field is required"
    )


class SourceUpdate(_In):
    label: str | None = Field(default=None, min_length=1, max_length=64)
    mapping: dict[str, str] | None = None


class AuthorityIn(_In):
    sources: list[str] = Field(
        max_length=64,
        description="source ids in order: the first is authoritative, the rest the fallback",
    )


class FieldOut(BaseModel):
    code: str
    label: str
    kind: str
    kind_label: str


class SourceOut(BaseModel):
    id: str
    subject_id: str
    entry_id: str
    resource_code: str
    entry_name: str
    department_id: str
    department_name: str | None
    label: str
    mapping: dict[str, str]
    lake_table: str | None
    created_at: datetime


class AuthorityOut(BaseModel):
    field: str
    # Source ids, authority first; the operator's order, then the sources they did not
    # place (in the order they were added).
    order: list[str]
    ranked: int = Field(description="how many of ``order`` the operator placed")


class SubjectOut(BaseModel):
    id: str
    code: str
    name: str
    description: str | None
    key_field: str
    fields: list[FieldOut]
    builtin: bool
    sources: list[SourceOut] = Field(default_factory=list)
    authority: list[AuthorityOut] = Field(default_factory=list)
    last_run: RunOut | None = None


class AgreementOut(BaseModel):
    field: str
    field_label: str
    source_a: str | None
    source_b: str | None
    compared: int
    agreed: int
    conflicts: int
    rate: float | None = Field(description="agreed / compared; null when nothing compared")


class RunOut(BaseModel):
    id: str
    subject_id: str
    subject_code: str
    status: str
    status_label: str
    job_id: str | None
    requested_by_name: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    sources: list[dict[str, Any]]
    authority: dict[str, Any]
    key_count: int
    shared_keys: int
    conflict_count: int
    conflicts_stored: int
    error: str | None
    agreements: list[AgreementOut] = Field(default_factory=list)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = None


class ConflictValueOut(BaseModel):
    source_id: str
    label: str
    value: str | None
    masked: bool
    winner: bool


class ConflictOut(BaseModel):
    id: str
    key: str
    key_masked: bool
    field: str
    field_label: str
    values: list[ConflictValueOut]
    winner_source_id: str | None


class ConflictPage(BaseModel):
    items: list[ConflictOut]
    total: int = Field(description="stored conflicts matching the filters")
    page: int
    pages: int
    size: int
    capped: bool = Field(description="the run found more conflicts than it stored")


SubjectOut.model_rebuild()
