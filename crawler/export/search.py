"""Full-text search of the export's database: articles whose title or body hold every term.

The index is FTS5 with the trigram tokenizer: a term of three characters or more is found as a
substring anywhere (Chinese needs no word splitting). A trigram index cannot look up a shorter
term, and two-character words are common in Chinese (政法, 法治), so a query with one is answered
by a ``LIKE`` scan of titles and bodies instead (slower on a large archive; same matches), with a
snippet cut around the first hit here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .store import ArchiveStore

MARK_START, MARK_END = "«", "»"  # around each hit in a snippet
ELLIPSIS = "…"
TRIGRAM = 3  # characters in a trigram: shorter terms are not in the index
SNIPPET_TOKENS = 32  # FTS5 snippet length; one trigram token per character
SNIPPET_CONTEXT = 16  # characters either side of the first hit, in the LIKE fallback


@dataclass(frozen=True)
class Hit:
    title: str | None
    url: str
    published_at: str | None
    deleted: bool
    snippet: str


def terms_of(query: str) -> list[str]:
    return query.split()


def indexed(query: str) -> bool:
    """Whether the index can answer ``query`` (every term a trigram or longer), or a scan must."""
    return all(len(term) >= TRIGRAM for term in terms_of(query))


def search(store: ArchiveStore, query: str, limit: int) -> list[Hit]:
    """The articles matching every term of ``query``, best first (index) or newest first (scan)."""
    terms = terms_of(query)
    if not terms:
        return []
    return _indexed(store.db, terms, limit) if indexed(query) else _scanned(store.db, terms, limit)


def _indexed(db: sqlite3.Connection, terms: list[str], limit: int) -> list[Hit]:
    # Each term a quoted phrase (FTS5 syntax: "" escapes a quote), so 政法 AND NOT … stay words.
    match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    rows = db.execute(
        "SELECT a.title, a.url, a.published_at, a.deleted, "
        f"snippet(articles_fts, -1, ?, ?, ?, {SNIPPET_TOKENS}) "
        "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?", (MARK_START, MARK_END, ELLIPSIS, match, limit))
    return [Hit(title, url, published, bool(deleted), snippet.replace("\n", " "))
            for title, url, published, deleted, snippet in rows]


def _scanned(db: sqlite3.Connection, terms: list[str], limit: int) -> list[Hit]:
    like = " AND ".join("(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')" for _ in terms)
    patterns = [p for term in terms for p in (_like_pattern(term),) * 2]
    rows = db.execute(f"SELECT title, url, published_at, deleted, body FROM articles WHERE {like} "
                      "ORDER BY published_at DESC LIMIT ?", (*patterns, limit))
    return [Hit(title, url, published, bool(deleted), cut_snippet(body or title or "", terms))
            for title, url, published, deleted, body in rows]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def cut_snippet(text: str, terms: list[str]) -> str:
    """The text around the first term found, every term in it marked (as FTS5's snippet marks)."""
    found = [i for i in (text.find(term) for term in terms) if i >= 0]
    if not found:  # matched in the title only; show the body's start
        return text[:2 * SNIPPET_CONTEXT] + (ELLIPSIS if len(text) > 2 * SNIPPET_CONTEXT else "")
    start = max(0, min(found) - SNIPPET_CONTEXT)
    end = min(len(text), min(found) + SNIPPET_CONTEXT + max(len(t) for t in terms))
    piece = text[start:end].replace("\n", " ")
    for term in sorted(set(terms), key=len, reverse=True):
        piece = piece.replace(term, f"{MARK_START}{term}{MARK_END}")
    return (ELLIPSIS if start else "") + piece + (ELLIPSIS if end < len(text) else "")
