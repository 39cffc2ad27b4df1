"""Input and output shapes of the identity domain.

Out schemas never carry a password hash, a token hash or a TOTP secret.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from govdata.security.permissions import Perm, Role

RegionLevel = Literal["province", "prefecture", "county"]
Locale = Literal["zh_CN", "en"]
CredentialStatus = Literal["active", "revoked", "expired"]
RoleScopeKind = Literal["platform", "region", "department"]

REGION_CODE_RE = re.compile(r"^\d{6}$")
DEPARTMENT_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
MAX_CREDENTIAL_DAYS = 365


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Regions ---------------------------------------------------------------------------------


class RegionCreate(_In):
    """A GB/T 2260 division. The level follows from the code (``XX0000`` province,
    ``XXYY00`` prefecture, otherwise county); a parent is required below province."""

    code: str = Field(min_length=1, max_length=16, examples=["630102"])
    name: str = Field(min_length=1, max_length=64)
    parent_code: str | None = Field(default=None, examples=["630100"])


class RegionOut(_Out):
    id: str
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    path: str


class RegionNode(RegionOut):
    children: list[RegionNode] = Field(default_factory=list)


class RegionRef(_Out):
    code: str
    name: str
    path: str


# Departments -----------------------------------------------------------------------------


class DepartmentCreate(_In):
    code: str = Field(min_length=2, max_length=32, examples=["police"])
    name: str = Field(min_length=1, max_length=128, examples=["青海省公安厅"])
    short_name: str | None = Field(default=None, max_length=64)
    credit_code: str = Field(min_length=1, max_length=32)
    region_code: str = Field(min_length=1, max_length=16)
    parent_id: str | None = None

    @field_validator("code")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.lower()
        if not DEPARTMENT_CODE_RE.match(value):
            raise ValueError("department code must match ^[a-z][a-z0-9_]{1,31}$")
        return value


class DepartmentUpdate(_In):
    """Fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    short_name: str | None = Field(default=None, max_length=64)
    credit_code: str | None = Field(default=None, min_length=1, max_length=32)
    parent_id: str | None = None
    is_active: bool | None = None


class DepartmentRef(_Out):
    id: str
    code: str
    name: str


class DepartmentOut(_Out):
    id: str
    code: str
    name: str
    short_name: str | None
    credit_code: str
    region_code: str
    region_name: str
    region_path: str
    parent_id: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class DepartmentPage(BaseModel):
    items: list[DepartmentOut]
    total: int
    next_cursor: str | None


# Roles -----------------------------------------------------------------------------------


class RoleAssignmentIn(_In):
    """A role and where it applies: nothing for platform roles, ``region_code`` for
    region_operator, a department (id or code; default the user's own) for department roles."""

    role: Role
    region_code: str | None = None
    department_id: str | None = None
    department_code: str | None = None


class RoleAssignmentOut(_Out):
    id: str
    role: Role
    region_code: str | None
    region_name: str | None
    department_id: str | None
    department_name: str | None
    created_at: datetime


class RoleDefinition(BaseModel):
    role: Role
    label_zh: str
    label_en: str
    scope: RoleScopeKind
    separated: bool
    privileged: bool
    permissions: list[Perm]


# Users -----------------------------------------------------------------------------------


class UserCreate(_In):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)
    department_id: str | None = None
    department_code: str | None = None
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=32)
    locale: Locale = "zh_CN"
    roles: list[RoleAssignmentIn] = Field(default_factory=list)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.lower()
        if not USERNAME_RE.match(value):
            raise ValueError("username must match ^[a-z][a-z0-9_.-]{2,63}$")
        return value


class UserUpdate(_In):
    """Fields left out stay as they are."""

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    department_id: str | None = None
    email: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=32)
    locale: Locale | None = None


class UserOut(_Out):
    id: str
    username: str
    display_name: str
    department_id: str | None
    department_code: str | None
    department_name: str | None
    email: str | None
    phone: str | None
    locale: Locale
    is_active: bool
    locked: bool
    locked_until: datetime | None
    failed_logins: int
    totp_enabled: bool
    last_login_at: datetime | None
    password_changed_at: datetime | None
    roles: list[RoleAssignmentOut]
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    next_cursor: str | None


class PasswordReset(_In):
    new_password: str = Field(min_length=1, max_length=256)


class PasswordChange(_In):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class LocaleUpdate(_In):
    locale: Locale


class MeRole(BaseModel):
    role: Role
    region_code: str | None
    department_id: str | None


class MeOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[MeRole]
    department: DepartmentRef | None
    region: RegionRef | None
    locale: Locale
    totp_enabled: bool


# TOTP ------------------------------------------------------------------------------------


class TotpEnrolment(BaseModel):
    """Show ``provisioning_uri`` as a QR code (or ``secret`` for manual entry), then confirm."""

    secret: str
    provisioning_uri: str


class TotpConfirm(_In):
    code: str = Field(min_length=6, max_length=8)


# App credentials -------------------------------------------------------------------------


class CredentialCreate(_In):
    """Give either ``expires_at`` or ``days`` (at most 365 days ahead)."""

    name: str = Field(min_length=1, max_length=128)
    department_id: str | None = None
    department_code: str | None = None
    scopes: list[Perm] = Field(min_length=1)
    expires_at: datetime | None = None
    days: int | None = Field(default=None, ge=1, le=MAX_CREDENTIAL_DAYS)

    @model_validator(mode="after")
    def _one_expiry(self) -> CredentialCreate:
        if (self.expires_at is None) == (self.days is None):
            raise ValueError("give exactly one of expires_at or days")
        if (self.department_id is None) == (self.department_code is None):
            raise ValueError("give exactly one of department_id or department_code")
        return self


class CredentialOut(_Out):
    id: str
    name: str
    department_id: str
    department_code: str
    department_name: str
    scopes: list[str]
    token_prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None
    created_by_name: str
    created_at: datetime
    status: CredentialStatus


class CredentialCreated(BaseModel):
    """``token`` is shown this once; only its hash is kept."""

    credential: CredentialOut
    token: str


class CredentialPage(BaseModel):
    items: list[CredentialOut]
    total: int
    next_cursor: str | None


# Login -----------------------------------------------------------------------------------


class TokenRequest(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=8)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class LoginResult(BaseModel):
    """What a successful password (and OTP) check yields.

    When ``mfa_enrollment_required`` is set the user holds a privileged role
    without a second factor: no session or token may be issued; the portal
    enrols TOTP with ``enrolment_token`` (short-lived, single purpose) first.
    """

    user_id: str
    username: str
    display_name: str
    locale: Locale
    mfa_enrollment_required: bool = False
    enrolment_token: str | None = None
    # The user's token_epoch the check passed under; a token issued from this result
    # carries it, so a revocation committed since the login already kills that token.
    token_epoch: int


class RegionList(BaseModel):
    items: list[RegionNode]
    total: int
    next_cursor: str | None = None


class RoleList(BaseModel):
    items: list[RoleDefinition]
    total: int
    next_cursor: str | None = None
