"""Page understanding for the site: pure functions from page bytes/text and URL to values.

``extract_record(body, url, headers=None)`` is the one-page API: the record the crawl emits for a
page, minus what only the crawl knows (``fetched_at``, ``status``, ``revision``, ``first_seen``,
``warc``), or None when the page is not an article. ``python -m crawler.extract PAGE.html --url URL``
prints it as JSON.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Imported on first use: the record module builds on crawler.items, which imports this package.
    if name == "extract_record":
        from .record import extract_record
        return extract_record
    raise AttributeError(name)


__all__ = ["extract_record"]
