"""Open data: the annual open list and reuses (优秀应用).

Revision ID: 0018_open_reuses
Revises: 0017_public_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0018_open_reuses"
down_revision = "0017_public_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opendata_open_lists",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=36), nullable=True),
        sa.Column("approved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_open_lists")),
        sa.UniqueConstraint("year", name=op.f("uq_opendata_open_lists_year")),
    )
    op.create_table(
        "opendata_reuses",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("submitter_id", sa.String(length=36), nullable=False),
        sa.Column("submitter_name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_reuses")),
    )
    op.create_index(
        "ix_opendata_reuses_status", "opendata_reuses", ["status", "featured"], unique=False
    )
    op.create_index(
        op.f("ix_opendata_reuses_submitter_id"), "opendata_reuses", ["submitter_id"], unique=False
    )
    op.create_table(
        "opendata_reuse_ratings",
        sa.Column("reuse_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reuse_id"],
            ["opendata_reuses.id"],
            name=op.f("fk_opendata_reuse_ratings_reuse_id_opendata_reuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reuse_id", "user_id", name=op.f("pk_opendata_reuse_ratings")),
    )
    op.create_table(
        "opendata_reuse_screenshots",
        sa.Column("reuse_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["reuse_id"],
            ["opendata_reuses.id"],
            name=op.f("fk_opendata_reuse_screenshots_reuse_id_opendata_reuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_reuse_screenshots")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_opendata_reuse_screenshots_stored_name")),
    )
    op.create_index(
        op.f("ix_opendata_reuse_screenshots_reuse_id"),
        "opendata_reuse_screenshots",
        ["reuse_id"],
        unique=False,
    )
    op.create_table(
        "opendata_open_list_items",
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=36), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_opendata_open_list_items_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_opendata_open_list_items_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["opendata_open_lists.id"],
            name=op.f("fk_opendata_open_list_items_list_id_opendata_open_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_open_list_items")),
        sa.UniqueConstraint("list_id", "entry_id", name="uq_opendata_open_list_items_entry"),
    )
    op.create_index(
        "ix_opendata_open_list_items_dept",
        "opendata_open_list_items",
        ["list_id", "department_id"],
        unique=False,
    )
    op.create_table(
        "opendata_reuse_datasets",
        sa.Column("reuse_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_reuse_datasets_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reuse_id"],
            ["opendata_reuses.id"],
            name=op.f("fk_opendata_reuse_datasets_reuse_id_opendata_reuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reuse_id", "dataset_id", name=op.f("pk_opendata_reuse_datasets")),
    )
    op.create_index(
        op.f("ix_opendata_reuse_datasets_dataset_id"),
        "opendata_reuse_datasets",
        ["dataset_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_opendata_reuse_datasets_dataset_id"), table_name="opendata_reuse_datasets"
    )
    op.drop_table("opendata_reuse_datasets")
    op.drop_index("ix_opendata_open_list_items_dept", table_name="opendata_open_list_items")
    op.drop_table("opendata_open_list_items")
    op.drop_index(
        op.f("ix_opendata_reuse_screenshots_reuse_id"), table_name="opendata_reuse_screenshots"
    )
    op.drop_table("opendata_reuse_screenshots")
    op.drop_table("opendata_reuse_ratings")
    op.drop_index(op.f("ix_opendata_reuses_submitter_id"), table_name="opendata_reuses")
    op.drop_index("ix_opendata_reuses_status", table_name="opendata_reuses")
    op.drop_table("opendata_reuses")
    op.drop_table("opendata_open_lists")
