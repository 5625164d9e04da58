"""Extraction on real pages nobody here wrote: ours, trafilatura and GNE side by side.

The corpus is tests/realpages (README there): saved article pages from public extraction test
sets, with gold labelled by reading each page. Per extractor and field:

* ``title``: exact, whitespace ignored;
* ``time``: the publication time right as precise as the page shows it (to the day, minute or
  second), out of the pages that show one;
* ``source`` (来源) and ``editor`` (编辑): exact, out of the pages that show one (trafilatura and GNE
  have no 来源; their ``author`` is compared with the editor);
* ``first_paragraph``: the first gold paragraph found in the body; ``recall``: the mean share of gold
  paragraphs found (whitespace ignored);
* ``boilerplate``: pages whose body holds one of the page's gold boilerplate snippets;
* ``body_in_range``: pages whose body is 0.9–1.3× the gold text's length; ``body_over``: over 1.3×;
* CPU per page: each extractor over all pages in ``--rounds`` rounds of alternating order, the
  least time per page kept (machine noise only ever adds time); median, and its ratio to ours.
  With ``--cold-urls``, ours finds the caches of resolved hrefs keyed by page empty on each call (as
  a crawl finds them for a page it has not seen; emptying them is inside its time, ~1 µs): without
  it, every round after the first finds each href of the page resolved.

``python -m bench.realpages [--rounds 3] [--pages SLUG ...] [--show SLUG] [--cold-urls]``
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import PROJECT, save, table

sys.path.insert(0, str(PROJECT))
from crawler.extract import extract_record
from crawler.extract import urls as extract_urls
from crawler.extract.encoding import decode_page

CORPUS = PROJECT / "tests" / "realpages"
# Whitespace of every kind, ignored when texts are compared.
WS_RE = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
TIME_RE = re.compile(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})(?:\D{1,3}(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
BODY_RANGE = (0.9, 1.3)
FIELDS = ("title", "time", "source", "editor", "first_paragraph", "boilerplate", "body_in_range", "body_over")


def norm(text: str | None) -> str:
    return WS_RE.sub("", text or "")


@dataclass
class Page:
    slug: str
    body: bytes
    gold: dict[str, Any]

    @property
    def url(self) -> str:
        return self.gold["url"]


def load_corpus(slugs: list[str] | None = None) -> list[Page]:
    """The labelled pages (a gold file with a ``title`` key), in slug order."""
    pages = []
    for path in sorted((CORPUS / "gold").glob("*.json")):
        gold = json.loads(path.read_text("utf-8"))
        if "title" not in gold or (slugs and path.stem not in slugs):
            continue
        pages.append(Page(path.stem, (CORPUS / "pages" / f"{path.stem}.html").read_bytes(), gold))
    return pages


# --- the extractors: bytes and URL in, a common dict out -----------------------------------------

def ours(body: bytes, url: str) -> dict[str, Any]:
    record = extract_record(body, url) or {}
    return {"title": record.get("title"), "time": record.get("published_at"), "source": record.get("source"),
            "editor": record.get("editor"), "text": record.get("body") or ""}


# The caches of crawler.extract.urls keyed by page (by href and page URL): emptied by --cold-urls.
PAGE_URL_CACHES = ("_resolve", "_plain_base")


def ours_cold_urls(body: bytes, url: str) -> dict[str, Any]:
    """``ours`` on a page whose hrefs it has not resolved before."""
    for name in PAGE_URL_CACHES:
        if hasattr(extract_urls, name):
            getattr(extract_urls, name).cache_clear()
    return ours(body, url)


def make_trafilatura() -> Callable[[bytes, str], dict[str, Any]]:
    import trafilatura

    params = {"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d %H:%M:%S"}

    def run(body: bytes, url: str) -> dict[str, Any]:
        out = trafilatura.extract(decode_page(body, None).text, url=url, output_format="json", with_metadata=True,
                                  date_extraction_params=params)
        data = json.loads(out) if out else {}
        return {"title": data.get("title"), "time": data.get("date"), "source": None,
                "editor": data.get("author"), "text": data.get("text") or ""}
    return run


def make_gne() -> Callable[[bytes, str], dict[str, Any]]:
    from gne import GeneralNewsExtractor
    extractor = GeneralNewsExtractor()

    def run(body: bytes, url: str) -> dict[str, Any]:
        try:
            data = extractor.extract(decode_page(body, None).text)
        except Exception:  # GNE raises on some pages; that page scores nothing
            data = {}
        return {"title": data.get("title"), "time": data.get("publish_time"), "source": None,
                "editor": data.get("author"), "text": data.get("content") or ""}
    return run


def extractors(names: tuple[str, ...] = ("ours", "trafilatura", "gne"),
               cold_urls: bool = False) -> dict[str, Callable[[bytes, str], dict]]:
    makers: dict[str, Callable[[], Callable[[bytes, str], dict]]] = {
        "ours": lambda: ours_cold_urls if cold_urls else ours, "trafilatura": make_trafilatura, "gne": make_gne}
    return {name: makers[name]() for name in names}


# --- scoring ----------------------------------------------------------------------------------------

def time_right(found: Any, gold: str) -> bool:
    """Whether ``found`` gives the gold time to the precision the page shows (day, minute, second)."""
    if not found:
        return False
    match, want = TIME_RE.search(str(found)), TIME_RE.search(gold)
    if not match or not want:
        return False
    shown = [g for g in want.groups() if g is not None]
    got = match.groups()[:len(shown)]
    return all(g is not None and int(g) == int(w) for g, w in zip(got, shown, strict=True))


def score(found: dict[str, Any], gold: dict[str, Any]) -> dict[str, Any]:
    """One page's scores; a field the page does not show is None (not counted)."""
    text = norm(found["text"])
    paragraphs = [norm(p) for p in gold["paragraphs"] if norm(p)]
    gold_text = "".join(paragraphs)
    snippets = [norm(s) for s in gold.get("boilerplate", []) if norm(s) and norm(s) not in gold_text]
    ratio = len(text) / len(gold_text) if gold_text else None
    return {
        "title": norm(found["title"]) == norm(gold["title"]),
        "time": time_right(found["time"], gold["published"]) if gold.get("published") else None,
        "source": norm(found["source"]) == norm(gold["source"]) if gold.get("source") else None,
        "editor": norm(found["editor"]) == norm(gold["editor"]) if gold.get("editor") else None,
        "first_paragraph": bool(paragraphs) and paragraphs[0] in text,
        "recall": sum(p in text for p in paragraphs) / len(paragraphs) if paragraphs else None,
        "boilerplate": any(s in text for s in snippets),
        "ratio": round(ratio, 2) if ratio is not None else None,
        "body_in_range": ratio is not None and BODY_RANGE[0] <= ratio <= BODY_RANGE[1],
        "body_over": ratio is not None and ratio > BODY_RANGE[1],
    }


