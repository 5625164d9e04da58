"""A run's verdict, from its stats: counts, ``complete`` (coverage), ``paged_to_end`` and the exit
code. Pure functions of what the run measured; the commit writes them into the final manifest."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from .. import exitcodes
from ..accounting import STATS_ID_CONFLICT, run_health
from ..versions import package_version

BOUND_REASONS = ("closespider_", "memusage_")
PACKAGES = ("scrapy", "twisted", "lxml", "w3lib", "warcio", "cdxj-indexer", "sichuanpeace-crawler")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    found.update({package: v for package in PACKAGES if (v := package_version(package)) is not None})
    return found


def counts(stats: dict[str, Any]) -> dict[str, Any]:
    def prefixed(prefix: str) -> dict[str, int]:
        return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}
    robots_ok = stats.get("robotstxt/response_status_count/200", 0)
    health = run_health(stats)
    return {
        "requests": stats.get("downloader/request_count", 0),
        "pages_fetched": stats.get("response_received_count", 0),
        "pages_ok": stats.get("downloader/response_status_count/200", 0) - robots_ok,
        "attempted": health["attempted"],
        "failed": health["failed"],
        "error_rate": round(health["error_rate"], 4),
        "broken_links": health["broken_links"],
        "articles_missing": health["article_missing"],
        "lists_with_links": health["lists_with_links"],
        "list_pages_failed": health["list_pages_failed"],
        # Attempts answered by a challenge, block or busy page (bucket challenge): asked for again next run.
        "challenged": health["challenged"],
        "new": stats.get("state/new", 0),
        "modified": stats.get("state/modified", 0),
        "unchanged": stats.get("state/unchanged", 0) + stats.get("state/not_modified", 0),
        "deleted": stats.get("state/deleted", 0),
        "restored": stats.get("state/restored", 0),
        # Known articles asked for again: published within `recheck` days, and older ones (RECHECK_BUDGET).
        "rechecked": {"recent": stats.get("state/recheck_requested", 0),
                      "older": stats.get("state/recheck_older_requested", 0)},
        "skipped_known": stats.get("discovery/skipped_known", 0),
        # Article URLs whose (site, id) the state or the run holds for another URL: not emitted.
        "id_conflicts": stats.get(STATS_ID_CONFLICT, 0),
        "pending_retried": stats.get("state/pending_requested", 0),
        "dropped": {**{f"not_article/{k}": v for k, v in prefixed("extract/not_article/").items()},
                    **{f"invalid/{k}": v for k, v in prefixed("validate/dropped/").items()},
                    "duplicate": stats.get("dedupe/duplicate", 0)},
        "cleaned": prefixed("clean/"),
        "warc_records": stats.get("warc/records", 0),
        # WAF challenges (412, 521) and rate limits (429) met, each backed off before a retry.
        "waf_challenges": {code: stats.get(f"retry/backoff/{code}", 0) for code in (412, 429, 521)},
        "pager_bound": stats.get("discovery/pager_bound", 0),
        # Channels whose paging stopped after LIST_EMPTY_PAGES_MAX list pages without a new article link.
        "paging_stopped_empty": stats.get("discovery/paging_stopped_empty", 0),
        # Records this run emitted per URL shape (current, legacy, other): which shapes the site uses.
        "url_shapes": prefixed("records/url_shape/"),
        # Where articles were found beyond the list pages' article-shaped links.
        "discovery": {
            "other_candidates": stats.get("discovery/other_candidates", 0),
            "other_not_article": stats.get("discovery/other_not_article", 0),
            "sitemaps": stats.get("discovery/sitemaps", 0),
            "sitemap_requests": stats.get("discovery/sitemap_article_requests", 0),
            "feeds": stats.get("discovery/feeds", 0),
            "feed_requests": stats.get("discovery/feed_article_requests", 0),
        },
    }


def accounting(stats: dict[str, Any]) -> dict[str, Any]:
    """Every attempt's bucket, and whether the buckets add up to the attempts."""
    health = run_health(stats)
    return {"attempts": health["attempted"], "buckets": health["buckets"], "balanced": health["balanced"]}


@dataclass
class Verdict:
    exit_code: int
    complete: bool      # every list page the run's scope needed was read
    paged_to_end: bool  # and no list was cut short: the next run may stop paging at known pages


def judge(reason: str | None, counts: dict[str, Any], drift: list[str], output_failed: bool,
          max_error_rate: float, limited_by_since: bool, may_find_nothing: bool) -> Verdict:
    """The exit code (``crawler.exitcodes``) and coverage of a run that ended for ``reason``.

    ``complete`` is coverage: the run finished and read every list page it needed (failed
    articles wait in the state's pending list for the next run, so they do not break coverage), and
    the site answered no challenge page: a WAF that challenged some pages may have hidden others
    (a challenged list page is also a list page not read).
    """
    reason = reason or "unknown"
    finished = reason == "finished"
    found_links = counts["lists_with_links"] > 0 or may_find_nothing
    challenged = counts.get("challenged", 0) > 0
    complete = finished and not output_failed and counts["list_pages_failed"] == 0 and found_links and not challenged
    if output_failed:
        code = exitcodes.OUTPUT_FAILED
    elif counts["pages_ok"] <= 0 and not may_find_nothing:
        code = exitcodes.FETCHED_NOTHING
    elif reason == "shutdown":
        code = exitcodes.INTERRUPTED
    elif reason.startswith(BOUND_REASONS):
        code = exitcodes.BOUND_HIT
    elif not finished:
        code = exitcodes.FAILED
    elif not found_links:
        code = exitcodes.NO_LINKS
    elif counts["list_pages_failed"] or counts["failed"] > max_error_rate * max(counts["attempted"], 1):
        code = exitcodes.ERROR_THRESHOLD
    elif challenged:
        code = exitcodes.CHALLENGED
    elif drift:
        code = exitcodes.TEMPLATE_DRIFT
    else:
        code = exitcodes.COMPLETE
    # A list cut short by a bound (LIST_PAGES_MAX, or an empty pager given up) was not read to its
    # end: what lies past it is unknown, so the next run must not stop paging at known pages.
    cut_short = counts["pager_bound"] or counts.get("paging_stopped_empty", 0)
    return Verdict(code, complete, complete and not limited_by_since and not cut_short)
