"""Catalog: classification tree, entries, versions, items, events, synonyms, search text, standards, notifications.

Revision ID: 0004_catalog
Revises: 0003_jobs
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from govdata.core.db import UTCDateTime
from govdata.core.ids import new_id

revision = "0004_catalog"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None


# Full-text index over catalog_search (jieba tokens joined by spaces). Neither is a
# SQLAlchemy model, so the schema comparison in the tests leaves them out by name.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE catalog_fts USING fts5("
    "name_tokens, body_tokens, content='catalog_search', content_rowid='id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER catalog_fts_ai AFTER INSERT ON catalog_search BEGIN "
    "INSERT INTO catalog_fts(rowid, name_tokens, body_tokens) "
    "VALUES (new.id, new.name_tokens, new.body_tokens); END",
    "CREATE TRIGGER catalog_fts_ad AFTER DELETE ON catalog_search BEGIN "
    "INSERT INTO catalog_fts(catalog_fts, rowid, name_tokens, body_tokens) "
    "VALUES ('delete', old.id, old.name_tokens, old.body_tokens); END",
    "CREATE TRIGGER catalog_fts_au AFTER UPDATE ON catalog_search BEGIN "
    "INSERT INTO catalog_fts(catalog_fts, rowid, name_tokens, body_tokens) "
    "VALUES ('delete', old.id, old.name_tokens, old.body_tokens); "
    "INSERT INTO catalog_fts(rowid, name_tokens, body_tokens) "
    "VALUES (new.id, new.name_tokens, new.body_tokens); END",
]
# PostgreSQL keeps the weighted vector (name A, the rest D) in a generated column, so ranking
# reads it instead of re-parsing every match's text.
PG_FTS = [
    "ALTER TABLE catalog_search ADD COLUMN catalog_fts_vector tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('simple', name_tokens), 'A') || "
    "setweight(to_tsvector('simple', body_tokens), 'D')) STORED",
    "CREATE INDEX ix_catalog_search_fts ON catalog_search USING gin (catalog_fts_vector)",
]


def _create_fts() -> None:
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else PG_FTS
    for sql in statements:
        op.execute(sql)


def _drop_fts() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS catalog_fts_ai")
        op.execute("DROP TRIGGER IF EXISTS catalog_fts_ad")
        op.execute("DROP TRIGGER IF EXISTS catalog_fts_au")
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_catalog_search_fts")
        op.execute("ALTER TABLE catalog_search DROP COLUMN IF EXISTS catalog_fts_vector")


def upgrade() -> None:
    generation = op.create_table(
        "catalog_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.String(36), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_generation"),
    )
    op.bulk_insert(generation, [{"id": 1, "epoch": new_id(), "value": 0}])
    op.create_table(
        "catalog_classes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=1), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["catalog_classes.id"],
            name=op.f("fk_catalog_classes_parent_id_catalog_classes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_classes")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_classes_code")),
    )
    op.create_index(
        op.f("ix_catalog_classes_parent_id"), "catalog_classes", ["parent_id"], unique=False
    )

    op.create_table(
        "catalog_code_sequences",
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_catalog_code_sequences")),
    )
    op.create_table(
        "catalog_synonyms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_synonyms")),
        sa.UniqueConstraint("term", name=op.f("uq_catalog_synonyms_term")),
    )
    op.create_table(
        "code_sets",
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=True),
        sa.Column("standard", sa.String(length=128), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_sets")),
        sa.UniqueConstraint("identifier", name=op.f("uq_code_sets_identifier")),
    )
    op.create_table(
        "code_values",
        sa.Column("code_set_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("label_en", sa.String(length=128), nullable=True),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_set_id"],
            ["code_sets.id"],
            name=op.f("fk_code_values_code_set_id_code_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_values")),
        sa.UniqueConstraint("code_set_id", "code", name=op.f("uq_code_values_code_set_id")),
    )
    op.create_table(
        "data_elements",
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("data_type", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=True),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("value_domain", sa.Text(), nullable=True),
        sa.Column("code_set_id", sa.String(length=36), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_set_id"], ["code_sets.id"], name=op.f("fk_data_elements_code_set_id_code_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_elements")),
        sa.UniqueConstraint("identifier", name=op.f("uq_data_elements_identifier")),
    )
    op.create_index(
        op.f("ix_data_elements_code_set_id"), "data_elements", ["code_set_id"], unique=False
    )
    op.create_index(op.f("ix_data_elements_name"), "data_elements", ["name"], unique=False)

    op.create_table(
        "catalog_entries",
        sa.Column("resource_code", sa.String(length=64), nullable=False),
        sa.Column("classification_id", sa.String(length=36), nullable=False),
        sa.Column("class_code", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=1), nullable=False),
        sa.Column("provider_department_id", sa.String(length=36), nullable=False),
        sa.Column("provider_code", sa.String(length=32), nullable=False),
        sa.Column("provider_name", sa.String(length=128), nullable=False),
        sa.Column("provider_credit_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("region_path", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("upper_code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("working_status", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_version_id", sa.String(length=36), nullable=True),
        sa.Column("working_version_id", sa.String(length=36), nullable=True),
        sa.Column("latest_version_no", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["catalog_classes.id"],
            name=op.f("fk_catalog_entries_classification_id_catalog_classes"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_entries_provider_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entries")),
        sa.UniqueConstraint("resource_code", name=op.f("uq_catalog_entries_resource_code")),
    )
    op.create_index(
        op.f("ix_catalog_entries_class_code"), "catalog_entries", ["class_code"], unique=False
    )
    op.create_index(
        op.f("ix_catalog_entries_classification_id"),
        "catalog_entries",
        ["classification_id"],
        unique=False,
    )
    op.create_index(
        "ix_catalog_entries_provider",
        "catalog_entries",
        ["provider_department_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_catalog_entries_region_code"), "catalog_entries", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_catalog_entries_region_path"), "catalog_entries", ["region_path"], unique=False
    )
    op.create_index(
        "ix_catalog_entries_status_updated",
        "catalog_entries",
        ["status", "updated_at"],
        unique=False,
    )
    op.create_index(
        "ix_catalog_entries_updated", "catalog_entries", ["updated_at", "id"], unique=False
    )
    op.create_index("ix_catalog_entries_name", "catalog_entries", ["name", "id"], unique=False)
    op.create_index(
        op.f("ix_catalog_entries_upper_code"), "catalog_entries", ["upper_code"], unique=False
    )
    op.create_index(
        op.f("ix_catalog_entries_working_status"),
        "catalog_entries",
        ["working_status"],
        unique=False,
    )

    op.create_table(
        "catalog_events",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_name", sa.String(length=128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_catalog_events_entry_id_catalog_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_events")),
    )
    op.create_index("ix_catalog_events_entry", "catalog_events", ["entry_id", "at"], unique=False)

    op.create_table(
        "catalog_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("name_tokens", sa.Text(), nullable=False),
        sa.Column("body_tokens", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_catalog_search_entry_id_catalog_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_search")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_catalog_search_entry_id")),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("share_condition", sa.Text(), nullable=True),
        sa.Column("not_shared_basis", sa.Text(), nullable=True),
        sa.Column("share_modes", sa.JSON(), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=True),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("publish_date", sa.Date(), nullable=True),
        sa.Column("related_codes", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("contact_name", sa.String(length=64), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("contact_email", sa.String(length=255), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("conformance", sa.JSON(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=36), nullable=True),
        sa.Column("submitted_by_name", sa.String(length=128), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_by_name", sa.String(length=128), nullable=True),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entries.id"],
            name=op.f("fk_catalog_versions_entry_id_catalog_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("entry_id", "version_no", name=op.f("uq_catalog_versions_entry_id")),
    )
    op.create_index(
        op.f("ix_catalog_versions_entry_id"), "catalog_versions", ["entry_id"], unique=False
    )

    op.create_table(
        "notifications",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title_zh", sa.String(length=255), nullable=False),
        sa.Column("title_en", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("link", sa.String(length=255), nullable=True),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_user", "notifications", ["user_id", "created_at"], unique=False
    )

    op.create_table(
        "catalog_items",
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=True),
        sa.Column("data_type", sa.String(length=16), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.Column("is_sensitive", sa.Boolean(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("data_element", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_items_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_items")),
        sa.UniqueConstraint("version_id", "position", name=op.f("uq_catalog_items_version_id")),
    )
    op.create_index(
        op.f("ix_catalog_items_data_element"), "catalog_items", ["data_element"], unique=False
    )
    op.create_index(
        op.f("ix_catalog_items_version_id"), "catalog_items", ["version_id"], unique=False
    )
    _create_fts()


def downgrade() -> None:
    _drop_fts()
    op.drop_table("catalog_generation")
    op.drop_table("catalog_items")
    op.drop_table("notifications")
    op.drop_table("catalog_versions")
    op.drop_table("catalog_search")
    op.drop_table("catalog_events")
    op.drop_table("catalog_entries")
    op.drop_table("data_elements")
    op.drop_table("code_values")
    op.drop_table("code_sets")
    op.drop_table("catalog_synonyms")
    op.drop_table("catalog_code_sequences")
    op.drop_table("catalog_classes")
