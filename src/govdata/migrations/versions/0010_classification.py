"""Classification policy (grade to controls) and sensitive-data discovery scans.

Revision ID: 0010_classification
Revises: 0009_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime

revision = "0010_classification"
down_revision = "0009_keys"
branch_labels = None
depends_on = None

# The seeded controls: what the platform already did (every grade may be delivered as files,
# personal data masked by default), plus what the rules require of important and core data
# (encrypted at rest, watermarked files) and core data never leaving as a file.
SEED = (
    # grade, allow_download, default_mask, encrypt_at_rest, watermark
    (1, True, True, False, False),
    (2, True, True, False, False),
    (3, True, True, True, True),
    (4, False, True, True, True),
)


def upgrade() -> None:
    op.create_table(
        "security_grade_controls",
        sa.Column("grade", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("allow_download", sa.Boolean(), nullable=False),
        sa.Column("default_mask", sa.Boolean(), nullable=False),
        sa.Column("encrypt_at_rest", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("grade", name=op.f("pk_security_grade_controls")),
    )
    op.create_table(
        "security_discovery_scans",
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("source_id", sa.String(length=36), nullable=True),
        sa.Column("table_name", sa.String(length=255), nullable=True),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("sample_rows", sa.Integer(), nullable=False),
        sa.Column("rows_sampled", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("entry_grade", sa.Integer(), nullable=True),
        sa.Column("suggested_grade", sa.Integer(), nullable=True),
        sa.Column("grade_state", sa.String(length=16), nullable=True),
        sa.Column("grade_decided_by", sa.String(length=128), nullable=True),
        sa.Column("grade_decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_by_name", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_security_discovery_scans_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_security_discovery_scans_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source_systems.id"],
            name=op.f("fk_security_discovery_scans_source_id_source_systems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_discovery_scans")),
    )
    with op.batch_alter_table("security_discovery_scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_security_discovery_scans_department",
            ["department_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_security_discovery_scans_entry", ["entry_id", "created_at"], unique=False
        )
    op.create_table(
        "security_discovery_columns",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=128), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=True),
        sa.Column("non_empty", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("hit_rate", sa.Float(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("suggest_sensitive", sa.Boolean(), nullable=True),
        sa.Column("suggest_mask", sa.String(length=16), nullable=True),
        sa.Column("suggest_grade", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["security_discovery_scans.id"],
            name=op.f("fk_security_discovery_columns_scan_id_security_discovery_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_discovery_columns")),
    )
    with op.batch_alter_table("security_discovery_columns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_security_discovery_columns_scan_id"), ["scan_id"], unique=False
        )

    controls = sa.table(
        "security_grade_controls",
        sa.column("grade", sa.Integer),
        sa.column("allow_download", sa.Boolean),
        sa.column("default_mask", sa.Boolean),
        sa.column("encrypt_at_rest", sa.Boolean),
        sa.column("watermark", sa.Boolean),
        sa.column("retention_days", sa.Integer),
        sa.column("updated_at", UTCDateTime(timezone=True)),
    )
    at = datetime.now(UTC)
    op.bulk_insert(
        controls,
        [
            {
                "grade": grade,
                "allow_download": download,
                "default_mask": mask,
                "encrypt_at_rest": encrypt,
                "watermark": watermark,
                "retention_days": None,
                "updated_at": at,
            }
            for grade, download, mask, encrypt, watermark in SEED
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("security_discovery_columns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_discovery_columns_scan_id"))
    op.drop_table("security_discovery_columns")
    with op.batch_alter_table("security_discovery_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_security_discovery_scans_entry")
        batch_op.drop_index("ix_security_discovery_scans_department")
    op.drop_table("security_discovery_scans")
    op.drop_table("security_grade_controls")
