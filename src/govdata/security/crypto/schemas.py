"""Input and output shapes of key management. No shape ever holds key material."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class MasterKeyOut(BaseModel):
    id: str
    # "settings", "file", or "missing" (something is wrapped under a key this node lacks).
    origin: str
    active: bool
    data_keys: int
    secrets: int


class KeyStatusOut(BaseModel):
    active_master_key_id: str
    from_settings: bool
    master_keys: list[MasterKeyOut]
    # Data keys and source secrets still wrapped under a master key that is not the active one.
    pending_rewrap: int
    # Source secrets still in the first format (sealed directly under the source key).
    legacy_secrets: int
    rewrap_job_id: str | None = None


class DataKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    owner: str
    entry_id: str | None
    generation: int
    key_id: str
    master_key_id: str | None
    state: str
    created_at: datetime
    retired_at: datetime | None
    rewrapped_at: datetime | None
    destroyed_at: datetime | None
    destruction_id: str | None


class MasterRotationOut(BaseModel):
    old_master_key_id: str
    new_master_key_id: str
    rewrap_job_id: str


class RewrapOut(BaseModel):
    job_id: str
    pending: int


class DataKeyRotationOut(BaseModel):
    owner: str
    old_key_id: str | None
    new_key_id: str
    generation: int
