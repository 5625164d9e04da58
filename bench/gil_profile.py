"""Who holds the GIL during a crawl: ``scrapy crawl sichuanpeace`` as shipped beside the bare spider
fetching the same pages and pictures (``bare_gc_tuned_pictures`` of bench/crawl_rate.py).

Against a local mirror both crawls are bound by one core's worth of Python: only the thread holding
the GIL runs Python, and the crawl's rate is set by how much Python it runs per article. py-spy
samples each crawl (``py-spy record --gil --threads``: a sample is taken only of the thread holding
the GIL), and the samples of each crawl are put in the categories below, by the first frame of the
stack that names one. A category's share is what removing its Python work from the crawler's process
could gain at most; the bare spider's total is the budget the crawl-rate goal sets.

``python -m bench.gil_profile --articles 2000`` (needs ``py-spy``, in the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.common import PROJECT, bare_command, crawl_command, mirror_server, save, scratch_dir, table
from bench.crawl_rate import EXTRA_ARGS

# (category, frame names that put a sample in it), in the order they are tried: the first category
# with a frame in the stack takes the sample. Frames are py-spy's ``function (file)`` without lines.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Reading an article page: parse, extract, the links it holds (crawler/extract/article_page.py).
    ("extraction", ("read_article_page (crawler/extract/article_page.py)",)),
    # The clean pipeline: boilerplate rules, captions, byline (ArticleItem.clean).
    ("cleaning", ("CleanPipeline.process_item (crawler/pipelines/clean.py)",)),
    # The validate pipeline: JSON schema, garbled text.
    ("validation", ("ValidatePipeline.process_item (crawler/pipelines/validate.py)",)),
    # List pages, site maps, feeds read for links, on the reactor thread.
    ("list pages", ("SichuanpeaceSpider.parse_listing_page (crawler/spiders/sichuanpeace.py)",
                    "SichuanpeaceSpider.parse_sitemap (crawler/spiders/sichuanpeace.py)",
                    "SichuanpeaceSpider.parse_feed (crawler/spiders/sichuanpeace.py)")),
    # The rest of the spider's callbacks: routing, history decisions, building requests and items.
    ("spider, other", ("SichuanpeaceSpider.parse_article_page (crawler/spiders/sichuanpeace.py)",)),
    # The WARC middleware's part on the reactor thread (headers, hand-over to the writer).
    ("WARC, reactor side", ("WarcArchiveMiddleware.process_response (crawler/downloadermiddlewares/warc.py)",)),
    # The requisites pipeline: index questions, requests for pictures.
    ("requisites", ("RequisitesPipeline.process_item (crawler/pipelines/requisites.py)",)),
    # Staging a record for its slice, the feed's line, the commits.
    ("commit and feed", ("RunCommitter.item_scraped (crawler/run/commit.py)",
                         "FeedExporter.item_scraped (scrapy/extensions/feedexport.py)",
                         "RunCommitter._commit (crawler/run/commit.py)")),
    # The other item pipelines (dedupe, state).
    ("other pipelines", ("ItemPipelineManager.process_item_async (scrapy/pipelines/__init__.py)",)),
)
WRITER_THREAD = "warc-writer"
MAIN_THREAD = "MainThread"


def _frame(text: str) -> str:
    """``function (file:line)`` → ``function (file)``."""
    head, _, rest = text.rpartition(":")
    return f"{head})" if rest.endswith(")") and rest[:-1].isdigit() else text


def categorize(raw_lines: Iterable[str]) -> dict[str, Any]:
    """Samples of a py-spy raw (collapsed) profile, by thread and, for the main thread, by category.
    Each line: ``thread (tid): name;frame;frame;... count`` (``--threads``), outermost frame first;
    a thread's first samples may come before it has a name (``thread (tid);frame;...``)."""
    samples: list[tuple[str, str | None, list[str], int]] = []
    names: dict[str, str] = {}
    for line in raw_lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        thread, *frames = stack.split(";")
        tid, _, name = thread.partition(": ")
        if name:
            names[tid] = name
        samples.append((tid, name or None, frames, int(count_text)))
    threads: Counter[str] = Counter()
    main: Counter[str] = Counter()
    for tid, given, frames, count in samples:
        name = given or names.get(tid, "")
        label = MAIN_THREAD if name == MAIN_THREAD else WRITER_THREAD if name.startswith(WRITER_THREAD) else "other"
        threads[label] += count
        if label != MAIN_THREAD:
            continue
        present = {_frame(frame) for frame in frames}
        if any(frame.startswith("_find_and_load (<frozen importlib._bootstrap>") for frame in present):
            main["start-up: imports"] += count
            continue
        category = next((label for label, wanted in CATEGORIES if present.intersection(wanted)), "Scrapy and Twisted")
        main[category] += count
    return {"threads": dict(threads), "main_thread": dict(main), "total": sum(threads.values())}


def profile(command: list[str], cwd: Path, out: Path, rate: int) -> dict[str, Any]:
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (pip install py-spy, or the bench extra)")
    done = subprocess.run([spy, "record", "--gil", "--threads", "-r", str(rate), "-f", "raw", "-o", str(out), "--",
                           *command], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"py-spy failed ({done.returncode}): {done.stderr[-2000:]}")
    with out.open(encoding="utf-8") as lines:
        return categorize(lines)


def run(articles: int, rate: int) -> dict[str, Any]:
    result: dict[str, Any] = {"articles": articles, "samples_per_second": rate}
    with mirror_server(articles) as server, scratch_dir() as work:
        server.reset()
        bare = bare_command(server.base_url, work / "urls.jsonl", *EXTRA_ARGS["bare_gc_tuned_pictures"])
        result["bare_gc_tuned_pictures"] = profile(bare, work, work / "bare.txt", rate)
        server.reset()
        ours = crawl_command(server.base_url, work / "ours")
        result["ours_warc"] = profile(ours, PROJECT, work / "ours.txt", rate)
    return result


def report(result: dict[str, Any]) -> str:
    bare, ours = result["bare_gc_tuned_pictures"], result["ours_warc"]
    budget = bare["total"]
    rows = [[category, samples, f"{samples / ours['total']:.0%}", f"{samples / budget:.2f}"]
            for category, samples in sorted(ours["main_thread"].items(), key=lambda kv: -kv[1])]
    rows += [[f"thread: {name}", samples, f"{samples / ours['total']:.0%}", f"{samples / budget:.2f}"]
             for name, samples in ours["threads"].items() if name != MAIN_THREAD]
    lines = [f"GIL samples, {result['articles']} articles, {result['samples_per_second']}/s",
             f"bare_gc_tuned_pictures: {budget} (threads: {bare['threads']})",
             f"ours_warc: {ours['total']} ({ours['total'] / budget:.2f}× the bare spider's)", "",
             table(rows, ["ours: holding the GIL", "samples", "share", "÷ bare total"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--out", type=Path, help="default: bench/results/gil_profile.json")
    args = parser.parse_args(argv)
    result = run(args.articles, args.rate)
    path = save("gil_profile", result, args.out)
    print(report(result))
    print(f"\nresult: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
