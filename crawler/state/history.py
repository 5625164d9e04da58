"""What a run decides from the archive's history, asked of the state store one batch at a time:
which listed articles earlier runs committed (and which are held for another URL), whether paging
may stop at a list page, which pending articles to ask for again, and the recheck plan. No run
holds every known id: a list page's ids are one question. The answer to a recheck (unchanged, gone,
moved) is ``crawler.state.rechecks``; the spider only routes what these return.

"Known" means committed before this run began. An article this run committed in an earlier slice
is the run's own news, not history: a list page that holds it may hide older articles no run
fetched, so it never stops paging, and a second link to it is the run's own repeat (the spider's
``recent_requests``), not a known article. The ids this run asked for as new are held for that:
as many as the run's own work, so on disk (``RunKeys``), not in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from ..extract.listing import ListedArticle, Listing
from ..extract.urls import URL_SHAPE_OTHER, ArticleRef, earlier_other_id, page_ref, same_page
from ..recent import RunKeys
from ..run.manifests import may_stop_early
from . import ArticleState

# The site's dates are Beijing time (as the spider's): the recent window is counted in them.
BEIJING = timezone(timedelta(hours=8))


class Seen(Enum):
    """What the history says of a listed article."""

    NEW = "new"                            # no earlier run committed it: ask for it
    KNOWN = "known"                        # committed before (rechecks come from the store): skipped
    HELD_FOR_ANOTHER = "held_for_another"  # its id is held for another URL: another article, never fetched as this one


class PagingStop(Enum):
    """Why a channel's list is not paged further (each a ``discovery/paging_stopped_<value>`` count)."""

    EMPTY = "empty"  # LIST_EMPTY_PAGES_MAX list pages in a row held no new article link
    SINCE = "since"  # most of the page is older than ``-a since``
    KNOWN = "known"  # every article it lists is known, and the last run paged to the end


class History:
    """The history decisions of one crawl of ``site``, over its state store."""

    def __init__(self, store: Any, site: str):
        self.store = store
        self.site = site
        self.new_ids = RunKeys()  # asked for by this run as articles no earlier run committed
        # URLs met whose id the state holds for another URL: counted once a run (as many as the run's own links).
        self.id_conflicts: set[str] = set()
        # Whether paging may stop at a page of known articles (``may_stop_early``), set by the run's start.
        self.stop_at_known_pages = False

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

    # --- a list page's articles -------------------------------------------------------------------

    def known_among(self, listed: Sequence[ListedArticle]) -> set[str]:
        """Which of a page's listed articles earlier runs committed (under their id, or under the
        digits id an earlier version gave a URL of another shape): one question to the store per page."""
        ids = [a.ref.id for a in listed]
        ids += [earlier for a in listed if a.ref.shape == URL_SHAPE_OTHER
                and (earlier := earlier_other_id(a.ref.url)) is not None]
        return self.known(ids)

    def seen(self, ref: ArticleRef, known: set[str]) -> tuple[Seen, str | None]:
        """What the history says of a listed article, given its page's ``known_among``; with
        HELD_FOR_ANOTHER, the URL the state holds its id for, the first time a run meets it (to be
        counted once), else None."""
        if ref.id in known:
            if ref.url in self.id_conflicts:
                return Seen.HELD_FOR_ANOTHER, None
            state = self.store.get(self.site, ref.id)
            if state is None or same_page(state.url, ref.url):
                return Seen.KNOWN, None
            self.id_conflicts.add(ref.url)
            return Seen.HELD_FOR_ANOTHER, state.url
        if (ref.shape == URL_SHAPE_OTHER and earlier_other_id(ref.url) in known
                and known_under_earlier_id(self.store, self.site, ref.url) is not None):
            return Seen.KNOWN, None
        return Seen.NEW, None

    def lists_only_known(self, listing: Listing) -> bool:
        """Whether a list page lists known articles only. A list of other-shaped entries only is
        judged by them; beside article links they are not (a pinned notice that is no article would
        never become known and would keep paging alive)."""
        return self.only_known([a.ref.id for a in (listing.articles or listing.other_articles)])

    def paging_stop(self, listing: Listing, empty_pages: int | None, empty_pages_max: int,
                    since: date | None) -> PagingStop | None:
        """Whether paging stops at this list page, and why (None: read its next page). ``empty_pages``:
        the pages in a row without a new article link, this one included (None: not a channel's
        list page, such as the home page, which never stops for being empty or known)."""
        if empty_pages is not None and empty_pages >= empty_pages_max:
            return PagingStop.EMPTY
        if since is not None and reached_since(listing, since):
            return PagingStop.SINCE
        if empty_pages is not None and self.stop_at_known_pages and self.lists_only_known(listing):
            return PagingStop.KNOWN
        return None

    # --- pending articles -------------------------------------------------------------------------

    def pending(self, base_url: str) -> Iterator[tuple[ArticleRef, str | None]]:
        """Articles earlier runs left pending (failed, linked from an article page, or in a slice
        that never committed) and none committed since, with the channel they were found under."""
        pending = [(page_ref(url, base_url), channel) for url, channel in self.store.pending(self.site)]
        known = self.known(ref.id for ref, _ in pending)
        for ref, channel in pending:
            if ref.id not in known:
                yield ref, channel

    def hold_pending(self, held: Sequence[tuple[ArticleRef, str | None]]) -> None:
        """Articles found on a page, held in the state until their records commit: a rerun does not
        read that page again, and some articles are linked from no list page."""
        if held:
            self.store.add_pending_many(self.site, [(ref.id, ref.url, channel or ref.channel) for ref, channel in held])

    def keep_pending(self, ref: ArticleRef, channel: str | None) -> None:
        """An article whose answer may change by asking again (a transient failure, an unreadable
        page): asked for again by the next run, whether or not its list page is read again."""
        self.store.add_pending(self.site, ref.id, ref.url, channel or ref.channel)

    def checked(self, article_id: str, when: str) -> None:
        """A known article a recheck found unchanged (304): checked at ``when``, so the plan comes to it last."""
        self.store.touch_checked(self.site, article_id, when)

    def settle(self, ref: ArticleRef) -> None:
        """An article whose answer will not change by asking again: no longer pending."""
        self.store.clear_pending(self.site, ref.id)

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


def known_under_earlier_id(store: Any, site: str, url: str) -> ArticleState | None:
    """What the store holds of a URL of another shape under the digits id an earlier version gave
    it (before ids were hashes), if it holds that id for this page: that id is kept for it, so its
    records go on under one id (the state pipeline) and a list page's link to it is known (the spider)."""
    earlier = earlier_other_id(url)
    state = store.get(site, earlier) if earlier is not None else None
    return state if state is not None and same_page(state.url, url) else None


def reached_since(listing: Listing, since: date) -> bool:
    """Whether most of a list page is older than ``since``: one pinned (置顶) old article does not stop paging."""
    dates = [a.ref.date for a in listing.articles]
    older = sum(1 for d in dates if d is not None and d < since)
    return bool(dates) and older * 2 > len(dates)
