"""Extraction CPU of another checkout against this one, side by side in one process.

The other checkout (``--base``, e.g. a worktree of main: ``git worktree add --detach ../base main``)
and this one are imported under the same package names, one after the other (each keeps its own
modules), and timed alternately page by page: for each page, the base then this checkout (the
order swapped every round), so machine noise falls on both alike. Each page keeps its least CPU
time (``time.process_time_ns``) over ``--rounds`` rounds.

* real: ``bench.realpages.ours`` (``extract_record``: the challenge test, extraction, cleaning) on
  the 70 pages of tests/realpages;
* synthetic: ``bench.extraction.ours`` with links (``load_page``, ``parse_article``,
  ``clean_blocks``, ``parse_listing``) on ``--articles`` mirror pages.

Reported: the median and sum of the per-page least times for each, the ratio this ÷ base of each,
and the median of the per-page ratios (the paired median).

``--cold-urls``: before each timed call, the checkout's caches of resolved hrefs keyed by page
(``crawler.extract.urls._resolve``, and ``_plain_base`` where there is one) are emptied, as a crawl
finds them for a page it has not seen (without it every round after the first finds each href of
the page resolved: a least time over rounds never pays for resolving, a crawl does for the page's
own links). Caches keyed by site stay warm (a crawl is of one site).

``python -m bench.extract_sidebyside --base ../base --rounds 7 [--cold-urls]``
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import PROJECT


def load(root: Path) -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """bench.realpages, bench.extraction, bench.mirror and crawler.extract.urls of the checkout at ``root``."""
    sys.path.insert(0, str(root))
    for name in [n for n in sys.modules if n == "crawler" or n.startswith(("crawler.", "bench"))]:
        del sys.modules[name]
    modules = tuple(importlib.import_module(f"bench.{name}") for name in ("realpages", "extraction", "mirror"))
    urls = importlib.import_module("crawler.extract.urls")
    sys.path.remove(str(root))
    return (*modules, urls)  # type: ignore[return-value]  # the four modules, in that order


# The caches of crawler.extract.urls keyed by page (by href and page URL): emptied by --cold-urls.
PAGE_URL_CACHES = ("_resolve", "_plain_base")


def url_cache_clearer(urls: ModuleType) -> Callable[[], None]:
    """Empties the checkout's caches of resolved hrefs keyed by page (those it has)."""
    caches = [getattr(urls, name) for name in PAGE_URL_CACHES if hasattr(urls, name)]

    def clear() -> None:
        for cache in caches:
            cache.cache_clear()
    return clear


def run(base: Path, rounds: int, articles: int, cold_urls: bool = False) -> dict[str, Any]:
    old, new = load(base), load(PROJECT)
    pages = new[0].load_corpus()
    base_url, ctype = new[1].BASE, new[1].CTYPE
    synthetic = [new[2].generate_article(k, articles, base_url) for k in range(articles)]

    def real(mods: tuple[ModuleType, ...]) -> Callable[[Any], None]:
        return lambda page: mods[0].ours(page.body, page.url)

    def syn(mods: tuple[ModuleType, ...]) -> Callable[[Any], None]:
        return lambda page: mods[1].ours(page.html, base_url + page.meta.path, ctype, base_url + "/", links=True)

    clearers = {"base": url_cache_clearer(old[3]), "this": url_cache_clearer(new[3])}
    result: dict[str, Any] = {"base": str(base), "rounds": rounds, "cold_urls": cold_urls}
    for corpus, items, make in (("real", pages, real), ("synthetic", synthetic, syn)):
        runners = {"base": make(old), "this": make(new)}
        least = {name: [float("inf")] * len(items) for name in runners}
        for round_ in range(rounds):
            order = ["base", "this"] if round_ % 2 == 0 else ["this", "base"]
            for i, item in enumerate(items):
                for name in order:
                    if cold_urls:
                        clearers[name]()
                    start = time.process_time_ns()
                    runners[name](item)
                    least[name][i] = min(least[name][i], (time.process_time_ns() - start) / 1e6)
        out: dict[str, Any] = {name: {"median_ms": round(statistics.median(times), 3), "sum_ms": round(sum(times), 1)}
               for name, times in least.items()}
        out["this/base"] = {
            "median": round(out["this"]["median_ms"] / out["base"]["median_ms"], 3),
            "sum": round(out["this"]["sum_ms"] / out["base"]["sum_ms"], 3),
            "paired_median": round(statistics.median(
                b / a for a, b in zip(least["base"], least["this"], strict=True)), 3),
        }
        out["pages"] = len(items)
        result[corpus] = out
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout's root")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--articles", type=int, default=150, help="synthetic pages")
    parser.add_argument("--cold-urls", action="store_true", help="each page finds its hrefs unresolved")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.base.resolve(), args.rounds, args.articles, args.cold_urls), indent=2))


if __name__ == "__main__":
    main()
