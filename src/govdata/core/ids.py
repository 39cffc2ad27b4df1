"""Row identifiers: UUIDv7 strings, time-ordered so keyset pagination and indexes stay cheap."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    return str(uuid_utils.uuid7())
