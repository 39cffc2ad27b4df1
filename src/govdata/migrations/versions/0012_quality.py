"""Governance: quality rules, quality runs and each rule's result per run.

Revision ID: 0012_quality
Revises: 0011_alerts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0012_quality"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_rules",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_quality_rules_entry_id_catalog_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_rules")),
    )
    op.create_index("ix_quality_rules_entry", "quality_rules", ["entry_id", "enabled"])
    op.create_table(
        "quality_runs",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lake_table", sa.String(length=128), nullable=True),
        sa.Column("lake_version", sa.BigInteger(), nullable=True),
        sa.Column("source_capped", sa.Boolean(), nullable=False),
        sa.Column("rows_total", sa.BigInteger(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("dimension_scores", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_quality_runs_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_quality_runs_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_runs")),
    )
    op.create_index("ix_quality_runs_entry_started", "quality_runs", ["entry_id", "started_at"])
    op.create_index(
        "ix_quality_runs_department_started", "quality_runs", ["department_id", "started_at"]
    )
    op.create_index(op.f("ix_quality_runs_region_path"), "quality_runs", ["region_path"])
    op.create_table(
        "quality_results",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=True),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("checked", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("pass_rate", sa.Float(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["quality_runs.id"],
            name=op.f("fk_quality_results_run_id_quality_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_results")),
    )
    op.create_index(op.f("ix_quality_results_run_id"), "quality_results", ["run_id"])
    op.create_index(op.f("ix_quality_results_rule_id"), "quality_results", ["rule_id"])


def downgrade() -> None:
    op.drop_table("quality_results")
    op.drop_table("quality_runs")
    op.drop_table("quality_rules")
