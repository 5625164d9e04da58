"""What a run decides from the archive's history, asked of the state store one batch at a time:
which listed articles earlier runs committed, whether a list page holds only those, and whether
paging may stop there at all. No run holds every known id: a list page's ids are one question.

"Known" means committed before this run began. An article this run committed in an earlier slice
is the run's own news, not history: a list page that holds it may hide older articles no run
fetched, so it never stops paging, and a second link to it is the run's own repeat (the spider's
``recent_requests``), not a known article. The ids this run asked for as new are held for that:
as many as the run's own work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import ArticleState

from ..run.manifests import may_stop_early


# The site's dates are Beijing time (as the spider's): the recent window is counted in them.
BEIJING = timezone(timedelta(hours=8))


class History:
    """The history decisions of one crawl of ``site``, over its state store."""

    def __init__(self, store: Any, site: str):
        self.store = store
        self.site = site
        self.new_ids: set[str] = set()  # asked for by this run as articles no earlier run committed

    def known(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` (a page's) earlier runs committed, deleted ones too."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self.new_ids]
        return self.store.known_ids(self.site, wanted) if wanted else set()

    def is_known(self, article_id: str) -> bool:
        return article_id not in self.new_ids and self.store.get(self.site, article_id) is not None

    def only_known(self, ids: list[str]) -> bool:
        """Whether a list page's ids are all known (an empty page is not)."""
        return bool(ids) and self.known(ids) == set(ids)

    def asked_as_new(self, article_id: str) -> None:
        """This run asks for an article no earlier run committed."""
        self.new_ids.add(article_id)

    def recheck_plan(self, days: int | None, budget: int) -> Iterator[tuple[ArticleState, bool]]:
        """The known articles to ask for again (deleted ones too: they may come back), each with
        whether it is an older one: those published within ``days`` (None: all; 0: none), then up
        to ``budget`` older ones, least recently checked first, so that every known article is
        looked at again in turn. Both are read through the store's indexes, a batch at a time."""
        if days == 0:
            return
        horizon = None if days is None else (datetime.now(BEIJING) - timedelta(days=days)).isoformat(timespec="seconds")
        for state in self.store.recheck_candidates(self.site, horizon):
            yield state, False
        if horizon is None or not budget:
            return
        for state in self.store.recheck_oldest(self.site, horizon, budget):
            yield state, True

    @staticmethod
    def may_stop_early(output_dir: Path, site: str, fleet: bool) -> bool:
        """Whether list paging may stop at a page of known articles: never in a fleet (a killed
        worker's lost requests may sit on any page), else when the site's last run paged to the end
        (``manifests.may_stop_early``: the newest final manifests only)."""
        return not fleet and may_stop_early(output_dir, site)
