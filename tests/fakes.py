"""Small stand-ins for the crawl's components, for tests that call a spider's methods without a crawl."""

from __future__ import annotations

from collections.abc import Iterable


class KnownIds:
    """A state store that knows ``ids`` (the spider asks it per list page, through its History)."""

    def __init__(self, ids: set[str]):
        self.ids = ids

    def known_ids(self, site: str, ids: Iterable[str]) -> set[str]:
        return set(ids) & self.ids

    def get(self, site: str, article_id: str) -> None:
        return None
