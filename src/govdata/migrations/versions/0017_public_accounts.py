"""Open data: public accounts, verification codes, conditional-open applications and API keys.

Revision ID: 0017_public_accounts
Revises: 0016_opendata
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0017_public_accounts"
down_revision = "0016_opendata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
