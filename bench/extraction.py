"""Extraction cost and accuracy: ours (+ the cleaning pipeline) against trafilatura and GNE.

Cost: the same synthetic mirror pages (bench.mirror, 30–120 KB) go through every extractor in the
same process; CPU time per page by ``time.process_time_ns``; median and p95 per extractor and their
ratios to ours. Each extractor runs over all the pages in turn, in ``--rounds`` rounds whose order
alternates (ABC, CBA, ...), and each page keeps its least time over the rounds: each extractor is
timed in its own steady state, and machine noise (which only ever adds time) is filtered out.

The same pages are also timed interleaved (every extractor on page 1, then on page 2 ...), once,
and reported beside: there each extractor pays the cache misses the one before it caused (ours
runs right after GNE, and ``ours+links``, which does more work, runs right after ``ours`` and
comes out faster than it), which is what a process running several extractors would see.

* ``ours``: what the spider + clean pipeline do per article: ``load_page`` (decode, parse),
  ``parse_article``, ``clean_blocks``;
* ``ours+links``: plus ``parse_listing`` on the same parsed page (the spider's discovery of
  上一篇/下一篇 links), i.e. the whole per-article extraction cost of the crawl;
* ``trafilatura``: ``trafilatura.extract(html, output_format="json", with_metadata=True)`` (defaults:
  with its readability/jusText fallbacks), date format asked to the second;
* ``trafilatura_fast``: the same with ``fast=True`` (no fallbacks);
* ``gne``: ``GeneralNewsExtractor().extract(html)``.

Accuracy: on the fixture articles (tests/fixtures/*/expected.json, the gold set) and on the
synthetic pages (their generator knows the truth): title exact; time to the second (ours with
+08:00; theirs have no zone, right if the same second); 来源; 编辑 (their ``author``); body paragraph
recall (expected paragraphs found, whitespace ignored); pages leaking footer/ICP lines
(蜀ICP备, 四川长安网简介, 版权所有) and pages leaking any ``body_must_not_contain`` snippet.

``python -m bench.extraction --articles 300``
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import PROJECT, save, table
from bench.mirror import generate_article

sys.path.insert(0, str(PROJECT))
from crawler.extract.article import parse_article
from crawler.extract.cleaning import clean_blocks
from crawler.extract.encoding import decode_page
from crawler.extract.listing import parse_listing
from crawler.extract.page import load_page

BASE = "http://127.0.0.1:8000"
CTYPE = "text/html; charset=utf-8"
FOOTER_MARKERS = ("蜀ICP备", "四川长安网简介", "版权所有")
DATE_PARAMS = {"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d %H:%M:%S"}
WS_RE = re.compile(r"[\s\u3000\xa0]+")
DATETIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?")


def _norm(text: str | None) -> str:
    return WS_RE.sub("", text or "")


# --- the extractors: bytes in, a common dict out ---------------------------------------------------

def ours(body: bytes, url: str, ctype: str | None, base: str, links: bool = False) -> dict[str, Any]:
    page = load_page(body, ctype)
    raw = parse_article(page, url, base_url=base)
    cleaned = clean_blocks(raw.blocks)
    if links:
        parse_listing(page, url, base.split("//", 1)[1].split(":")[0].split("/")[0], base)
    return {"title": raw.title, "date": raw.published_at, "source": raw.source, "editor": raw.editor,
            "text": cleaned.body}


def make_trafilatura(fast: bool) -> Callable[..., dict[str, Any]]:
    import trafilatura

    def run(body: bytes, url: str, ctype: str | None, base: str) -> dict[str, Any]:
        html = decode_page(body, ctype).text
        out = trafilatura.extract(html, url=url, output_format="json", with_metadata=True, fast=fast,
                                  date_extraction_params=DATE_PARAMS)
        data = json.loads(out) if out else {}
        return {"title": data.get("title"), "date": data.get("date"), "source": None,
                "editor": data.get("author"), "text": data.get("text") or ""}
    return run


def make_gne() -> Callable[..., dict[str, Any]]:
    from gne import GeneralNewsExtractor
    extractor = GeneralNewsExtractor()

    def run(body: bytes, url: str, ctype: str | None, base: str) -> dict[str, Any]:
        html = decode_page(body, ctype).text
        data = extractor.extract(html)
        return {"title": data.get("title"), "date": data.get("publish_time"), "source": None,
                "editor": data.get("author"), "text": data.get("content") or ""}
    return run


def extractors() -> dict[str, Callable[..., dict[str, Any]]]:
    return {
        "ours": lambda b, u, c, base: ours(b, u, c, base),
        "ours+links": lambda b, u, c, base: ours(b, u, c, base, links=True),
        "trafilatura": make_trafilatura(fast=False),
        "trafilatura_fast": make_trafilatura(fast=True),
        "gne": make_gne(),
    }


# --- scoring --------------------------------------------------------------------------------------

def date_right(found: str | None, expected: str, from_url: bool = False) -> bool:
    if not found:
        return False
    if found.endswith("+08:00") or re.search(r"[+-]\d{2}:\d{2}$", found):
        return found == expected  # ours: exact, with the zone
    match = DATETIME_RE.search(found)
    if not match:
        return False
    if match[4] is None:  # a date without time: right only where the gold time is the URL's midnight
        return from_url and f"{match[1]}-{match[2]}-{match[3]}T00:00:00+08:00" == expected
    return f"{match[1]}-{match[2]}-{match[3]}T{match[4]}:{match[5]}:{match[6]}+08:00" == expected


def score(found: dict[str, Any], gold: dict[str, Any]) -> dict[str, Any]:
    text = _norm(found["text"])
    must = [p for p in gold.get("body_must_contain", []) if _norm(p)]
    hits = sum(1 for p in must if _norm(p) in text)
    must_not = gold.get("body_must_not_contain", [])
    return {
        "title": _norm(found["title"]) == _norm(gold["title"]),
        "time": date_right(found["date"], gold["published_at"], gold.get("published_at_source") == "url"),
        "source": (found["source"] or None) == gold.get("source"),
        "editor": (found["editor"] or None) == gold.get("editor"),
        "recall": hits / len(must) if must else 1.0,
        "footer_leak": any(m in found["text"] for m in FOOTER_MARKERS),
        "any_leak": (any(_norm(s) in text for s in must_not if _norm(s))
                     or any(m in found["text"] for m in FOOTER_MARKERS)),
    }


def summarize_scores(scores: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(scores)
    return {
        "pages": n,
        "title": sum(s["title"] for s in scores), "time": sum(s["time"] for s in scores),
        "source": sum(s["source"] for s in scores), "editor": sum(s["editor"] for s in scores),
        "recall": round(statistics.mean(s["recall"] for s in scores), 3) if n else None,
        "full_body": sum(s["recall"] == 1.0 for s in scores),
        "footer_leak": sum(s["footer_leak"] for s in scores), "any_leak": sum(s["any_leak"] for s in scores),
    }


def fixture_articles() -> list[tuple[str, bytes, str, str | None, dict]]:
    """(name, body, url, content type, expected) of every fixture article."""
    out = []
    for folder in sorted((PROJECT / "tests" / "fixtures").iterdir()):
        meta_file, expected_file = folder / "meta.json", folder / "expected.json"
        if not (meta_file.exists() and expected_file.exists()):
            continue
        meta = json.loads(meta_file.read_text("utf-8"))
        if meta.get("kind") != "article":
            continue
        body = (folder / meta.get("file", "page.html")).read_bytes()
        out.append((folder.name, body, "https://www.sichuanpeace.gov.cn" + meta["path"],
                    meta.get("headers", {}).get("Content-Type"), json.loads(expected_file.read_text("utf-8"))))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _summary(cpu_ms: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    cost = {}
    for name, values in cpu_ms.items():
        cost[name] = {"median_ms": round(statistics.median(values), 2), "p95_ms": round(percentile(values, 0.95), 2),
                      "mean_ms": round(statistics.mean(values), 2)}
    for name in cpu_ms:
        cost[name]["median_ratio_to_ours"] = round(cost[name]["median_ms"] / cost["ours"]["median_ms"], 1)
        cost[name]["p95_ratio_to_ours"] = round(cost[name]["p95_ms"] / cost["ours"]["p95_ms"], 1)
    return cost


def _timed(extract: Callable[..., dict[str, Any]], page: Any) -> tuple[float, dict[str, Any]]:
    start = time.process_time_ns()
    found = extract(page.html, BASE + page.meta.path, CTYPE, BASE + "/")
    return (time.process_time_ns() - start) / 1e6, found


def run(articles: int, rounds: int = 4, warmup: int = 5) -> dict[str, Any]:
    runners = extractors()
    pages = [generate_article(k, articles, BASE) for k in range(articles)]
    sizes = sorted(len(p.html) for p in pages)
    synthetic_scores: dict[str, list[dict]] = {name: [] for name in runners}

    # Blocks: each extractor over every page, rounds in alternating order, least time per page.
    least: dict[str, list[float]] = {name: [float("inf")] * len(pages) for name in runners}
    names = list(runners)
    for round_ in range(rounds):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            for page in pages[:warmup]:
                runners[name](page.html, BASE + page.meta.path, CTYPE, BASE + "/")
            for i, page in enumerate(pages):
                elapsed, found = _timed(runners[name], page)
                least[name][i] = min(least[name][i], elapsed)
                if round_ == 0:
                    synthetic_scores[name].append(score(found, page.truth()))
            gc.collect()

    # Interleaved, once: every extractor on a page, then the next page.
    interleaved: dict[str, list[float]] = {name: [] for name in runners}
    for page in pages:
        for name, extract in runners.items():
            interleaved[name].append(_timed(extract, page)[0])
    cost = _summary(least)
    cost_interleaved = _summary(interleaved)

    fixture_scores: dict[str, list[dict]] = {name: [] for name in runners if name != "ours+links"}
    per_fixture: dict[str, dict[str, Any]] = {}
    for name, body, url, ctype, expected in fixture_articles():
        per_fixture[name] = {}
        for ext_name in fixture_scores:
            found = runners[ext_name](body, url, ctype, "https://www.sichuanpeace.gov.cn/")
            s = score(found, expected)
            fixture_scores[ext_name].append(s)
            per_fixture[name][ext_name] = s
    return {
        "articles": articles,
        "page_kb": {"min": round(sizes[0] / 1024, 1), "median": round(sizes[len(sizes) // 2] / 1024, 1),
                    "max": round(sizes[-1] / 1024, 1)},
        "rounds": rounds,
        "cpu_per_page": cost,
        "cpu_per_page_interleaved": cost_interleaved,
        "accuracy_fixtures": {name: summarize_scores(v) for name, v in fixture_scores.items()},
        "accuracy_synthetic": {name: summarize_scores(v) for name, v in synthetic_scores.items()
                               if name != "ours+links"},
        "per_fixture": per_fixture,
    }


def report(result: dict[str, Any]) -> str:
    cost = result["cpu_per_page"]
    lines = [f"Extraction CPU per page, {result['articles']} synthetic pages "
             f"({result['page_kb']['min']}–{result['page_kb']['max']} KB, median {result['page_kb']['median']} KB)", ""]
    lines.append(table([[n, c["median_ms"], c["p95_ms"], f"{c['median_ratio_to_ours']}×", f"{c['p95_ratio_to_ours']}×"]
                        for n, c in cost.items()], ["extractor", "median ms", "p95 ms", "median / ours", "p95 / ours"]))
    lines += ["", "The same pages, interleaved (every extractor on a page, then the next page), once:", ""]
    lines.append(table([[n, c["median_ms"], c["p95_ms"], f"{c['median_ratio_to_ours']}×", f"{c['p95_ratio_to_ours']}×"]
                        for n, c in result["cpu_per_page_interleaved"].items()],
                       ["extractor", "median ms", "p95 ms", "median / ours", "p95 / ours"]))
    for key, label in (("accuracy_fixtures", "fixture articles (gold: expected.json)"),
                       ("accuracy_synthetic", "synthetic articles (gold: generator)")):
        acc = result[key]
        n = next(iter(acc.values()))["pages"]
        lines += ["", f"Fields right on {n} {label}", ""]
        lines.append(table([[name, a["title"], a["time"], a["source"], a["editor"], a["recall"], a["full_body"],
                             a["footer_leak"], a["any_leak"]] for name, a in acc.items()],
                           ["extractor", "title", "time (s)", "来源", "编辑", "body recall", "full body",
                            "footer/ICP leaked", "any boilerplate leaked"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300, help="synthetic pages to time")
    parser.add_argument("--rounds", type=int, default=4, help="rounds over the pages per extractor (least time kept)")
    parser.add_argument("--out", type=Path, help="result JSON (default bench/results/extraction.json)")
    args = parser.parse_args(argv)
    result = run(args.articles, args.rounds)
    path = save("extraction", result, args.out)
    print(report(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
