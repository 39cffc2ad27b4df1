"""Governance: 0014_crosscheck.

Revision ID: 0014_crosscheck
Revises: 0013_tickets
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0014_crosscheck"
down_revision = "0013_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    return None


def downgrade() -> None:
    return None
