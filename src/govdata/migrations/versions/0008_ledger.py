"""Audit ledger: leaves, tree nodes, signed tree heads, peer heads.

Revision ID: 0008_ledger
Revises: 0007_sharing
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlglot import exp

from govdata.core.db import UTCDateTime
from govdata.core.sqlident import quote_identifier

revision = "0008_ledger"
down_revision = "0007_sharing"
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_leaves", "ledger_nodes", "ledger_heads", "ledger_peer_heads")


def _sqlite_triggers(table: str) -> list[str]:
    # Names quoted and the message rendered as a literal (docs/security/hardening.md, SQL).
    on = quote_identifier(table, "sqlite")
    no_update = quote_identifier(f"{table}_no_update", "sqlite")
    no_delete = quote_identifier(f"{table}_no_delete", "sqlite")
    message = exp.Literal.string(f"{table} is append-only").sql("sqlite")
    return [
        f"""CREATE TRIGGER {no_update} BEFORE UPDATE ON {on}
            BEGIN SELECT RAISE(ABORT, {message}); END""",
        f"""CREATE TRIGGER {no_delete} BEFORE DELETE ON {on}
            BEGIN SELECT RAISE(ABORT, {message}); END""",
    ]


def _pg_triggers(table: str) -> list[str]:
    # audit_records_append_only() comes from 0001_audit.
    on = quote_identifier(table, "postgresql")
    no_change = quote_identifier(f"{table}_no_change", "postgresql")
    no_truncate = quote_identifier(f"{table}_no_truncate", "postgresql")
    return [
        f"""CREATE TRIGGER {no_change} BEFORE UPDATE OR DELETE ON {on}
            FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()""",
        f"""CREATE TRIGGER {no_truncate} BEFORE TRUNCATE ON {on}
            FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()""",
    ]


def upgrade() -> None:
    op.create_table(
        "ledger_pending",
        sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("n", name=op.f("pk_ledger_pending")),
        sa.UniqueConstraint("record_id", name=op.f("uq_ledger_pending_record_id")),
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("seq", sa.BigInteger(), autoincrement=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_leaves")),
        sa.UniqueConstraint("record_id", name=op.f("uq_ledger_leaves_record_id")),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_heads",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.LargeBinary(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_heads")),
    )
    op.create_index("ix_ledger_heads_tree_size", "ledger_heads", ["tree_size"])
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), autoincrement=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("sealed_at", UTCDateTime()),
        sa.Column("verified_at", UTCDateTime()),
        sa.Column("verified_ok", sa.Boolean()),
        sa.Column("verified_size", sa.BigInteger()),
        sa.Column("verified_problem", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.create_table(
        "ledger_peers",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_ledger_peers")),
    )
    op.create_table(
        "ledger_peer_heads",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.LargeBinary(128), nullable=False),
        sa.Column("countersigned_at", UTCDateTime(), nullable=False),
        sa.Column("countersigner", sa.String(64), nullable=False),
        sa.Column("countersign_algorithm", sa.String(16), nullable=False),
        sa.Column("countersign_key_id", sa.String(16), nullable=False),
        sa.Column("countersignature", sa.LargeBinary(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_peer_heads")),
    )
    op.create_index("ix_ledger_peer_heads_node_size", "ledger_peer_heads", ["node_id", "tree_size"])
    op.execute("INSERT INTO ledger_state (id, tree_size) VALUES (1, 0)")
    # Records written before the ledger existed become its first leaves, oldest first.
    op.execute(
        "INSERT INTO ledger_pending (record_id) SELECT id FROM audit_records ORDER BY at, id"
    )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for stmt in _pg_triggers(table) if dialect == "postgresql" else _sqlite_triggers(table):
            op.execute(stmt)


def downgrade() -> None:
    for table in (*reversed(APPEND_ONLY), "ledger_peers", "ledger_state", "ledger_pending"):
        op.drop_table(table)
