"""Governance: problem-data tickets from failed quality rules, re-checks, escalation levels.

Revision ID: 0013_tickets
Revises: 0012_quality
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0013_tickets"
down_revision = "0012_quality"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    """The columns tickets gain (new Column objects each call: a column joins one table)."""
    return [
        sa.Column("closed_by_name", sa.String(length=128), nullable=True),
        sa.Column("assignee_id", sa.String(length=36), nullable=True),
        sa.Column("assignee_name", sa.String(length=128), nullable=True),
        sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rule_id", sa.String(length=36), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("failed_count", sa.BigInteger(), nullable=True),
        sa.Column("checked_count", sa.BigInteger(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("recheck_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("recheck_run_id", sa.String(length=36), nullable=True),
        sa.Column("recheck_passed", sa.Boolean(), nullable=True),
        sa.Column("recheck_count", sa.Integer(), server_default="0", nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("governance_tickets", schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_governance_tickets_rule", ["rule_id", "status"], unique=False)
        batch_op.create_index(
            "ix_governance_tickets_reporter", ["reporter_department_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("governance_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_governance_tickets_reporter")
        batch_op.drop_index("ix_governance_tickets_rule")
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
