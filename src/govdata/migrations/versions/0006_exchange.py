"""Collection and exchange: source systems, mounts, pipelines, runs and their logs, lineage.

Revision ID: 0006_exchange
Revises: 0005_catalog_reference
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0006_exchange"
down_revision = "0005_catalog_reference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_systems",
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_checked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_source_systems_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_source_systems_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_systems")),
        sa.UniqueConstraint("department_id", "name", name=op.f("uq_source_systems_department_id")),
    )
    with op.batch_alter_table("source_systems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_systems_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "mounts",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("unmapped_items", sa.JSON(), nullable=False),
        sa.Column("key_columns", sa.JSON(), nullable=False),
        sa.Column("watermark_column", sa.String(length=128), nullable=True),
        sa.Column("row_cap", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("lake_table", sa.String(length=128), nullable=True),
        sa.Column("source_columns", sa.JSON(), nullable=False),
        sa.Column("drift", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_mounts_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_mounts_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["catalog_entries.id"], name=op.f("fk_mounts_entry_id_catalog_entries")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source_systems.id"], name=op.f("fk_mounts_source_id_source_systems")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mounts")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_mounts_entry_id")),
        sa.UniqueConstraint("lake_table", name=op.f("uq_mounts_lake_table")),
    )
    with op.batch_alter_table("mounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mounts_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mounts_source_id"), ["source_id"], unique=False)

    op.create_table(
        "pipelines",
        sa.Column("mount_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=True),
        sa.Column("schedule_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.JSON(), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_success_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_pipelines_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_pipelines_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["mount_id"], ["mounts.id"], name=op.f("fk_pipelines_mount_id_mounts")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["job_schedules.id"],
            name=op.f("fk_pipelines_schedule_id_job_schedules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("mount_id", "name", name=op.f("uq_pipelines_mount_id")),
    )
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pipelines_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pipelines_mount_id"), ["mount_id"], unique=False)

    op.create_table(
        "pipeline_runs",
        sa.Column("pipeline_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("rows_inserted", sa.BigInteger(), nullable=False),
        sa.Column("rows_updated", sa.BigInteger(), nullable=False),
        sa.Column("rows_deleted", sa.BigInteger(), nullable=False),
        sa.Column("lake_version_before", sa.BigInteger(), nullable=True),
        sa.Column("lake_version_after", sa.BigInteger(), nullable=True),
        sa.Column("position_before", sa.JSON(), nullable=True),
        sa.Column("position_after", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_pipeline_runs_pipeline_id_pipelines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_runs_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_pipeline_runs_pipeline_started", ["pipeline_id", "started_at"], unique=False
        )

    op.create_table(
        "lineage_events",
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("event_time", UTCDateTime(timezone=True), nullable=False),
        sa.Column("job_name", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_lineage_events_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name=op.f("fk_lineage_events_run_id_pipeline_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_events")),
    )
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lineage_events_entry_time", ["entry_id", "event_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lineage_events_run_id"), ["run_id"], unique=False)

    op.create_table(
        "pipeline_run_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name=op.f("fk_pipeline_run_logs_run_id_pipeline_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_run_logs")),
    )
    with op.batch_alter_table("pipeline_run_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_run_logs_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pipeline_run_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_run_logs_run_id"))

    op.drop_table("pipeline_run_logs")
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_events_run_id"))
        batch_op.drop_index("ix_lineage_events_entry_time")

    op.drop_table("lineage_events")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_runs_pipeline_started")
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_job_id"))

    op.drop_table("pipeline_runs")
    with op.batch_alter_table("pipelines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipelines_mount_id"))
        batch_op.drop_index(batch_op.f("ix_pipelines_department_id"))

    op.drop_table("pipelines")
    with op.batch_alter_table("mounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mounts_source_id"))
        batch_op.drop_index(batch_op.f("ix_mounts_department_id"))

    op.drop_table("mounts")
    with op.batch_alter_table("source_systems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_systems_department_id"))

    op.drop_table("source_systems")
