"""Full-text search of the export's database: articles whose title or body hold every term.

The index is FTS5 with the trigram tokenizer: a term of three characters or more is found as a
substring anywhere (Chinese needs no word splitting). A trigram index cannot look up a shorter
term, and two-character words are common in Chinese (政法, 法治), so a query with one is answered
by a ``LIKE`` scan of titles and bodies instead (slower on a large archive; same matches), with a
snippet cut around the first hit here.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from .store import ArchiveStore

MARK_START, MARK_END = "«", "»"  # around each hit in a snippet
ELLIPSIS = "…"
TRIGRAM = 3  # characters in a trigram: shorter terms are not in the index
# Characters of context either side of the first hit. The snippet is cut here from FTS5's
# highlight() (the whole text, hits marked by the index): FTS5's own snippet() counts trigram
# tokens and may end its window inside a hit, marking only its first three characters.
SNIPPET_CONTEXT = 20


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
    # Each term a quoted string (FTS5 syntax: "" escapes a quote), so AND, OR, NOT, * are words.
    match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    rows = db.execute(
        "SELECT a.title, a.url, a.published_at, a.deleted, highlight(articles_fts, 0, ?, ?), "
        "highlight(articles_fts, 1, ?, ?) FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ? ORDER BY rank LIMIT ?", (MARK_START, MARK_END) * 2 + (match, limit))
    return [Hit(title, url, published, bool(deleted), cut_snippet(_with_hits(body, title_marked)))
            for title, url, published, deleted, title_marked, body in rows]


def _scanned(db: sqlite3.Connection, terms: list[str], limit: int) -> list[Hit]:
    like = " AND ".join("(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')" for _ in terms)
    patterns = [p for term in terms for p in (_like_pattern(term),) * 2]
    rows = db.execute(f"SELECT title, url, published_at, deleted, body FROM articles WHERE {like} "
                      "ORDER BY published_at DESC LIMIT ?", (*patterns, limit))
    return [Hit(title, url, published, bool(deleted), cut_snippet(_with_hits(mark(body, terms), mark(title, terms))))
            for title, url, published, deleted, body in rows]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def mark(text: str | None, terms: list[str]) -> str:
    """``text`` with every occurrence of a term marked, as highlight() marks the index's hits."""
    if not text:
        return ""
    pattern = "|".join(re.escape(term) for term in sorted(set(terms), key=len, reverse=True))
    return re.sub(pattern, lambda hit: f"{MARK_START}{hit.group(0)}{MARK_END}", text)


def _with_hits(body: str | None, title: str | None) -> str:
    """The body when a hit is in it, else the title (a match in the title alone)."""
    return body if body and MARK_START in body else (title or body or "")


def cut_snippet(marked: str) -> str:
    """A marked text cut to the first hit and its context, on one line, never inside a hit."""
    text = marked.replace("\n", " ")
    first = text.find(MARK_START)
    if first < 0:
        return text[:2 * SNIPPET_CONTEXT] + (ELLIPSIS if len(text) > 2 * SNIPPET_CONTEXT else "")
    start = max(0, first - SNIPPET_CONTEXT)
    end = min(len(text), text.find(MARK_END, first) + 1 + SNIPPET_CONTEXT)
    opened, closed = text.rfind(MARK_START, 0, end), text.rfind(MARK_END, 0, end)
    if opened > closed:  # the window ends inside a later hit: take it whole
        end = text.find(MARK_END, opened) + 1
    return (ELLIPSIS if start else "") + text[start:end] + (ELLIPSIS if end < len(text) else "")
