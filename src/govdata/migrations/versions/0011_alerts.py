"""Anomaly detection: alert rules, per-app baselines, alerts and their disposal.

Revision ID: 0011_alerts
Revises: 0010_classification
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0011_alerts"
down_revision = "0010_classification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_alert_rules",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_security_alert_rules")),
    )
    op.create_table(
        "security_alerts",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=True),
        sa.Column("subject_name", sa.String(length=128), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", UTCDateTime(timezone=True), nullable=True),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_event_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("assignee_id", sa.String(length=36), nullable=True),
        sa.Column("assignee_name", sa.String(length=128), nullable=True),
        sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_name", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_security_alerts_assignee_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
        sa.UniqueConstraint("code", name=op.f("uq_security_alerts_code")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_security_alerts_dedup_key")),
    )
    op.create_index("ix_security_alerts_status", "security_alerts", ["status", "severity"])
    op.create_index("ix_security_alerts_assignee", "security_alerts", ["assignee_id", "status"])
    op.create_table(
        "security_alert_events",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["security_alerts.id"],
            name=op.f("fk_security_alert_events_alert_id_security_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alert_events")),
    )
    op.create_index("ix_security_alert_events_alert", "security_alert_events", ["alert_id", "at"])
    op.create_table(
        "security_baselines",
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=True),
        sa.Column("subject_name", sa.String(length=128), nullable=False),
        sa.Column("median", sa.Float(), nullable=False),
        sa.Column("mad", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("learned_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_key", "metric", name=op.f("pk_security_baselines")),
    )
    op.create_table(
        "security_access_stats",
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("hour", UTCDateTime(timezone=True), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=True),
        sa.Column("subject_name", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("denied", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject_key", "hour", name=op.f("pk_security_access_stats")),
    )
    op.create_index("ix_security_access_stats_hour", "security_access_stats", ["hour"])
    scan_state = op.create_table(
        "security_scan_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("scanned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("scanned_id", sa.String(length=36), nullable=True),
        sa.Column("last_run_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_security_scan_state")),
    )
    # The one watermark row exists from the start, so concurrent scans lock it, never race
    # to create it.
    op.bulk_insert(scan_state, [{"name": "anomaly"}])


def downgrade() -> None:
    op.drop_table("security_scan_state")
    op.drop_index("ix_security_access_stats_hour", table_name="security_access_stats")
    op.drop_table("security_access_stats")
    op.drop_table("security_baselines")
    op.drop_index("ix_security_alert_events_alert", table_name="security_alert_events")
    op.drop_table("security_alert_events")
    op.drop_index("ix_security_alerts_assignee", table_name="security_alerts")
    op.drop_index("ix_security_alerts_status", table_name="security_alerts")
    op.drop_table("security_alerts")
    op.drop_table("security_alert_rules")
