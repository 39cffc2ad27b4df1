"""The audit ledger: sealing throughput and full verification, each as a ratio to SM3-hashing
the same bytes in the same run; inclusion proof size and time at 1M and 10M leaves.

1. Append: ``--records`` (1M) audit records are written the way ``write_audit`` writes them
   (the record and its queue row, 10k per transaction), then sealed in the ledger's batches
   (``seal``: read the queued records, build their leaf bytes, SM3 them, compute the tree
   nodes they complete, store leaves and nodes, empty the queue). Reported: records/s
   sealed, and as a ratio to the raw limit — the same leaf bytes hashed with SM3 (leaf
   prefix) plus the tree's node hashes, in one Python loop, nothing stored.
2. Verify: ``verify_ledger`` over the same ledger (stream every record joined with its
   leaf, rebuild leaf bytes and hashes, rebuild the tree, compare stored nodes and the
   signed head), as seconds and as a ratio to the same raw limit.
3. Proofs at 1M leaves (the ledger above) and at 10M leaves (a tree of synthetic leaf hashes
   stored through the same tables and ``Frontier``): hashes per inclusion proof, bytes, and
   p50/p99 time to make one (plan, fetch the nodes in one go, fold) over 200 random leaves,
   with the p50 as a ratio to one primary-key lookup of a leaf in the same store (the limit:
   a proof cannot take less than one read of the store).

The store is a SQLite file (embedded profile) or PostgreSQL (``--store postgresql``:
database ``govdata_bench_ledger``, created and dropped).

    python bench/ledger.py --json data/bench-ledger.json
    python bench/ledger.py --records 100000 --big 1000000     # for development
"""

from __future__ import annotations

import argparse
import json
import platform as py_platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.db import Database
from govdata.core.ids import new_id
from govdata.security.ledger import heads, merkle
from govdata.security.ledger.actions import seal_all
from govdata.security.ledger.leaves import COLUMNS, leaf_bytes
from govdata.security.ledger.models import LedgerLeaf, LedgerNode, LedgerPending
from govdata.security.ledger.tree import fetch_nodes
from govdata.security.ledger.verify import verify_ledger
from govdata.security.models import AuditRecord

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "govdata_bench_ledger"
WRITE_BATCH = 10_000
PROOF_SAMPLES = 200


def _record(i: int, base: Any) -> dict[str, Any]:
    """An audit record like a data-service read writes."""
    return {
        "id": new_id(),
        "at": base + timedelta(milliseconds=i),
        "actor_kind": "app",
        "actor_id": "0193a000-0000-7000-8000-000000000001",
        "actor_name": "app:民政局低保核验",
        "roles": "dept_user",
        "action": "data.read",
        "target_type": "catalog_entry",
        "target_id": "A10010100010001",
        "outcome": "success",
        "client_addr": f"10.1.{i % 250}.{i % 199}",
        "fields": "name,id_number,address",
        "row_count": 1,
        "details": {
            "grant": "0193a000-0000-7000-8000-0000000000aa",
            "keys": [f"K{i:09d}"],
            "purpose": "低保资格核验",
        },
    }


def write_records(db: Database, n: int) -> float:
    base = now()
    t0 = time.perf_counter()
    for start in range(0, n, WRITE_BATCH):
        rows = [_record(i, base) for i in range(start, min(n, start + WRITE_BATCH))]
        with db.transaction() as s:
            s.execute(insert(AuditRecord), rows)
            s.execute(insert(LedgerPending), [{"record_id": r["id"]} for r in rows])
    return time.perf_counter() - t0


def raw_limit(db: Database) -> tuple[float, int]:
    """SM3 over the same leaf bytes plus the tree's node hashes, nothing else: seconds, n."""
    record = AuditRecord.__table__
    stmt = (
        select(LedgerLeaf.seq, *[record.c[c] for c in COLUMNS])
        .join(record, record.c.id == LedgerLeaf.record_id)
        .order_by(LedgerLeaf.seq)
        .execution_options(yield_per=10_000)
    )
    with db.sessions() as s:
        blobs = [
            leaf_bytes(r.seq, {c: r._mapping[record.c[c]] for c in COLUMNS})
            for r in s.execute(stmt)
        ]
    h = merkle.sm3
    t0 = time.perf_counter()
    frontier = merkle.Frontier(h)
    for blob in blobs:
        frontier.append(merkle.leaf_hash(h, blob))
    frontier.root()
    return time.perf_counter() - t0, len(blobs)


def seal_everything(db: Database, settings: Settings) -> float:
    t0 = time.perf_counter()
    while True:
        with db.transaction(immediate=True) as s:
            if not seal_all(s, rounds=4):
                break
    with db.transaction(immediate=True) as s:
        heads.issue(s, settings)
    return time.perf_counter() - t0


