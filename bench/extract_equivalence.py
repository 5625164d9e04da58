"""Everything extraction makes of a corpus of pages, as one JSON file: the check that a speed-up changed nothing.

For every page of tests/realpages, tests/fixtures and ``--articles`` synthetic mirror articles (plus
the mirror's home, list and site-map pages): every field of ``read_article_page`` (the article, its
blocks with every attribute, the links), the cleaned item (``ArticleItem.from_raw`` + ``clean``:
the record without the crawl's clock fields, and what each rule removed), what ``ValidatePipeline``
decides, and ``extract_record`` (the challenge test included).

``python -m bench.extract_equivalence --write /tmp/before.json`` on the old code, then
``python -m bench.extract_equivalence --check /tmp/before.json`` on the new: it prints the pages
and fields that differ and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import PROJECT

sys.path.insert(0, str(PROJECT))
from crawler.accounting import DropRecord
from crawler.extract import extract_record
from crawler.extract.article_page import read_article_page
from crawler.extract.listing import parse_listing
from crawler.items import ArticleItem
from crawler.pipelines.validate import ValidatePipeline

MIRROR_BASE = "http://127.0.0.1:8000"
FIXTURE_BASE = "https://www.sichuanpeace.gov.cn"
# The record's fields that hold the crawl's clock, not what the page says.
CLOCK_FIELDS = ("fetched_at", "first_seen")


class _Stats:
    """What ValidatePipeline counts, kept."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def _plain(value: Any) -> Any:
    """A dataclass (Block, RawArticle, Listing ...) as plain JSON values, every field included."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def pages() -> Iterator[tuple[str, bytes, str, str | None, str]]:
    """(name, body, url, content type, base URL) of every page of the corpus."""
    realpages = PROJECT / "tests" / "realpages"
    for path in sorted((realpages / "pages").glob("*.html")):
        gold_file = realpages / "gold" / f"{path.stem}.json"
        url = json.loads(gold_file.read_text("utf-8")).get("url") if gold_file.exists() else None
        url = url or f"https://example.com/{path.stem}.html"
        parts = urlsplit(url)
        yield f"real/{path.stem}", path.read_bytes(), url, None, f"{parts.scheme}://{parts.netloc}/"
    for folder in sorted(p for p in (PROJECT / "tests" / "fixtures").iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        body = (folder / meta.get("file", "page.html")).read_bytes()
        yield (f"fixture/{folder.name}", body, FIXTURE_BASE + meta["path"],
               meta.get("headers", {}).get("Content-Type"), FIXTURE_BASE + "/")


def synthetic(articles: int) -> Iterator[tuple[str, bytes, str, str | None, str]]:
    from bench.mirror import generate_article, home_html, list_page_html, sitemap_html

    ctype = "text/html; charset=utf-8"
    for k in range(articles):
        article = generate_article(k, articles, MIRROR_BASE)
        yield f"mirror/{k}", article.html, MIRROR_BASE + article.meta.path, ctype, MIRROR_BASE + "/"
    yield "mirror/home", home_html(articles, MIRROR_BASE).encode(), MIRROR_BASE + "/", ctype, MIRROR_BASE + "/"
    yield ("mirror/sitemap", sitemap_html(MIRROR_BASE, "网站地图").encode(), MIRROR_BASE + "/wzdt/", ctype,
           MIRROR_BASE + "/")
    for slug in ("scyw", "azsf", "fzxc"):
        for number in range(3):
            html = list_page_html(slug, number, articles, MIRROR_BASE)
            if html is not None:
                path = f"/{slug}/" if number == 0 else f"/{slug}/index_{number}.html"
                yield f"mirror/list/{slug}/{number}", html.encode(), MIRROR_BASE + path, ctype, MIRROR_BASE + "/"


def extract_all(body: bytes, url: str, ctype: str | None, base_url: str) -> dict[str, Any]:
    """Everything extraction makes of one page."""
    host = (urlsplit(base_url).hostname or "").lower()
    out: dict[str, Any] = {}
    read = read_article_page(body, url, ctype, base_url, host)
    out["article"] = _plain(read.article)
    out["links"] = _plain(read.links)
    out["listing"] = _plain(parse_listing(body, url, host, base_url, ctype))
    item = ArticleItem.from_raw(read.article, site=host)
    removed = item.clean()
    record = item.record()
    for name in CLOCK_FIELDS:
        record.pop(name, None)
    out["record"] = _plain(record)
    out["removed"] = dict(sorted(removed.items()))
    stats = _Stats()
    try:
        ValidatePipeline(stats).process_item(item)  # type: ignore[arg-type]  # counts only
        out["validate"] = "ok"
    except DropRecord as error:
        out["validate"] = str(error)
    out["validate_stats"] = stats.values
    out["extract_record"] = _plain(extract_record(body, url, {"Content-Type": ctype} if ctype else None))
    return out


def run(articles: int) -> dict[str, Any]:
    result = {}
    for name, body, url, ctype, base_url in (*pages(), *synthetic(articles)):
        result[name] = extract_all(body, url, ctype, base_url)
    return result


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Each page and top-level field that differs (or is missing on one side)."""
    found = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            found.append(f"{name}: only {'after' if name in after else 'before'}")
            continue
        found += [f"{name}: {key}" for key in sorted(set(before[name]) | set(after[name]))
                  if before[name].get(key) != after[name].get(key)]
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", type=Path, help="write the extraction of every page here")
    what.add_argument("--check", type=Path, help="compare the extraction of every page with this file")
    parser.add_argument("--articles", type=int, default=200, help="synthetic mirror articles")
    args = parser.parse_args(argv)
    logging.getLogger("crawler").setLevel(logging.ERROR)  # each dropped record's warning: the JSON has it
    result = run(args.articles)
    text = json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True)
    if args.write:
        args.write.write_text(text, "utf-8")
        print(f"{len(result)} pages written to {args.write}")
        return
    before = json.loads(args.check.read_text("utf-8"))
    found = differences(before, json.loads(text))
    for line in found:
        print(line)
    print(f"{len(result)} pages, {len(found)} differences" + ("" if found else ": all identical"))
    if found:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
