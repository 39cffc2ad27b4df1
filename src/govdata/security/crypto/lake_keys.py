"""The lake's way to the data keys of its tables: read them (and, when writing, create the
first one) from the node's store, in short transactions of their own.

The lake is handed only ``Settings`` (``Lake.from_settings``), so the store is reached through
an engine per store URL, kept for the process: opening one per read would cost a connection
handshake and dialect set-up on every data-service call to an encrypted table. The engine
does not pool: an idle process holds no connection. Plaintext keys are never cached here: a
key destroyed a moment ago does not open anything on the next read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from govdata.config import Settings
from govdata.core.db import make_engine
from govdata.security.audit import write_audit
from govdata.security.context_types import SYSTEM
from govdata.security.crypto import envelope
from govdata.security.crypto.envelope import OwnerKeys
from govdata.security.crypto.keyring import Keyring

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def _engine(url: str) -> Engine:
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url, pooled=False)
        return engine


class LakeKeys:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[Session]:
        engine = _engine(self.settings.db_url)
        if write:
            engine = engine.execution_options(govdata_immediate=True)
        with sessionmaker(engine, expire_on_commit=False)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def for_read(self, table: str) -> OwnerKeys:
        with self._session() as s:
            return envelope.load(s, Keyring(self.settings), envelope.lake_owner(table))

    def for_write(self, table: str, entry_id: str | None) -> OwnerKeys:
        """The table's keys, after creating its first (or, once shredded, a new) data key."""
        found = self.for_read(table)
        if found.current is not None:
            # The common case: no write lock is taken (SQLite takes it at BEGIN IMMEDIATE).
            return found
        owner = envelope.lake_owner(table)
        keyring = Keyring(self.settings)
        for attempt in range(3):
            try:
                with self._session(write=True) as s:
                    row = envelope.ensure(s, keyring, owner, entry_id)
                    if row is not None:
                        write_audit(
                            s,
                            SYSTEM,
                            "security.data_key.create",
                            target_type="data_key",
                            target_id=row.id,
                            details={
                                "owner": owner,
                                "key_id": row.key_id,
                                "generation": row.generation,
                                "master_key_id": row.master_key_id,
                            },
                        )
                    return envelope.load(s, keyring, owner)
            except IntegrityError:
                # Another writer created the key at the same moment (PostgreSQL): use theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
