"""Data keys: one row per key of an owner (a lake table), kept only wrapped by a master key.

A table's keys are numbered by ``generation``: the highest live one encrypts new data, the
lower ones (``retired``) still decrypt what they encrypted. Destroying a key wipes its wrap:
the row stays as the record that the key existed and when it was shredded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.clock import now
from govdata.core.db import Base, IdMixin


class DataKey(IdMixin, Base):
    __tablename__ = "security_data_keys"
    __table_args__ = (
        UniqueConstraint("owner", "generation", name="uq_security_data_keys_owner_generation"),
        UniqueConstraint("owner", "key_id", name="uq_security_data_keys_owner_key_id"),
        Index("ix_security_data_keys_master", "master_key_id", "id"),
    )

    # "lake:<schema>.<table>"
    owner: Mapped[str] = mapped_column(String(160))
    entry_id: Mapped[str | None] = mapped_column(String(36), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    # What ciphertexts name: the first 8 hex of the key's SM3 digest.
    key_id: Mapped[str] = mapped_column(String(16))
    # None once destroyed.
    master_key_id: Mapped[str | None] = mapped_column(String(16))
    wrapped: Mapped[str | None] = mapped_column(Text)  # base64 of nonce ‖ sealed key ‖ tag
    state: Mapped[str] = mapped_column(String(16))  # KeyState
    created_at: Mapped[datetime] = mapped_column(default=now)
    retired_at: Mapped[datetime | None] = mapped_column()
    rewrapped_at: Mapped[datetime | None] = mapped_column()
    destroyed_at: Mapped[datetime | None] = mapped_column()
    destruction_id: Mapped[str | None] = mapped_column(String(36))