def summarize(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per field, out of the pages where the field applies."""
    out: dict[str, Any] = {"pages": len(scores)}
    for name in FIELDS:
        values = [s[name] for s in scores if s[name] is not None]
        out[name] = {"right": sum(bool(v) for v in values), "of": len(values)}
    recalls = [s["recall"] for s in scores if s["recall"] is not None]
    out["recall"] = round(statistics.mean(recalls), 3) if recalls else None
    return out


def run(pages: list[Page], rounds: int = 3, names: tuple[str, ...] = ("ours", "trafilatura", "gne"),
        cold_urls: bool = False) -> dict[str, Any]:
    runners = extractors(names, cold_urls)
    least = {name: [float("inf")] * len(pages) for name in runners}
    per_page: dict[str, dict[str, Any]] = {page.slug: {} for page in pages}
    order = list(runners)
    for round_ in range(rounds):
        for name in (order if round_ % 2 == 0 else order[::-1]):
            for i, page in enumerate(pages):
                start = time.process_time_ns()
                found = runners[name](page.body, page.url)
                least[name][i] = min(least[name][i], (time.process_time_ns() - start) / 1e6)
                if round_ == 0:
                    per_page[page.slug][name] = score(found, page.gold)
    summary = {name: summarize([per_page[p.slug][name] for p in pages]) for name in runners}
    for name in runners:
        summary[name]["cpu_median_ms"] = round(statistics.median(least[name]), 2) if pages else None
    if "ours" in runners and pages:
        for name in runners:
            summary[name]["cpu_ratio_to_ours"] = round(
                summary[name]["cpu_median_ms"] / summary["ours"]["cpu_median_ms"], 1)
    kinds: dict[str, int] = {}
    for page in pages:
        kinds[page.gold.get("kind", "?")] = kinds.get(page.gold.get("kind", "?"), 0) + 1
    return {"pages": len(pages), "kinds": kinds, "rounds": rounds, "cold_urls": cold_urls, "summary": summary,
            "per_page": per_page}


def report(result: dict[str, Any]) -> str:
    summary = result["summary"]
    names = list(summary)

    def cell(name: str, field: str) -> str:
        value = summary[name][field]
        return f"{value['right']}/{value['of']}"

    rows = [
        ["title exact", *(cell(n, "title") for n in names)],
        ["time right (as precise as shown)", *(cell(n, "time") for n in names)],
        ["来源", *(cell(n, "source") if n == "ours" else "–" for n in names)],
        ["编辑 (theirs: author)", *(cell(n, "editor") for n in names)],
        ["first paragraph found", *(cell(n, "first_paragraph") for n in names)],
        ["paragraph recall (mean)", *(str(summary[n]["recall"]) for n in names)],
        ["pages leaking boilerplate into the body", *(cell(n, "boilerplate") for n in names)],
        ["body 0.9–1.3× the gold text", *(cell(n, "body_in_range") for n in names)],
        ["body over 1.3× the gold text", *(cell(n, "body_over") for n in names)],
        ["median CPU per page (ms)", *(str(summary[n]["cpu_median_ms"]) for n in names)],
        ["CPU / ours", *(f"{summary[n].get('cpu_ratio_to_ours', '–')}×" for n in names)],
    ]
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(result["kinds"].items()))
    return f"On {result['pages']} real pages ({kinds}), {result['rounds']} rounds\n\n" + table(rows, ["", *names])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", nargs="*", help="only these slugs")
    parser.add_argument("--only", nargs="*", default=["ours", "trafilatura", "gne"], help="extractors to run")
    parser.add_argument("--misses", action="store_true", help="print ours' misses per page")
    parser.add_argument("--out", type=Path, help="result JSON (default bench/results/realpages.json)")
    parser.add_argument("--cold-urls", action="store_true", help="ours finds each page's hrefs unresolved")
    args = parser.parse_args(argv)
    result = run(load_corpus(args.pages), args.rounds, tuple(args.only), args.cold_urls)
    if args.misses:
        for slug, by in result["per_page"].items():
            s = by.get("ours", {})
            bad = [k for k in ("title", "time", "source", "editor", "first_paragraph", "body_in_range")
                   if s.get(k) is False]
            if s.get("boilerplate"):
                bad.append("boilerplate")
            if bad:
                print(f"{slug}: {', '.join(bad)} (ratio {s.get('ratio')}, recall {s.get('recall')})")
    if not args.pages:
        print(f"result: {save('realpages', result, args.out)}")
    print(report(result))


if __name__ == "__main__":
    main()
