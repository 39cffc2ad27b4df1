"""Public accounts, verification codes, conditional-open applications and API keys.

Secrets (passwords, codes, session tokens, API keys) are stored only as hashes; an API
key keeps a short prefix in clear so its owner can tell keys apart.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, IdMixin, TimestampMixin


class PublicAccount(IdMixin, TimestampMixin, Base):
    """A member of the public, a company or a researcher on the open-data portal."""

    __tablename__ = "opendata_accounts"

    # Exactly one of the two is set: the address the account signs in with.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(11), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # AccountKind
    organisation: Mapped[str | None] = mapped_column(String(128))
    verified_at: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()


class PublicCode(Base):
    """The account's current verification code; a new one replaces it (voids the old)."""

    __tablename__ = "opendata_codes"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PublicSession(IdMixin, Base):
    __tablename__ = "opendata_sessions"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class OpenApplication(IdMixin, TimestampMixin, Base):
    """A public account's application for a conditionally open dataset."""

    __tablename__ = "opendata_applications"
    __table_args__ = (
        Index("ix_opendata_applications_queue", "status", "due_at"),
        Index("ix_opendata_applications_account", "account_id", "dataset_id"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("opendata_accounts.id"))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("opendata_datasets.id"))
    # The provider at submission, for the officers' scope (the entry's department).
    department_id: Mapped[str] = mapped_column(String(36), index=True)
    region_path: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(Text)
    use_from: Mapped[date | None] = mapped_column(Date)
    use_until: Mapped[date | None] = mapped_column(Date)
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    commitments: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # ApplicationStatus
    submitted_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_comment: Mapped[str | None] = mapped_column(Text)
    # Access ends at this moment; None: no end.
    valid_until: Mapped[datetime | None] = mapped_column()


class OpenApiKey(IdMixin, Base):
    """An account's API key. Issued on approval without a secret; the owner reveals it
    (shown once) and may rotate it (a new secret, the same key and quota) or revoke it."""

    __tablename__ = "opendata_api_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("opendata_accounts.id"), index=True)
    prefix: Mapped[str | None] = mapped_column(String(16))
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    revealed_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    # None: the node's defaults (Settings.opendata_key_per_minute / _per_day).
    per_minute: Mapped[int | None] = mapped_column(Integer)
    per_day: Mapped[int | None] = mapped_column(Integer)


class OpenKeyUsage(Base):
    """Calls of one key in one window (``m:YYYYmmddHHMM`` or ``d:YYYYmmdd``, Beijing time)."""

    __tablename__ = "opendata_key_usage"

    key_id: Mapped[str] = mapped_column(
        ForeignKey("opendata_api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
