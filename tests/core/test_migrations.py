"""The migrations are the schema: they must produce exactly what the models declare, and reverse."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from govdata.core.db import Base, Database, alembic_config
from govdata.core.models_registry import import_all_models

# Full-text search structures that SQLAlchemy cannot model (an FTS5 virtual table and its
# shadow tables on SQLite, an expression GIN index on PostgreSQL).
NOT_MODELLED = ("catalog_fts", "ix_catalog_search_fts")


def _modelled(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(NOT_MODELLED)


def test_migrated_schema_matches_models(store_url: str) -> None:
    import_all_models()
    db = Database(store_url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _modelled})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert db.is_migrated()
    finally:
        db.dispose()


def test_downgrade_to_base_and_back(store_url: str) -> None:
    import_all_models()
    db = Database(store_url)
    try:
        cfg = alembic_config(store_url)
        command.downgrade(cfg, "base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        assert not db.is_migrated()
        db.migrate()
        assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
        assert db.is_migrated()
    finally:
        db.dispose()
