"""Envelope keys (data keys wrapped by the master key), destruction requests and certificates.

Revision ID: 0009_keys
Revises: 0008_ledger
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0009_keys"
down_revision = "0008_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_data_keys",
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=True),
        sa.Column("wrapped", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rewrapped_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("destroyed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("destruction_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_data_keys")),
        sa.UniqueConstraint("owner", "generation", name="uq_security_data_keys_owner_generation"),
        sa.UniqueConstraint("owner", "key_id", name="uq_security_data_keys_owner_key_id"),
    )
    op.create_index(
        op.f("ix_security_data_keys_entry_id"), "security_data_keys", ["entry_id"], unique=False
    )
    op.create_index(
        "ix_security_data_keys_master",
        "security_data_keys",
        ["master_key_id", "id"],
        unique=False,
    )
    op.create_table(
        "security_destructions",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("lake_table", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=True),
        sa.Column("requested_by_name", sa.String(length=128), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_by_name", sa.String(length=128), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=True),
        sa.Column("manifest_sm3", sa.String(length=64), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("bytes_removed", sa.BigInteger(), nullable=False),
        sa.Column("key_ids", sa.JSON(), nullable=False),
        sa.Column("grants_ended", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("certificate", sa.JSON(), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_destructions")),
        sa.UniqueConstraint("code", name=op.f("uq_security_destructions_code")),
    )
    op.create_index(
        op.f("ix_security_destructions_department_id"),
        "security_destructions",
        ["department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_security_destructions_entry_id"),
        "security_destructions",
        ["entry_id"],
        unique=False,
    )
    op.create_index(
        "ix_security_destructions_status",
        "security_destructions",
        ["status", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_security_destructions_status", table_name="security_destructions")
    op.drop_index(op.f("ix_security_destructions_entry_id"), table_name="security_destructions")
    op.drop_index(
        op.f("ix_security_destructions_department_id"), table_name="security_destructions"
    )
    op.drop_table("security_destructions")
    op.drop_index("ix_security_data_keys_master", table_name="security_data_keys")
    op.drop_index(op.f("ix_security_data_keys_entry_id"), table_name="security_data_keys")
    op.drop_table("security_data_keys")
