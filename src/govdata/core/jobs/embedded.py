"""The embedded profile's worker: one worker thread inside the web process."""

from __future__ import annotations

from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.jobs.worker import Worker

# On shutdown a running job gets this long to finish before it is handed back.
STOP_GRACE_SECONDS = 5.0


class EmbeddedWorker:
    """Runs one worker thread next to the web server; started and stopped by the app's lifespan."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.worker: Worker | None = None

    def start(self) -> None:
        if self.worker is None:
            self.worker = Worker(self.db, self.settings, concurrency=1)
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(STOP_GRACE_SECONDS)
            self.worker = None
