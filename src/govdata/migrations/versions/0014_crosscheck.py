"""Governance: cross-source checks (多源校核) and authoritative sources (权威数据源).

Subjects (with the 人口 and 法人 subjects seeded; the operator edits them like any other),
their sources, the authority order per field, and check runs with their agreement rows and
conflicts.

Revision ID: 0014_crosscheck
Revises: 0013_tickets
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime
from govdata.core.ids import new_id

revision = "0014_crosscheck"
down_revision = "0013_tickets"
branch_labels = None
depends_on = None

# Frozen here: later changes to the seed belong in a later migration.
SEED = [
    {
        "code": "population",
        "name": "人口",
        "description": "自然人基础信息：户籍、社保、民政等部门登记的同一人的信息比对。",
        "key_field": "resident_id",
        "fields": [
            {"code": "resident_id", "label": "公民身份号码", "kind": "id"},
            {"code": "name", "label": "姓名", "kind": "name"},
            {"code": "gender", "label": "性别", "kind": "gender"},
            {"code": "birth_date", "label": "出生日期", "kind": "date"},
            {"code": "ethnicity", "label": "民族", "kind": "code"},
            {"code": "address", "label": "住址", "kind": "address"},
        ],
    },
    {
        "code": "legal_entity",
        "name": "法人",
        "description": "法人单位基础信息：市场监管、税务、民政等部门登记的同一单位的信息比对。",
        "key_field": "credit_code",
        "fields": [
            {"code": "credit_code", "label": "统一社会信用代码", "kind": "id"},
            {"code": "name", "label": "名称", "kind": "text"},
            {"code": "legal_rep", "label": "法定代表人", "kind": "name"},
            {"code": "established", "label": "成立日期", "kind": "date"},
            {"code": "address", "label": "住所", "kind": "address"},
            {"code": "status", "label": "登记状态", "kind": "code"},
        ],
    },
]


def upgrade() -> None:
    op.create_table(
        "governance_subjects",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("key_field", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("updated_by_name", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_subjects")),
        sa.UniqueConstraint("code", name=op.f("uq_governance_subjects_code")),
    )
    op.create_table(
        "governance_crosscheck_runs",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("subject_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by_name", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("authority", sa.JSON(), nullable=False),
        sa.Column("key_count", sa.Integer(), nullable=False),
        sa.Column("shared_keys", sa.Integer(), nullable=False),
        sa.Column("conflict_count", sa.Integer(), nullable=False),
        sa.Column("conflicts_stored", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["governance_subjects.id"],
            name=op.f("fk_governance_crosscheck_runs_subject_id_governance_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_crosscheck_runs")),
    )
    op.create_index(
        "ix_governance_crosscheck_runs_subject",
        "governance_crosscheck_runs",
        ["subject_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "governance_crosscheck_conflicts",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("key_value", sa.String(length=255), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("source_ids", sa.Text(), nullable=False),
        sa.Column("winner_source_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["governance_crosscheck_runs.id"],
            name=op.f("fk_governance_crosscheck_conflicts_run_id_governance_crosscheck_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_crosscheck_conflicts")),
    )
    op.create_index(
        "ix_governance_crosscheck_conflicts_run",
        "governance_crosscheck_conflicts",
        ["run_id", "field", "key_value"],
        unique=False,
    )
    op.create_table(
        "governance_crosscheck_fields",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("source_a", sa.String(length=36), nullable=True),
        sa.Column("source_b", sa.String(length=36), nullable=True),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("agreed", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["governance_crosscheck_runs.id"],
            name=op.f("fk_governance_crosscheck_fields_run_id_governance_crosscheck_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_crosscheck_fields")),
    )
    op.create_index(
        "ix_governance_crosscheck_fields_run",
        "governance_crosscheck_fields",
        ["run_id", "field"],
        unique=False,
    )
    op.create_table(
        "governance_subject_sources",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("entry_name", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_by_name", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_governance_subject_sources_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_governance_subject_sources_entry_id_catalog_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["governance_subjects.id"],
            name=op.f("fk_governance_subject_sources_subject_id_governance_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_subject_sources")),
        sa.UniqueConstraint(
            "subject_id", "entry_id", name=op.f("uq_governance_subject_sources_subject_id")
        ),
    )
    op.create_index(
        op.f("ix_governance_subject_sources_subject_id"),
        "governance_subject_sources",
        ["subject_id"],
        unique=False,
    )
    op.create_table(
        "governance_authority",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["governance_subject_sources.id"],
            name=op.f("fk_governance_authority_source_id_governance_subject_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["governance_subjects.id"],
            name=op.f("fk_governance_authority_subject_id_governance_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_authority")),
        sa.UniqueConstraint("subject_id", "field", "rank", name="uq_governance_authority_rank"),
        sa.UniqueConstraint(
            "subject_id", "field", "source_id", name="uq_governance_authority_source"
        ),
    )
    subjects = sa.table(
        "governance_subjects",
        sa.column("id", sa.String),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("key_field", sa.String),
        sa.column("fields", sa.JSON),
        sa.column("builtin", sa.Boolean),
        sa.column("created_at", UTCDateTime(timezone=True)),
        sa.column("updated_at", UTCDateTime(timezone=True)),
    )
    at = datetime.now(UTC)
    op.bulk_insert(
        subjects,
        [dict(s, id=new_id(), builtin=True, created_at=at, updated_at=at) for s in SEED],
    )


def downgrade() -> None:
    op.drop_table("governance_authority")
    op.drop_index(
        op.f("ix_governance_subject_sources_subject_id"), table_name="governance_subject_sources"
    )
    op.drop_table("governance_subject_sources")
    op.drop_index("ix_governance_crosscheck_fields_run", table_name="governance_crosscheck_fields")
    op.drop_table("governance_crosscheck_fields")
    op.drop_index(
        "ix_governance_crosscheck_conflicts_run", table_name="governance_crosscheck_conflicts"
    )
    op.drop_table("governance_crosscheck_conflicts")
    op.drop_index("ix_governance_crosscheck_runs_subject", table_name="governance_crosscheck_runs")
    op.drop_table("governance_crosscheck_runs")
    op.drop_table("governance_subjects")
