"""Open data: open datasets (the opening review) and their monthly usage.

Revision ID: 0016_opendata
Revises: 0015_baselib
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0016_opendata"
down_revision = "0015_baselib"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opendata_datasets",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("license_id", sa.String(length=32), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("proposed_by", sa.String(length=36), nullable=True),
        sa.Column("proposed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("proposal_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_opendata_datasets_entry_id_catalog_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_datasets")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_opendata_datasets_entry_id")),
        sa.UniqueConstraint("name", name=op.f("uq_opendata_datasets_name")),
    )
    op.create_index(
        "ix_opendata_datasets_status", "opendata_datasets", ["status", "opened_at"], unique=False
    )
    op.create_table(
        "opendata_usage",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_usage_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "month", name=op.f("pk_opendata_usage")),
    )
    op.create_index(
        op.f("ix_opendata_usage_department_id"), "opendata_usage", ["department_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_opendata_usage_department_id"), table_name="opendata_usage")
    op.drop_table("opendata_usage")
    op.drop_index("ix_opendata_datasets_status", table_name="opendata_datasets")
    op.drop_table("opendata_datasets")
