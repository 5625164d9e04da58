"""Everything the crawler reads from one article page, in one call: the article and its links.

Plain values in (the response's bytes and strings), dataclasses out: the spider only routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .article import RawArticle, parse_article
from .listing import Listing, parse_listing
from .page import load_page


@dataclass
class ArticlePage:
    """An article page, read: the article, and the article/channel links it holds (上一篇/下一篇 ...)."""

    article: RawArticle
    links: Listing


def read_article_page(body: bytes, url: str, content_type: str | None, base_url: str,
                      crawl_host: str) -> ArticlePage:
    """Decode and parse the page once, then extract the article and read its links."""
    page = load_page(body, content_type)
    return ArticlePage(article=parse_article(page, url, base_url=base_url),
                       links=parse_listing(page, url, crawl_host, base_url))
