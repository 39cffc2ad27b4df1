"""A per-process cache of search facet counts, keyed so that a data change invalidates it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogGeneration
from govdata.security.context import ActionContext

# Session flag: this transaction changed the catalog.
CHANGED = "catalog_changed"

FacetCounts = tuple[int, dict[str, list[tuple[str, str | None, int]]]]


class FacetCache:
    """Facet counts of recent searches, per process.

    Counting is the costly part of a search (a scan of every match per facet);
    paging through results and reopening the catalog home repeat the same count.
    Keys carry the catalog's generation, so any committed change to an entry or a
    synonym makes older counts unreachable rather than wrong.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, FacetCounts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> FacetCounts | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key: Hashable, value: FacetCounts) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


FACET_CACHE = FacetCache()


def bump(s: Session) -> None:
    """Record a change to what search shows; call inside the changing transaction."""
    s.execute(update(CatalogGeneration).values(value=CatalogGeneration.value + 1))
    s.info[CHANGED] = True


def facet_key(ctx: ActionContext, filters: dict[str, Any], q: str | None) -> Hashable | None:
    """What decides a search's facet counts: store, generation, reader, query, filters.

    None (do not cache) inside a transaction that changed the catalog itself: its
    counts include writes that may still roll back.
    """
    s = ctx.session
    if s.info.get(CHANGED):
        return None
    # Read before the counts: on PostgreSQL each statement sees the latest commits, so the
    # counts are at least as new as the generation they are filed under.
    generation = tuple(s.execute(select(CatalogGeneration.epoch, CatalogGeneration.value)).one())
    actor = ctx.actor
    who = (actor.kind, actor.department_id, frozenset(actor.grants), actor.token_scopes)
    what = tuple((k, tuple(v)) for k, v in sorted(filters.items()))
    return (str(s.get_bind().engine.url), generation, who, q, what)
