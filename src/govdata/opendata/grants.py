"""Who may read the data of an open dataset, and the quota of each reader.

Stub until public accounts and API keys land: everyone is anonymous, open datasets are
readable by all and conditional ones by nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType
from govdata.config import Settings
from govdata.opendata.models import OpenDataset
from govdata.security.context_types import ANONYMOUS, Actor


@dataclass(frozen=True)
class PublicIdentity:
    """A public caller: anonymous, a signed-in public account, or an API key's holder."""

    actor: Actor
    key_id: str | None = None
    # The datasets the key is limited to; None when no key was used.
    key_datasets: frozenset[str] | None = None


ANONYMOUS_IDENTITY = PublicIdentity(ANONYMOUS)


def identify(request: Request) -> PublicIdentity:
    return ANONYMOUS_IDENTITY


def may_read_data(s: Session, who: PublicIdentity, ds: OpenDataset, entry: CatalogEntry) -> bool:
    return entry.open_type == OpenType.OPEN


def consume(s: Session, settings: Settings, who: PublicIdentity, client_addr: str | None) -> None:
    """Count one data call against the caller's quota; raises 429 errors when over."""
