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
    pass


def downgrade() -> None:
    pass
