"""One page in, the record the crawl would emit for it out: the crawl's own steps, without the crawl.

The spider reads a page with ``read_article_page`` (``parse_article``, plus the links it follows)
and builds its item with ``ArticleItem.from_raw``; the clean pipeline calls ``ArticleItem.clean``.
``extract_record`` chains the same steps (without the links), after the same challenge-page test
the crawl's downloader middleware makes, so what a user sees when debugging one page is what the
crawl emits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..items import CRAWL_FIELDS, ArticleItem
from .article import parse_article
from .challenge import challenge_reason
from .page import load_page


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def extract_record(body: bytes, url: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The cleaned record for one article page, or None when the page is not an article.

    ``headers``: the HTTP response headers, if known (their Content-Type charset decides the
    decoding first, as in the crawl). The page's own host is the crawl host.
    """
    parts = urlsplit(url)
    base_url = f"{parts.scheme}://{parts.netloc}/"
    content_type = _header(headers, "content-type")
    page = load_page(body, content_type)  # decoded once, for the challenge test and the extraction
    if challenge_reason(body, content_type, text=page.text) is not None:
        return None  # a challenge, block or busy page: the crawl's middleware fails it the same way
    raw = parse_article(page, url, base_url=base_url)
    if raw.not_article_reason is not None:
        return None
    item = ArticleItem.from_raw(raw, site=(parts.hostname or "").lower())
    item.clean()
    record = item.record()
    for name in CRAWL_FIELDS:
        record.pop(name, None)
    return record