def proof_times(db: Database, size: int) -> dict[str, Any]:
    rng = random.Random(7)
    times, lengths = [], []
    with db.sessions() as s:
        for _ in range(PROOF_SAMPLES):
            index = rng.randrange(size)
            t0 = time.perf_counter()
            plan = merkle.inclusion_plan(index, size)
            nodes = fetch_nodes(s, merkle.plan_nodes(plan))
            path = merkle.resolve(merkle.sm3, plan, nodes)
            times.append(time.perf_counter() - t0)
            lengths.append(len(path))
        root = merkle.root_of(merkle.sm3, size, fetch_nodes(s, merkle.range_nodes(0, size)))
        leaf = fetch_nodes(s, [(0, index)])[(0, index)]
        assert merkle.verify_inclusion(merkle.sm3, index, size, leaf, path, root)
    times.sort()
    lookups = _lookup_times(db, size, rng)
    return {
        "leaves": size,
        "hashes_per_proof_max": max(lengths),
        "hashes_per_proof_mean": round(statistics.fmean(lengths), 2),
        "proof_bytes_max": max(lengths) * 32,
        "p50_ms": round(times[len(times) // 2] * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
        # The limit: one primary-key lookup of a leaf in the same store, same run.
        "pk_lookup_p50_ms": round(lookups * 1000, 3),
        "p50_ratio_to_pk_lookup": round(times[len(times) // 2] / lookups, 2),
    }


def _lookup_times(db: Database, size: int, rng: random.Random) -> float:
    """The median time of one ``SELECT leaf_hash … WHERE seq = ?``."""
    times = []
    with db.sessions() as s:
        for _ in range(PROOF_SAMPLES):
            seq = rng.randrange(size)
            t0 = time.perf_counter()
            s.execute(select(LedgerLeaf.leaf_hash).where(LedgerLeaf.seq == seq)).scalar_one()
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def build_synthetic(db: Database, size: int) -> float:
    """A tree of ``size`` synthetic leaves stored in the ledger tables (no audit records)."""
    h = merkle.sm3
    frontier = merkle.Frontier(h)
    t0 = time.perf_counter()
    leaves: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for i in range(size):
        for level, idx, digest in frontier.append(h(i.to_bytes(8, "big"))):
            if level == 0:
                leaves.append({"seq": idx, "record_id": f"synthetic-{idx}", "leaf_hash": digest})
            else:
                nodes.append({"level": level, "idx": idx, "hash": digest})
        if len(leaves) >= 100_000 or i == size - 1:
            with db.transaction() as s:
                s.execute(insert(LedgerLeaf), leaves)
                s.execute(insert(LedgerNode), nodes)
            leaves, nodes = [], []
    return time.perf_counter() - t0


def _store(kind: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'{name}.db'}"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}_{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DB}_{name}"'))
    engine.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{PG_DB}_{name}"


def _drop(kind: str, name: str) -> None:
    if kind == "postgresql":
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}_{name}" WITH (FORCE)'))
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="leaves of the proof tree")
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": py_platform.machine(),
        "store": args.store,
        "records": args.records,
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = _store(args.store, tmp, "main")
        settings = Settings(data_dir=tmp / "data", database_url=url, ledger_seal_seconds=0)
        db = Database(url)
        db.migrate()
        try:
            wrote = write_records(db, args.records)
            out["write_records_per_s"] = round(args.records / wrote)
            sealed = seal_everything(db, settings)
            out["seal_seconds"] = round(sealed, 3)
            out["seal_records_per_s"] = round(args.records / sealed)
            raw, n = raw_limit(db)
            assert n == args.records
            out["raw_sm3_seconds"] = round(raw, 3)
            out["raw_sm3_records_per_s"] = round(n / raw)
            out["seal_ratio_to_raw"] = round(raw / sealed, 4)
            t0 = time.perf_counter()
            with db.transaction() as s:
                report = verify_ledger(s, settings)
            verified = time.perf_counter() - t0
            assert report.ok and report.tree_size == args.records, report.problem
            out["verify_seconds"] = round(verified, 3)
            out["verify_ratio_to_raw"] = round(raw / verified, 4)
            out["proofs_at_records"] = proof_times(db, args.records)
        finally:
            db.dispose()
            _drop(args.store, "main")
        print(json.dumps(out, ensure_ascii=False, indent=2), flush=True)
        url = _store(args.store, tmp, "big")
        big = Database(url)
        big.migrate()
        try:
            out["big_build_seconds"] = round(build_synthetic(big, args.big), 1)
            out["proofs_at_big"] = proof_times(big, args.big)
        finally:
            big.dispose()
            _drop(args.store, "big")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
