"""Governance: 0012_quality.

Revision ID: 0012_quality
Revises: 0011_alerts
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0012_quality"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    return None


def downgrade() -> None:
    return None
