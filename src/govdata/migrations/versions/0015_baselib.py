"""Governance: 0015_baselib.

Revision ID: 0015_baselib
Revises: 0014_crosscheck
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0015_baselib"
down_revision = "0014_crosscheck"
branch_labels = None
depends_on = None


def upgrade() -> None:
    return None


def downgrade() -> None:
    return None
