"""Open data: public accounts, verification codes, conditional-open applications and API keys.

Revision ID: 0017_public_accounts
Revises: 0016_opendata
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0017_public_accounts"
down_revision = "0016_opendata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opendata_accounts",
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("organisation", sa.String(length=128), nullable=True),
        sa.Column("verified_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_opendata_accounts_email")),
        sa.UniqueConstraint("mobile", name=op.f("uq_opendata_accounts_mobile")),
    )
    op.create_table(
        "opendata_codes",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["opendata_accounts.id"],
            name=op.f("fk_opendata_codes_account_id_opendata_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_opendata_codes")),
    )
    op.create_table(
        "opendata_sessions",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["opendata_accounts.id"],
            name=op.f("fk_opendata_sessions_account_id_opendata_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_opendata_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_opendata_sessions_account_id"), "opendata_sessions", ["account_id"], unique=False
    )
    op.create_table(
        "opendata_applications",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("use_from", sa.Date(), nullable=True),
        sa.Column("use_until", sa.Date(), nullable=True),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.Column("commitments", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("valid_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["opendata_accounts.id"],
            name=op.f("fk_opendata_applications_account_id_opendata_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_applications_dataset_id_opendata_datasets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_applications")),
        sa.UniqueConstraint("code", name=op.f("uq_opendata_applications_code")),
    )
    op.create_index(
        "ix_opendata_applications_account",
        "opendata_applications",
        ["account_id", "dataset_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opendata_applications_department_id"),
        "opendata_applications",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        "ix_opendata_applications_queue",
        "opendata_applications",
        ["status", "due_at"],
        unique=False,
    )
    op.create_table(
        "opendata_api_keys",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revealed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("per_minute", sa.Integer(), nullable=True),
        sa.Column("per_day", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["opendata_accounts.id"],
            name=op.f("fk_opendata_api_keys_account_id_opendata_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_opendata_api_keys_key_hash")),
    )
    op.create_index(
        op.f("ix_opendata_api_keys_account_id"), "opendata_api_keys", ["account_id"], unique=False
    )
    op.create_table(
        "opendata_key_usage",
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["opendata_api_keys.id"],
            name=op.f("fk_opendata_key_usage_key_id_opendata_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "window", name=op.f("pk_opendata_key_usage")),
    )


def downgrade() -> None:
    op.drop_table("opendata_key_usage")
    op.drop_index(op.f("ix_opendata_api_keys_account_id"), table_name="opendata_api_keys")
    op.drop_table("opendata_api_keys")
    op.drop_index("ix_opendata_applications_queue", table_name="opendata_applications")
    op.drop_index(
        op.f("ix_opendata_applications_department_id"), table_name="opendata_applications"
    )
    op.drop_index("ix_opendata_applications_account", table_name="opendata_applications")
    op.drop_table("opendata_applications")
    op.drop_index(op.f("ix_opendata_sessions_account_id"), table_name="opendata_sessions")
    op.drop_table("opendata_sessions")
    op.drop_table("opendata_codes")
    op.drop_table("opendata_accounts")
