"""Throw-away PostgreSQL databases dropped off the tests' path.

Every ``DROP DATABASE`` asks PostgreSQL for a checkpoint (every dirty buffer of the server
written and synced) and waits for it: seconds on a busy machine, for each test that made a
store or a source database. ``drop_later`` hands the database to a thread that takes all
the names that piled up while it was busy and drops them at once, each on a connection of
its own: drops that wait together share one checkpoint. ``finish`` (at the end of the test
session) drops what is left and raises the first error, if any.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, create_engine, text

PARALLEL = 8


def drop_now(admin_url: str, name: str, engine: Engine | None = None) -> None:
    """Drop ``name`` with what holds it open: sessions, then replication slots left idle."""
    own = engine is None
    engine = engine or create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE database = :name AND NOT active"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        if own:
            engine.dispose()


class Dropper:
    def __init__(self) -> None:
        self._pending: list[tuple[str, str]] = []
        self._errors: list[BaseException] = []
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
        self._thread.start()

    def drop(self, admin_url: str, name: str) -> bool:
        """Queue the drop; False once the dropper is closed (the caller drops it)."""
        with self._cond:
            if self._closed:
                return False
            self._pending.append((admin_url, name))
            self._cond.notify()
            return True

    def _run(self) -> None:
        engines: dict[str, Engine] = {}
        lock = threading.Lock()

        def drop(item: tuple[str, str]) -> None:
            url, name = item
            with lock:
                if url not in engines:
                    engines[url] = create_engine(
                        url, isolation_level="AUTOCOMMIT", pool_size=PARALLEL, max_overflow=0
                    )
            try:
                drop_now(url, name, engines[url])
            except Exception as exc:  # reported by close(), at the end of the session
                self._errors.append(exc)

        try:
            with ThreadPoolExecutor(PARALLEL, thread_name_prefix="pg-drop") as pool:
                while True:
                    with self._cond:
                        while not self._pending and not self._closed:
                            self._cond.wait()
                        if not self._pending:
                            return
                        batch, self._pending = self._pending, []
                    list(pool.map(drop, batch))
        finally:
            for engine in engines.values():
                engine.dispose()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        if self._errors:
            raise self._errors[0]


_dropper: Dropper | None = None
_guard = threading.Lock()


def drop_later(admin_url: str, name: str) -> None:
    global _dropper
    with _guard:
        if _dropper is None:
            _dropper = Dropper()
        queued = _dropper.drop(admin_url, name)
    if not queued:
        drop_now(admin_url, name)


def finish() -> None:
    """Drop every queued database and stop the thread; the next drop_later starts a new one."""
    global _dropper
    with _guard:
        dropper, _dropper = _dropper, None
    if dropper is not None:
        dropper.close()
