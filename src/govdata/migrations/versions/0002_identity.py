"""Identity: regions, departments, users, role assignments, app credentials, web sessions.

Revision ID: 0002_identity
Revises: 0001_audit
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0002_identity"
down_revision = "0001_audit"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), nullable=False)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "regions",
        _id(),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("path", sa.String(64), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["parent_id"], ["regions.id"], name="fk_regions_parent_id_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_regions"),
        sa.UniqueConstraint("code", name="uq_regions_code"),
    )
    op.create_index("ix_regions_parent_id", "regions", ["parent_id"])
    op.create_index("ix_regions_path", "regions", ["path"])

    op.create_table(
        "departments",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("short_name", sa.String(64), nullable=True),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("region_id", sa.String(36), nullable=False),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["departments.id"], name="fk_departments_parent_id_departments"
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name="fk_departments_region_id_regions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.UniqueConstraint("code", name="uq_departments_code"),
        sa.UniqueConstraint("credit_code", name="uq_departments_credit_code"),
        sa.UniqueConstraint("region_id", "name", name="uq_departments_region_name"),
    )
    op.create_index("ix_departments_parent_id", "departments", ["parent_id"])
    op.create_index("ix_departments_region_id", "departments", ["region_id"])

    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("password_changed_at", UTCDateTime(), nullable=True),
        sa.Column("token_epoch", sa.Integer(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_users_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("ix_users_department_id", "users", ["department_id"])

    op.create_table(
        "role_assignments",
        _id(),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("region_id", sa.String(36), nullable=True),
        sa.Column("department_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_role_assignments_department_id_departments",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name="fk_role_assignments_region_id_regions"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_role_assignments_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_role_assignments"),
    )
    op.create_index("ix_role_assignments_department_id", "role_assignments", ["department_id"])
    op.create_index("ix_role_assignments_region_id", "role_assignments", ["region_id"])
    op.create_index("ix_role_assignments_user_id", "role_assignments", ["user_id"])

    op.create_table(
        "app_credentials",
        _id(),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_by_name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_app_credentials_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_app_credentials"),
        sa.UniqueConstraint("token_hash", name="uq_app_credentials_token_hash"),
    )
    op.create_index("ix_app_credentials_department_id", "app_credentials", ["department_id"])

    op.create_table(
        "web_sessions",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("client_addr", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("token_epoch", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])


def downgrade() -> None:
    for table in (
        "web_sessions",
        "app_credentials",
        "role_assignments",
        "users",
        "departments",
        "regions",
    ):
        op.drop_table(table)
