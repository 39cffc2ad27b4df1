"""Input and output shapes of the sharing domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from govdata.sharing.vocab import (
    ApplicationKind,
    ApplicationStatus,
    DeliveryMode,
    DemandAnswer,
    DemandStatus,
    HolidayKind,
    StepKind,
    SubscriptionMode,
    SubscriptionState,
)

MAX_VALID_DAYS = 3 * 366


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(min_length: int = 1, max_length: int = 2000) -> Any:
    return Field(min_length=min_length, max_length=max_length)


# -- policy and calendar ------------------------------------------------------------------


class PolicyOut(BaseModel):
    operator_compliance_check: bool
    compliance_days: int
    provider_days: int
    operator_days: int
    demand_days: int
    objection_days: int
    grade_chains: dict[str, list[StepKind]]
    updated_at: datetime
    updated_by: str | None


class PolicyUpdate(_In):
    """Fields to change; a field left out keeps its value."""

    operator_compliance_check: bool | None = None
    compliance_days: int | None = Field(default=None, ge=1, le=60)
    provider_days: int | None = Field(default=None, ge=1, le=60)
    operator_days: int | None = Field(default=None, ge=1, le=60)
    demand_days: int | None = Field(default=None, ge=1, le=60)
    objection_days: int | None = Field(default=None, ge=1, le=60)
    grade_chains: dict[str, list[StepKind]] | None = Field(
        default=None,
        description='extra steps per grade "1".."4" after the provider review, e.g. '
        '{"3": ["operator"]}; only "operator" may be listed',
    )


class HolidayIn(_In):
    day: date
    kind: HolidayKind
    name: str = Field(default="", max_length=64)


class HolidayOut(BaseModel):
    day: date
    kind: HolidayKind
    name: str


# -- demands ------------------------------------------------------------------------------


class DemandCreate(_In):
    title: str = _text(2, 255)
    description: str = _text(2, 4000)
    purpose: str = _text(2, 2000)
    items_wanted: list[str] = Field(default_factory=list, max_length=200)
    suggested_department_id: str | None = None


class DemandRoute(_In):
    provider_department_id: str


class DemandAnswerIn(_In):
    answer: DemandAnswer
    note: str | None = Field(default=None, max_length=4000)


class DemandFulfil(_In):
    entry_id: str = Field(description="the published entry (id or resource code) now holding it")


class ReasonIn(_In):
    reason: str = _text(2, 2000)


class DemandOut(BaseModel):
    id: str
    code: str
    title: str
    description: str
    purpose: str
    items_wanted: list[str]
    status: DemandStatus
    requester_department_id: str
    requester_department_name: str
    suggested_department_id: str | None
    provider_department_id: str | None
    provider_department_name: str | None
    routed_at: datetime | None
    due_at: datetime | None
    days_left: int | None
    overdue: bool
    escalated: bool
    answer: DemandAnswer | None
    answer_note: str | None
    answered_at: datetime | None
    answered_by_name: str | None
    entry_id: str | None
    entry_resource_code: str | None
    closed_reason: str | None
    created_by_name: str
    created_at: datetime


class DemandPage(BaseModel):
    items: list[DemandOut]
    next_cursor: str | None


# -- applications -------------------------------------------------------------------------


class ApplicationCreate(_In):
    entry: str = Field(description="the published entry: id or resource code")
    purpose: str = _text(4, 2000)
    scenario: str = Field(min_length=4, max_length=2000, description="应用场景")
    legal_basis: str = _text(2, 2000)
    items: list[str] = Field(min_length=1, max_length=500, description="item names wanted")
    row_filter: list[list[Any]] = Field(
        default_factory=list,
        max_length=20,
        description="row scope: [item, op, value] conditions, e.g. "
        '[["户籍地行政区划代码", "=", "630100"]]',
    )
    row_scope_note: str | None = Field(default=None, max_length=500)
    delivery_modes: list[DeliveryMode] = Field(min_length=1, max_length=3)
    valid_until: date
    contact_name: str = _text(2, 64)
    contact_phone: str = Field(min_length=5, max_length=32, pattern=r"^[0-9+\- ()]+$")
    clear_items: list[str] = Field(
        default_factory=list, max_length=100, description="items asked for unmasked"
    )

    @field_validator("items", "clear_items")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class RenewIn(_In):
    valid_until: date
    reason: str = _text(2, 2000)


class DecisionIn(_In):
    approve: bool
    comment: str | None = Field(default=None, max_length=2000)
    # Items the decider allows unmasked (at most what was asked for); None keeps the default.
    clear_items: list[str] | None = Field(default=None, max_length=100)


class ContestResolution(_In):
    uphold: bool = Field(description="true keeps the rejection; false grants as applied")
    comment: str = _text(2, 2000)


class ExemptionCreate(_In):
    entry: str
    consumer_department_id: str
    basis: str = _text(4, 2000)


class ExemptionOut(BaseModel):
    id: str
    entry_id: str
    consumer_department_id: str
    basis: str
    granted_by_name: str
    created_at: datetime
    revoked_at: datetime | None


class StepOut(BaseModel):
    position: int
    kind: StepKind
    label: str
    status: str
    status_label: str
    working_days: int
    opened_at: datetime | None
    due_at: datetime | None
    days_left: int | None
    overdue: bool
    escalated: bool
    decided_at: datetime | None
    decided_by_name: str | None
    automatic: bool
    comment: str | None


class ApplicationOut(BaseModel):
    id: str
    code: str
    kind: ApplicationKind
    entry_id: str
    resource_code: str
    entry_name: str
    share_type: str
    grade: int
    provider_department_id: str
    provider_department_name: str
    consumer_department_id: str
    consumer_department_name: str
    applicant_name: str
    purpose: str
    scenario: str
    legal_basis: str
    items: list[str]
    row_filter: list[list[Any]]
    row_scope_note: str | None
    delivery_modes: list[DeliveryMode]
    valid_until: date
    contact_name: str
    contact_phone: str
    clear_items: list[str]
    status: ApplicationStatus
    status_label: str
    current_step: StepKind | None
    due_at: datetime | None
    days_left: int | None
    overdue: bool
    reject_reason: str | None
    contest_reason: str | None
    contest_outcome: str | None
    renews_grant_id: str | None
    grant_id: str | None
    steps: list[StepOut]
    created_at: datetime
    decided_at: datetime | None


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    next_cursor: str | None


# -- grants -------------------------------------------------------------------------------


class GrantOut(BaseModel):
    id: str
    code: str
    application_id: str
    entry_id: str
    resource_code: str
    entry_name: str
    provider_department_id: str
    provider_department_name: str
    consumer_department_id: str
    consumer_department_name: str
    app_ids: list[str]
    items: list[str]
    row_filter: list[list[Any]]
    masks: dict[str, str]
    delivery_modes: list[DeliveryMode]
    purpose: str
    scenario: str
    expires_at: datetime
    status: str
    status_label: str
    revoked_at: datetime | None
    revoked_by_name: str | None
    revoke_reason: str | None
    renewed_at: datetime | None
    onward_transfer: str
    created_at: datetime


class GrantPage(BaseModel):
    items: list[GrantOut]
    next_cursor: str | None


class GrantField(BaseModel):
    """One granted item as the data-service API names it."""

    item: str
    field: str | None = Field(description="the API field; None while the item is unmapped")
    type: str | None
    mask: str = Field(description='the mask kind, or "clear"')


class GrantApps(_In):
    app_ids: list[str] = Field(max_length=50, description="empty: every app of the consumer")


class AppLimitIn(_In):
    per_minute: int = Field(ge=1, le=1_000_000)
    per_day: int = Field(ge=1, le=100_000_000)


class AppLimitOut(BaseModel):
    credential_id: str
    per_minute: int
    per_day: int
    used_this_minute: int
    used_today: int


# -- the data-service API ------------------------------------------------------------------


class DataPage(BaseModel):
    """Rows of a granted entry: only granted fields and rows, masked as the grant says."""

    resource_code: str
    grant_code: str
    purpose: str
    onward_transfer: str
    fields: list[dict[str, str]]
    rows: list[dict[str, Any]]
    row_count: int
    next_cursor: str | None
    masked: list[str]


class VerifyIn(_In):
    """核验: does each record with this key hold these values? Nothing else comes back."""

    key: str = Field(description="the key field to look records up by")
    checks: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        description='[{"key": "6301...", "values": {"name": "张三"}}, ...]',
    )


class VerifyResult(BaseModel):
    key: Any
    found: bool
    match: bool
    fields: dict[str, bool]


class VerifyOut(BaseModel):
    resource_code: str
    grant_code: str
    results: list[VerifyResult]


# -- subscriptions ------------------------------------------------------------------------


class SubscriptionCreate(_In):
    grant_id: str
    name: str = _text(2, 128)
    mode: SubscriptionMode
    target_source_id: str | None = Field(
        default=None, description="the consumer's own MariaDB/PostgreSQL source (mode table)"
    )
    target_table: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    file_format: str | None = Field(default=None, pattern=r"^(csv|parquet)$")
    schedule: str | None = Field(default=None, max_length=128, description="cron, Beijing time")


class SubscriptionOut(BaseModel):
    id: str
    grant_id: str
    grant_code: str
    resource_code: str
    entry_name: str
    consumer_department_id: str
    consumer_department_name: str
    provider_department_id: str
    provider_department_name: str
    name: str
    mode: SubscriptionMode
    target_source_id: str | None
    target_table: str | None
    file_format: str | None
    schedule: str | None
    state: SubscriptionState
    state_label: str
    delivered_version: int | None
    delivered_at: datetime | None
    lag_seconds: float | None
    last_error: str | None
    created_at: datetime


class SubscriptionRunOut(BaseModel):
    id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    version_from: int | None
    version_to: int | None
    rows_upserted: int
    rows_deleted: int
    files: list[str]
    error_code: str | None
    error_message: str | None


class DeliveryFile(BaseModel):
    name: str
    size: int
    modified_at: datetime


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


# -- objections ---------------------------------------------------------------------------


class ObjectionCreate(_In):
    grant_id: str = Field(description="the grant under which the data was received")
    record_key: dict[str, Any] = Field(default_factory=dict, description="key field -> value")
    field: str | None = Field(default=None, max_length=128)
    title: str = _text(2, 255)
    description: str = _text(2, 4000)
    evidence: str | None = Field(default=None, max_length=8000)
    severity: int = Field(default=3, ge=1, le=5)
