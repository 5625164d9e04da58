"""Empty pagers: how many list pages in a row of one channel's list held no new article link.

A pager that runs on past its last page (``index_3001.html`` answering an empty list, or the last
page again) would cost a request per page up to ``LIST_PAGES_MAX``. The spider carries an
:class:`EmptyRun` from each list page to the next (in the next page's ``cb_kwargs``: paging is a
chain, one page leading to the next) and stops paging the channel once it reaches
``LIST_EMPTY_PAGES_MAX``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EmptyRun:
    """The list pages in a row, up to and including the last one read, that held no new article
    link: none at all, or only those of the page before (a pager that repeats its last page)."""

    pages: int = 0
    last_articles: str = ""  # digest of the article URLs of the last page that had any

    def after(self, article_urls: Iterable[str]) -> EmptyRun:
        """The run once the next page of the list, listing ``article_urls``, has been read."""
        urls = sorted(set(article_urls))
        if not urls:
            return EmptyRun(self.pages + 1, self.last_articles)
        digest = hashlib.blake2b("\n".join(urls).encode(), digest_size=16).hexdigest()
        if digest == self.last_articles:
            return EmptyRun(self.pages + 1, digest)
        return EmptyRun(0, digest)
