"""The audit ledger in the store: sealing, heads, proofs, and tampering named by verification.

The tampering tests act as a database administrator would: they switch off the
append-only triggers and change rows with plain SQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from govdata.config import Settings
from govdata.core.db import Database
from govdata.security.audit import write_audit
from govdata.security.context import Caller
from govdata.security.context_types import SYSTEM
from govdata.security.ledger import actions, bundle, heads, merkle, tree
from govdata.security.ledger.models import LedgerLeaf
from govdata.security.ledger.verify import verify_ledger

N = 21  # odd and not a power of two: every shape of the right edge occurs


def _write(db: Database, n: int, start: int = 0) -> list[str]:
    ids = []
    with db.transaction() as s:
        for i in range(start, start + n):
            rec = write_audit(
                s,
                SYSTEM,
                "data.read",
                target_type="entry",
                target_id=f"e{i}",
                fields=["name"],
                row_count=i,
                details={"key": f"k{i}", "n": i},
            )
            ids.append(rec.id)
    return ids


def _seal_and_sign(db: Database, settings: Settings) -> None:
    with db.transaction(immediate=True) as s:
        actions.seal_all(s)
        heads.issue(s, settings)


@pytest.fixture
def ledger(db: Database, settings: Settings) -> list[str]:
    ids = _write(db, N)
    _seal_and_sign(db, settings)
    return ids


def _verify(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return verify_ledger(s, settings)


@pytest.fixture
def tamper(db: Database) -> Iterator[Session]:
    """A session with the append-only triggers off, as a DBA could do."""
    tables = ["audit_records", "ledger_leaves", "ledger_nodes", "ledger_heads"]
    with db.transaction() as s:
        if db.dialect == "postgresql":
            for t in tables:
                s.execute(text(f"ALTER TABLE {t} DISABLE TRIGGER USER"))
        else:
            names = s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for name in list(names):
                s.execute(text(f'DROP TRIGGER "{name}"'))
        yield s


def test_sealing_numbers_records_and_builds_the_tree(db: Database, settings: Settings) -> None:
    ids = _write(db, N)
    with db.transaction(immediate=True) as s:
        assert tree.pending_count(s) == N
        assert tree.seal(s, batch=8) == 8  # batches: the rest waits in the queue
        assert actions.seal_all(s) == N - 8
        assert tree.pending_count(s) == 0 and tree.state(s).tree_size == N
        leaves = list(s.scalars(select(LedgerLeaf).order_by(LedgerLeaf.seq)))
        assert [leaf.record_id for leaf in leaves] == ids
        stored_root = tree.root_at(s, N)
    # The stored nodes give the same root as the tree built from the leaves by definition.
    assert stored_root == _root_by_definition(db)
    assert _verify(db, settings).ok


def _root_by_definition(db: Database) -> bytes:
    from govdata.security.ledger.leaves import COLUMNS, leaf_bytes
    from govdata.security.models import AuditRecord

    with db.sessions() as s:
        rows = s.execute(
            select(LedgerLeaf.seq, *[AuditRecord.__table__.c[c] for c in COLUMNS])
            .join(AuditRecord, AuditRecord.id == LedgerLeaf.record_id)
            .order_by(LedgerLeaf.seq)
        ).all()
    return merkle.root_from_leaves(
        merkle.sm3, [leaf_bytes(r.seq, {c: r._mapping[c] for c in COLUMNS}) for r in rows]
    )


def test_inclusion_and_consistency_proofs_check_offline(
    db: Database, settings: Settings, ledger: list[str]
) -> None:
    auditor = Caller(db, settings, SYSTEM)
    with auditor.act() as ctx:
        first = actions.tree_head(ctx)
    assert first.tree_size == N and first.algorithm == "SM2-SM3"
    more = _write(db, 7, start=N)
    with auditor.act() as ctx:
        proof = actions.prove_inclusion(ctx, ledger[5])
        late = actions.prove_inclusion(ctx, more[-1])
        consistency = actions.prove_consistency(ctx, first.tree_size, late.tree_size)
    # The proofs were audited too, so the tree moved on; every proof names its head.
    assert proof.leaf_index == 5 and proof.tree_head is not None
    assert proof.leaf is not None and proof.leaf["id"] == ledger[5]
    assert late.tree_size > N + 6 and late.leaf_index == N + 6
    for doc in (proof, late):
        assert bundle.check_inclusion(doc.model_dump(mode="json")) == []
    assert consistency.first_root == first.root_hash
    assert bundle.check_consistency(consistency.model_dump(mode="json")) == []
    forged = proof.model_dump(mode="json")
    forged["leaf"]["row_count"] = 999
    assert bundle.check_inclusion(forged) == ["leaf content does not hash to leaf_hash"]
    forged = late.model_dump(mode="json")
    forged["tree_head"]["signature"] = "00" * 64
    assert bundle.check_inclusion(forged) == ["tree head signature does not verify"]


def test_intact_ledger_verifies(db: Database, settings: Settings, ledger: list[str]) -> None:
    report = _verify(db, settings)
    assert report.ok and report.problem is None
    assert report.tree_size == N and report.heads_checked == 1
    with db.sessions() as s:
        assert report.root_hash == bytes(heads.latest(s).root_hash).hex()  # type: ignore[union-attr]


def test_altered_record_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    tamper.execute(text("UPDATE audit_records SET row_count = 0 WHERE id = :id"), {"id": ledger[9]})
    tamper.execute(
        text("UPDATE audit_records SET outcome = 'denied' WHERE id = :id"), {"id": ledger[14]}
    )
    tamper.commit()
    report = _verify(db, settings)
    assert not report.ok and report.problem is not None
    assert (report.problem.kind, report.problem.seq, report.problem.record_id) == (
        "altered",
        9,
        ledger[9],
    )


def test_deleted_record_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    tamper.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": ledger[3]})
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.record_id) == ("deleted", 3, ledger[3])


def test_reordered_records_are_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    # Swap leaves 6 and 11 (with their hashes: each leaf still matches its record alone).
    tamper.execute(text("UPDATE ledger_leaves SET seq = -1 WHERE seq = 6"))
    tamper.execute(text("UPDATE ledger_leaves SET seq = 6 WHERE seq = 11"))
    tamper.execute(text("UPDATE ledger_leaves SET seq = 11 WHERE seq = -1"))
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.record_id) == ("altered", 6, ledger[11])


def test_reordered_by_time_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    # Moving a record earlier in time changes what it says.
    at = tamper.scalar(text("SELECT at FROM audit_records WHERE id = :id"), {"id": ledger[0]})
    tamper.execute(
        text("UPDATE audit_records SET at = :at WHERE id = :id"), {"at": at, "id": ledger[17]}
    )
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None and (problem.seq, problem.record_id) == (17, ledger[17])


def test_truncated_ledger_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    for table, col in (("audit_records", "id"), ("ledger_leaves", "record_id")):
        stmt = text(f"DELETE FROM {table} WHERE {col} IN :ids")
        tamper.execute(stmt.bindparams(bindparam("ids", expanding=True)), {"ids": ledger[16:]})
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None
    assert (problem.kind, problem.seq) == ("truncated", 16)


def test_consistent_rewrite_is_caught_by_the_signed_head(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    """An administrator who rewrites a record and recomputes every stored hash still cannot
    sign: the signed head no longer matches, which bounds the change."""
    from govdata.security.ledger.leaves import COLUMNS, leaf_bytes
    from govdata.security.models import AuditRecord

    tamper.execute(text("UPDATE audit_records SET row_count = 0 WHERE id = :id"), {"id": ledger[9]})
    tamper.execute(text("DELETE FROM ledger_nodes"))
    tamper.execute(text("DELETE FROM ledger_leaves"))
    tamper.commit()
    with db.transaction() as s:
        frontier = merkle.Frontier(merkle.sm3)
        for seq, rid in enumerate(ledger):
            row = s.execute(
                select(*[AuditRecord.__table__.c[c] for c in COLUMNS]).where(AuditRecord.id == rid)
            ).one()
            digest = merkle.leaf_hash(merkle.sm3, leaf_bytes(seq, dict(row._mapping)))
            for level, idx, h in frontier.append(digest):
                if level == 0:
                    s.add(LedgerLeaf(seq=idx, record_id=rid, leaf_hash=h))
                else:
                    s.execute(
                        text("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                        {"l": level, "i": idx, "h": h},
                    )
    problem = _verify(db, settings).problem
    assert problem is not None and problem.kind == "head_mismatch"
    assert "0" in problem.message_en and str(N - 1) in problem.message_en


def test_altered_tree_node_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    tamper.execute(
        text("UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND idx = 1"), {"h": b"\x00" * 32}
    )
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None and (problem.kind, problem.seq) == ("node_mismatch", 4)


def test_forged_head_signature_is_refused(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    tamper.execute(text("UPDATE ledger_heads SET signature = :s"), {"s": b"\x01" * 64})
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None and problem.kind == "bad_signature"


def test_record_written_around_the_audit_function_is_named(
    db: Database, settings: Settings, ledger: list[str], tamper: Session
) -> None:
    tamper.execute(
        text(
            "INSERT INTO audit_records (id, at, actor_kind, actor_name, roles, action, outcome) "
            "VALUES ('forged-1', :at, 'system', 'x', '', 'x', 'success')"
        ),
        {"at": "2026-01-01"},
    )
    tamper.commit()
    problem = _verify(db, settings).problem
    assert problem is not None and (problem.kind, problem.record_id) == ("unsealed", "forged-1")


def test_heads_are_issued_on_demand_and_when_due(db: Database, settings: Settings) -> None:
    _write(db, 3)
    with db.transaction(immediate=True) as s:
        actions.seal_all(s)
        first = heads.issue_if_due(s, settings)  # none yet: issued
        again = heads.issue_if_due(s, settings)  # same size: the same head
        assert again.id == first.id
    _write(db, 2, start=3)
    with db.transaction(immediate=True) as s:
        actions.seal_all(s)
        assert heads.issue_if_due(s, settings).id == first.id  # grew, but not yet due
        fresh = heads.issue_if_due(s, settings, on_demand=True)
        assert fresh.tree_size == 5 and fresh.id != first.id


def test_proofs_for_many_records_are_fetched_in_chunks(
    db: Database, ledger: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export proves thousands of records from one fetch, split into bounded statements."""
    monkeypatch.setattr(tree, "_FETCH_CHUNK", 2)
    plans = {i: merkle.inclusion_plan(i, N) for i in range(N)}
    with db.sessions() as s:
        wanted = set().union(*(merkle.plan_nodes(p) for p in plans.values()))
        nodes = tree.fetch_nodes(s, wanted | {(0, i) for i in range(N)})
        root = tree.root_at(s, N)
    for i, plan in plans.items():
        path = merkle.resolve(merkle.sm3, plan, nodes)
        assert merkle.verify_inclusion(merkle.sm3, i, N, nodes[(0, i)], path, root)
    with db.sessions() as s, pytest.raises(LookupError):
        tree.fetch_nodes(s, {(0, N + 5)})
