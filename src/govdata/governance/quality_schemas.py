"""Input and output shapes of quality rules, runs, results and scores."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RuleKind(StrEnum):
    NOT_NULL = "not_null"
    UNIQUE = "unique"
    PATTERN = "pattern"
    LENGTH = "length"
    RANGE = "range"
    ALLOWED = "allowed"
    DATE_VALID = "date_valid"
    RESIDENT_ID = "resident_id"
    CREDIT_CODE = "credit_code"
    MOBILE = "mobile"
    CUSTOM = "custom"
    # Against another entry's lake table.
    REFERENTIAL = "referential"
    CROSS_SOURCE = "cross_source"
    # Of the table as a whole.
    FRESHNESS = "freshness"
    ROW_COUNT = "row_count"


# Kinds with no field of their own: the custom predicate names its fields itself.
TABLE_KINDS = frozenset({RuleKind.CUSTOM, RuleKind.FRESHNESS, RuleKind.ROW_COUNT})


class Dimension(StrEnum):
    ACCURACY = "accuracy"
    COMPLETENESS = "completeness"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"
    UNIQUENESS = "uniqueness"
    VALIDITY = "validity"


DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    Dimension.ACCURACY: ("准确性", "Accuracy"),
    Dimension.COMPLETENESS: ("完整性", "Completeness"),
    Dimension.CONSISTENCY: ("一致性", "Consistency"),
    Dimension.TIMELINESS: ("及时性", "Timeliness"),
    Dimension.UNIQUENESS: ("唯一性", "Uniqueness"),
    Dimension.VALIDITY: ("规范性", "Validity"),
}

KIND_LABELS: dict[str, tuple[str, str]] = {
    RuleKind.NOT_NULL: ("非空", "Not null"),
    RuleKind.UNIQUE: ("唯一", "Unique"),
    RuleKind.PATTERN: ("格式（正则）", "Pattern"),
    RuleKind.LENGTH: ("长度", "Length"),
    RuleKind.RANGE: ("取值范围", "Range"),
    RuleKind.ALLOWED: ("代码值域", "Allowed values"),
    RuleKind.DATE_VALID: ("日期有效", "Valid date"),
    RuleKind.RESIDENT_ID: ("公民身份号码校验", "Resident ID (GB 11643)"),
    RuleKind.CREDIT_CODE: ("统一社会信用代码校验", "Credit code (GB 32100)"),
    RuleKind.MOBILE: ("手机号码", "Mobile number"),
    RuleKind.CUSTOM: ("自定义条件", "Custom condition"),
    RuleKind.REFERENTIAL: ("参照完整性", "Referential"),
    RuleKind.CROSS_SOURCE: ("跨源一致", "Cross-source consistency"),
    RuleKind.FRESHNESS: ("更新及时", "Freshness"),
    RuleKind.ROW_COUNT: ("记录数波动", "Row-count change"),
}

# The dimension a rule counts towards unless its author says otherwise.
DEFAULT_DIMENSION: dict[RuleKind, Dimension] = {
    RuleKind.NOT_NULL: Dimension.COMPLETENESS,
    RuleKind.ROW_COUNT: Dimension.COMPLETENESS,
    RuleKind.UNIQUE: Dimension.UNIQUENESS,
    RuleKind.PATTERN: Dimension.VALIDITY,
    RuleKind.LENGTH: Dimension.VALIDITY,
    RuleKind.ALLOWED: Dimension.VALIDITY,
    RuleKind.MOBILE: Dimension.VALIDITY,
    RuleKind.CUSTOM: Dimension.VALIDITY,
    RuleKind.DATE_VALID: Dimension.ACCURACY,
    RuleKind.RANGE: Dimension.ACCURACY,
    RuleKind.RESIDENT_ID: Dimension.ACCURACY,
    RuleKind.CREDIT_CODE: Dimension.ACCURACY,
    RuleKind.REFERENTIAL: Dimension.CONSISTENCY,
    RuleKind.CROSS_SOURCE: Dimension.CONSISTENCY,
    RuleKind.FRESHNESS: Dimension.TIMELINESS,
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_In):
    """A rule as its author writes it. ``params`` per kind:

    - ``pattern``: ``regex`` (matched in full); ``length``: ``min``, ``max``;
      ``range``: ``min``, ``max`` (numbers); ``allowed``: ``values`` (list of strings);
    - ``date_valid``: ``format`` (strptime, default ``%Y-%m-%d``), optional ``min``/``max``
      dates (ISO) for plausibility;
    - ``custom``: ``predicate``, a condition over the entry's fields (SQL expression);
    - ``referential``: ``entry`` (the other entry's resource code) and ``item`` (its item
      whose values must contain this field's values);
    - ``cross_source``: ``entry``, ``key`` (this entry's key item), ``other_key`` and
      ``other_item`` (the other entry's key and compared item);
    - ``freshness``: ``max_age_hours`` (default: from the entry's update cycle);
    - ``row_count``: ``max_change`` (a fraction: 0.5 fails a change of more than 50 %).
    """

    kind: RuleKind
    item: str | None = Field(default=None, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    dimension: Dimension | None = None
    severity: int = Field(default=3, ge=1, le=5)
    enabled: bool = True
    name: str | None = Field(default=None, max_length=255)


class RuleUpdate(_In):
    params: dict[str, Any] | None = None
    dimension: Dimension | None = None
    severity: int | None = Field(default=None, ge=1, le=5)
    enabled: bool | None = None
    name: str | None = Field(default=None, max_length=255)


class RuleOut(BaseModel):
    id: str
    entry_id: str
    item: str | None
    kind: str
    kind_label: str
    params: dict[str, Any]
    dimension: str
    dimension_label: str
    severity: int
    enabled: bool
    origin: str
    name: str
    created_at: datetime
    updated_at: datetime


class SuggestionOut(BaseModel):
    """A rule the platform proposes from an item's type and data element; ``exists`` when
    an equal rule is already attached."""

    rule: RuleIn
    reason: str
    exists: bool


class ResultOut(BaseModel):
    rule_id: str
    kind: str
    item: str | None
    name: str
    dimension: str
    severity: int
    checked: int
    failed: int
    pass_rate: float | None
    samples: list[dict[str, Any]]
    # Samples are rows: only those who may preview the provider's data see them.
    samples_withheld: bool = False
    error: str | None


class RunOut(BaseModel):
    id: str
    entry_id: str
    resource_code: str
    entry_name: str
    department_id: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    lake_table: str | None
    lake_version: int | None
    source_capped: bool
    rows_total: int | None
    score: float | None
    dimension_scores: dict[str, float]
    error_code: str | None
    error_message: str | None
    job_id: str | None
    results: list[ResultOut] = Field(default_factory=list)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class RunStarted(BaseModel):
    job_id: str
    entry_id: str


class ScoreRow(BaseModel):
    """The latest score of one entry, or the mean of the latest scores of a department's or
    region's entries."""

    key: str
    name: str
    entries: int
    score: float | None
    dimension_scores: dict[str, float]
    last_run_at: datetime | None


class TrendPoint(BaseModel):
    run_id: str
    at: datetime
    score: float | None
    dimension_scores: dict[str, float]
