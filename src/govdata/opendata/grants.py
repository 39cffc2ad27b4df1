"""Who may read the data of an open dataset, and the quota of each reader.

``identify`` reads the caller from the request: an API key first (``Authorization: <key>``
as CKAN clients send it, ``Authorization: Bearer <key>`` or ``X-CKAN-API-Key``), then the
public session cookie, else anonymous. Only values with our key prefix (``gdo_``) are
taken for keys: a government bearer token in the same header is not ours to judge, and
the caller stays anonymous on the open paths; a value with our prefix that is no live key
is refused with ``opendata_key_invalid`` (401) rather than silently served as anonymous.

Open datasets are readable by everyone. A conditional dataset's data needs the account's
approved, unexpired application for it (read now, not from the key), and when a key is
used, the dataset among the key's datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType
from govdata.config import Settings
from govdata.core.db import Database
from govdata.opendata import accounts, apikeys
from govdata.opendata.account_models import PublicAccount
from govdata.opendata.models import OpenDataset
from govdata.opendata.public_session import COOKIE
from govdata.security.context_types import ANONYMOUS, Actor


@dataclass(frozen=True)
class PublicIdentity:
    """A public caller: anonymous, a signed-in public account, or an API key's holder."""

    actor: Actor
    key_id: str | None = None
    # The datasets the key is limited to; None when no key was used.
    key_datasets: frozenset[str] | None = None


ANONYMOUS_IDENTITY = PublicIdentity(ANONYMOUS)


def presented_key(request: Request) -> str | None:
    """The key-like value the request carries, if any (whatever its validity)."""
    value = request.headers.get("x-ckan-api-key", "").strip()
    if not value:
        header = request.headers.get("authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        value = rest.strip() if scheme.lower() == "bearer" and rest else header
    return value if value and apikeys.looks_like_key(value) else None


def identify(request: Request) -> PublicIdentity:
    db: Database = request.app.state.db
    raw = presented_key(request)
    if raw is not None:
        with db.transaction() as s:
            key = apikeys.lookup(s, raw)
            owner = s.get(PublicAccount, key.account_id) if key is not None else None
            if key is None or owner is None or owner.disabled_at is not None:
                raise apikeys.invalid_key()
            return PublicIdentity(
                accounts.actor_of(owner), key.id, apikeys.granted_datasets(s, owner.id)
            )
    token = request.cookies.get(COOKIE)
    if token:
        with db.transaction() as s:
            account = accounts.session_account(s, token)
            if account is not None:
                return PublicIdentity(accounts.actor_of(account))
    return ANONYMOUS_IDENTITY


def may_read_data(s: Session, who: PublicIdentity, ds: OpenDataset, entry: CatalogEntry) -> bool:
    if entry.open_type == OpenType.OPEN:
        return True
    if entry.open_type != OpenType.CONDITIONAL or who.actor.kind != "public" or not who.actor.id:
        return False
    if who.key_datasets is not None and ds.id not in who.key_datasets:
        return False
    return ds.id in apikeys.granted_datasets(s, who.actor.id)


def consume(s: Session, settings: Settings, who: PublicIdentity, client_addr: str | None) -> None:
    """Count one data call against the caller's quota; raises 429 ``rate_limited`` /
    ``quota_exceeded`` (with ``retry_after``) when over. Call it inside the call's
    transaction, once the call is known to be served: a refusal rolls the count back."""
    if who.key_id is not None:
        apikeys.take(s, settings, who.key_id)
    elif who.actor.kind == "public" and who.actor.id:
        apikeys.take_keyless(settings, "account:" + who.actor.id)
    else:
        apikeys.take_keyless(settings, "addr:" + (client_addr or "unknown"))
