from __future__ import annotations

from govdata.config import Settings
from govdata.core.db import Database


class EmbeddedWorker:
    """Placeholder until the job queue lands."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None
