"""Governance: 0013_tickets.

Revision ID: 0013_tickets
Revises: 0012_quality
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0013_tickets"
down_revision = "0012_quality"
branch_labels = None
depends_on = None


def upgrade() -> None:
    return None


def downgrade() -> None:
    return None
