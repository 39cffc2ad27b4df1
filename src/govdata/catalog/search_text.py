"""Search text: jieba segmentation, the ``catalog_search`` rows, and queries for the FTS engines.

Text is segmented once, when an entry's visible version changes (``index_entry``),
into the ``catalog_search`` row of the entry: tokens joined by spaces, so the
store's own full-text engine (SQLite FTS5 with the ``unicode61`` tokenizer, or
PostgreSQL's ``simple`` text search configuration) only has to split on spaces.

Index side and query side must agree on tokens. The query is cut in jieba's
precise mode (longest dictionary words, no HMM guessing, so the same word is cut
the same way everywhere); the index side emits those words plus every dictionary
word inside them, so ``户籍`` finds ``户籍地`` and ``公积金`` finds ``住房公积金``.
Query words are ANDed; each is ORed with its synonyms (``catalog_synonyms``).
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import jieba
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogClass, CatalogEntry, EntryVersion, SearchDoc, Synonym

# Tokenisation --------------------------------------------------------------------------------

# Words jieba's dictionary lacks or cuts into single characters, so that they stay whole.
# Only atomic terms: a compound such as 不动产登记 would then have to occur verbatim.
GOV_TERMS = (
    "户籍",
    "低保",
    "社保",
    "医保",
    "营业执照",
    "不动产",
    "公积金",
    "特困",
    "网格员",
    "好差评",
    "一网通办",
    "健康码",
    "办件",
    "小微",
    "数据元",
    "信息项",
    "公租房",
)
# Function words that would only make an ANDed query miss.
STOPWORDS = frozenset(
    ("的", "了", "和", "与", "及", "或", "等", "之", "其", "是", "在", "对", "为", "以及", "关于")
)

_PIECE = re.compile(r"[^\W_]+")
_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's tokenizer with the government terms, loaded once per process."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                # jieba caches its prefix dictionary on disk; keep it out of the package.
                tk.tmp_dir = tempfile.gettempdir()
                tk.cache_file = "govdata-jieba.cache"
                tk.initialize()
                for word in GOV_TERMS:
                    tk.add_word(word)
                _tokenizer = tk
    return _tokenizer


def _words(text: str) -> list[str]:
    """Precise-mode words, lower-case, split into letter/digit runs, stop words dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for word in _jieba().cut(text, HMM=False):
        out.extend(p for p in _PIECE.findall(word) if p not in STOPWORDS)
    return out


def tokens(text: str | None) -> list[str]:
    """The search tokens of a query (jieba precise mode)."""
    return _words(text) if text else []


@lru_cache(maxsize=4096)
def _tokens_cached(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


def index_tokens(text: str | None) -> list[str]:
    """The tokens stored for ``text``: each word, preceded by the dictionary words inside it."""
    if not text:
        return []
    freq = _jieba().FREQ
    out: list[str] = []
    for word in _words(text):
        n = len(word)
        if n > 2 and not word.isascii():
            for size in range(2, n):
                out.extend(
                    word[i : i + size] for i in range(n - size + 1) if freq.get(word[i : i + size])
                )
        out.append(word)
    return out


def index_text(text: str | None) -> str:
    return " ".join(index_tokens(text))


# Indexing ------------------------------------------------------------------------------------


def _class_names(session: Session, class_code: str) -> list[str]:
    prefixes = [class_code[:i] for i in range(1, len(class_code) + 1)]
    stmt = select(CatalogClass.name).where(CatalogClass.code.in_(prefixes))
    return list(session.scalars(stmt.order_by(CatalogClass.level)))


def index_entry(session: Session, entry: CatalogEntry, version: EntryVersion) -> None:
    """Write the search text of ``entry`` as ``version`` (the one readers see) describes it.

    Call in the transaction that changes the visible version; on SQLite the
    FTS5 index follows ``catalog_search`` through triggers.
    """
    if entry.id is None:
        session.flush()
    body: list[str | None] = [version.summary, *version.keywords]
    for item in version.items:
        body.extend((item.name, item.name_en))
    body.extend((entry.provider_name, *_class_names(session, entry.class_code)))
    body.append(entry.resource_code)
    # Newlines keep jieba from gluing the end of one field to the start of the next.
    name_tokens = index_text(version.name)
    body_tokens = index_text("\n".join(b for b in body if b))
    doc = session.scalar(select(SearchDoc).where(SearchDoc.entry_id == entry.id))
    if doc is None:
        session.add(SearchDoc(entry_id=entry.id, name_tokens=name_tokens, body_tokens=body_tokens))
    else:
        doc.name_tokens, doc.body_tokens = name_tokens, body_tokens


def reindex_all(session: Session, *, batch: int = 500) -> int:
    """Rebuild every entry's search text (after a change of dictionary); returns the count."""
    done, last = 0, ""
    while True:
        entries = list(
            session.scalars(
                select(CatalogEntry).where(CatalogEntry.id > last).order_by(CatalogEntry.id)
            ).fetchmany(batch)
        )
        if not entries:
            return done
        for entry in entries:
            version_id = entry.published_version_id or entry.working_version_id
            version = session.get(EntryVersion, version_id) if version_id else None
            if version is not None:
                index_entry(session, entry, version)
                done += 1
        session.flush()
        last = entries[-1].id


# Query expansion -----------------------------------------------------------------------------

# One AND-group per query word: alternatives ORed, each alternative a run of tokens ANDed.
Alternative = tuple[str, ...]
Group = list[Alternative]


def _synonym_map(session: Session) -> dict[Alternative, set[Alternative]]:
    """Token runs → the token runs of every phrase declared synonymous with them (symmetric)."""
    out: dict[Alternative, set[Alternative]] = {}
    for term, synonyms in session.execute(select(Synonym.term, Synonym.synonyms)):
        phrases = {_tokens_cached(p) for p in [term, *synonyms]}
        phrases.discard(())
        for phrase in phrases:
            out.setdefault(phrase, set()).update(phrases)
    return out


def expand(session: Session, words: Sequence[str]) -> list[Group]:
    """The query's AND-groups: the longest synonym phrase at each position, else the word."""
    synonyms = _synonym_map(session)
    longest = max((len(k) for k in synonyms), default=0)
    groups: list[Group] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            run = tuple(words[i : i + size])
            if run in synonyms:
                groups.append(sorted(synonyms[run], key=lambda a: (a != run, a)))
                i += size
                break
        else:
            groups.append([(words[i],)])
            i += 1
    return groups


def fts5_query(groups: list[Group]) -> str:
    # Tokens are letter/digit runs (see _words), so quoting needs no escaping.
    def alt(a: Alternative) -> str:
        return " AND ".join(f'"{t}"' for t in a)

    return " AND ".join("(" + " OR ".join(f"({alt(a)})" for a in g) + ")" for g in groups)


def pg_tsquery(groups: list[Group]) -> str:
    def alt(a: Alternative) -> str:
        return " & ".join(f"'{t}'" for t in a)

    return " & ".join("(" + " | ".join(f"({alt(a)})" for a in g) + ")" for g in groups)
