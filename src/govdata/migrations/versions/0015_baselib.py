"""Governance: base libraries (基础库), their builds, and duplicate checks.

Revision ID: 0015_baselib
Revises: 0014_crosscheck
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0015_baselib"
down_revision = "0014_crosscheck"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "governance_baselibs",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("subject_code", sa.String(length=64), nullable=False),
        sa.Column("lake_table", sa.String(length=128), nullable=False),
        sa.Column("links_table", sa.String(length=128), nullable=False),
        sa.Column("edges_table", sa.String(length=128), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=True),
        sa.Column("source_versions", sa.JSON(), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("last_build_id", sa.String(length=36), nullable=True),
        sa.Column("last_built_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("entities", sa.BigInteger(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=True),
        sa.Column("lake_version", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_governance_baselibs_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_governance_baselibs_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_baselibs")),
        sa.UniqueConstraint("code", name=op.f("uq_governance_baselibs_code")),
    )
    op.create_table(
        "governance_baselib_builds",
        sa.Column("library_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("retrain", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by_name", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("authority", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("entities", sa.BigInteger(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=True),
        sa.Column("lake_version", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["governance_baselibs.id"],
            name=op.f("fk_governance_baselib_builds_library_id_governance_baselibs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_baselib_builds")),
    )
    op.create_index(
        "ix_governance_baselib_builds_library",
        "governance_baselib_builds",
        ["library_id", "created_at"],
    )
    op.create_table(
        "governance_duplicate_checks",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("subject_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by_name", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lake_table", sa.String(length=128), nullable=True),
        sa.Column("lake_version", sa.BigInteger(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=True),
        sa.Column("clusters", sa.Integer(), nullable=True),
        sa.Column("duplicate_records", sa.BigInteger(), nullable=True),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_governance_duplicate_checks_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_governance_duplicate_checks_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_duplicate_checks")),
    )
    op.create_index(
        "ix_governance_duplicate_checks_entry",
        "governance_duplicate_checks",
        ["entry_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_governance_duplicate_checks_entry", table_name="governance_duplicate_checks")
    op.drop_table("governance_duplicate_checks")
    op.drop_index("ix_governance_baselib_builds_library", table_name="governance_baselib_builds")
    op.drop_table("governance_baselib_builds")
    op.drop_table("governance_baselibs")
