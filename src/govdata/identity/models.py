"""Identity tables: regions, departments, users, role assignments, app credentials, web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin, TimestampMixin


class Region(IdMixin, TimestampMixin, Base):
    """A GB/T 2260 division; ``path`` joins the codes from the province down."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), index=True)
    path: Mapped[str] = mapped_column(String(64), index=True)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id", lazy="joined")


class Department(IdMixin, TimestampMixin, Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("region_id", "name", name="uq_departments_region_name"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    short_name: Mapped[str | None] = mapped_column(String(64))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship(lazy="joined")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last accepted TOTP time step, so a code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    password_changed_at: Mapped[datetime | None] = mapped_column()
    # Every revocation adds one; a session or token carries the value it was issued under
    # and dies when they differ. A counter, not a timestamp, so no clock tie can let an old
    # token outlive the revocation.
    token_epoch: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column()

    department: Mapped[Department | None] = relationship(lazy="joined")
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", lazy="selectin", order_by="RoleAssignment.created_at"
    )


class RoleAssignment(IdMixin, Base):
    """A role held by a user, platform-wide, over a region subtree, or in one department."""

    __tablename__ = "role_assignments"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), index=True)
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

    user: Mapped[User] = relationship(back_populates="roles")
    region: Mapped[Region | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")


class AppCredential(IdMixin, Base):
    """A machine credential of one department; only the SHA-256 of its token is kept."""

    __tablename__ = "app_credentials"

    name: Mapped[str] = mapped_column(String(128))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_by_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=now)

    department: Mapped[Department] = relationship(lazy="joined")


class WebSession(IdMixin, Base):
    """A portal login; the cookie holds the token, the store only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The user's token_epoch when the session started.
    token_epoch: Mapped[int] = mapped_column(Integer)
