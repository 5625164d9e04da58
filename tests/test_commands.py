"""``scrapy parse``, ``scrapy check`` and ``scrapy describe``, and ``python -m crawler.extract``: the real
commands in a subprocess, against the fixture site."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from scrapy.utils.misc import is_generator_with_return_value

from crawler.items import RECORD_FIELDS
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.cmdline import FAST_INFO, PROJECT, scrapy
from tests.utils.files import files_under

ARTICLE = next(c for c in load_cases("article") if c.expected["id"] == "2541288")
CONTRACTS = json.dumps({"crawler.contracts.PathContract": 1, "crawler.contracts.RecordContract": 3})
# The sample pages the contracts name (the spider's docstrings).
CONTRACT_PATHS = {"parse": "/szdt/20240110/2868001.html", "parse_listing_page": "/scyw/",
                  "parse_article_page": "/scyw/20211103/2541288.html"}


def parse(site: FixtureSite, path: str, output_dir, *args: str):
    return scrapy("parse", "--spider=sichuanpeace", "-a", f"base_url={site.base_url}", *args,
                  "-s", f"OUTPUT_DIR={output_dir}", *FAST_INFO, site.base_url + path.lstrip("/"))


def printed(done: subprocess.CompletedProcess) -> tuple[list[dict], list[str]]:
    """The records (stdout: JSON lines, nothing else) and request URLs (stderr) ``scrapy parse`` printed."""
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return records, re.findall(r"^request: GET (\S+)$", done.stderr, re.M)


def check(site: FixtureSite, output_dir, *args: str):
    return scrapy("check", "sichuanpeace", "-a", f"base_url={site.base_url}", "-s", f"SPIDER_CONTRACTS={CONTRACTS}",
                  "-s", f"OUTPUT_DIR={output_dir}", *FAST_INFO, *args)


# --- scrapy parse ---------------------------------------------------------------------------------

def test_parse_prints_the_cleaned_record_of_an_article(site, tmp_path):
    done = parse(site, ARTICLE.meta["path"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    items, requests = printed(done)
    assert len(items) == 1
    record = items[0]
    # What a consumer sees: the record's fields, no internal ones (blocks, etag, last_modified).
    assert set(record) == set(RECORD_FIELDS)
    expected = ARTICLE.expected
    assert record["id"] == "2541288" and record["title"] == expected["title"]
    # Built and cleaned by the pipelines: body from the blocks, byline, captions out of the body.
    body = record["body"].split("\n")
    assert body[0] == expected["body_first"] and body[-1] == expected["body_last"]
    assert record["byline"] == expected["byline"]
    assert [i["caption"] for i in record["images"]] == [i["caption"] for i in expected["images"]]
    for snippet in expected["body_must_not_contain"]:
        assert snippet not in record["body"]
    assert re.fullmatch(r"[0-9a-f]{64}", record["content_sha256"])
    # Routed to the article callback: its prev/next links are the requests it would follow.
    for path in expected["linked_article_paths"]:
        assert site.base_url + path.lstrip("/") in requests


def test_parse_routes_a_list_page_to_the_listing_callback(site, tmp_path):
    done = parse(site, "/scyw/", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    items, requests = printed(done)
    assert items == []
    # Only the listing callback follows 下一页, and the list's articles.
    assert f"{site.base_url}scyw/index_1.html" in requests
    assert {f"{site.base_url}scyw/20250829/2992286.html", f"{site.base_url}scyw/20250612/2962417.html"} <= set(requests)


def test_parse_nopipelines_prints_the_raw_item(site, tmp_path):
    done = parse(site, ARTICLE.meta["path"], tmp_path, "--nopipelines")
    assert done.returncode == 0, done.stderr[-3000:]
    items, _ = printed(done)
    assert len(items) == 1 and items[0]["body"] is None and items[0]["content_sha256"] is None


def test_parse_does_not_print_an_item_the_pipelines_drop(site, tmp_path):
    # The sample article with U+FFFD in its title: extracted, then quarantined by the validate pipeline.
    garbled = ARTICLE.body.replace(ARTICLE.expected["title"].encode(), "遂宁市政法队伍\ufffd教育整顿综述".encode())
    assert garbled != ARTICLE.body
    site.put(ARTICLE.meta["path"], Resource(200, dict(ARTICLE.meta["headers"]), garbled))
    done = parse(site, ARTICLE.meta["path"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    items, _ = printed(done)
    assert items == []
    assert "Not printed, dropped by the item pipelines" in done.stderr
    assert "quarantined" in done.stderr


def test_parse_of_a_missing_page_exits_1(site, tmp_path):
    done = parse(site, "/scyw/20211103/9999999.html", tmp_path)
    assert done.returncode == 1
    assert "No response downloaded" in done.stderr


@pytest.mark.parametrize(("options", "log_lines"), [((), False), (("-L", "INFO"), True)], ids=["default", "-L INFO"])
def test_parse_prints_json_lines_without_the_debug_log(site, tmp_path, options, log_lines):
    done = scrapy("parse", "--spider=sichuanpeace", "-a", f"base_url={site.base_url}", "-s", f"OUTPUT_DIR={tmp_path}",
                  "-s", "DOWNLOAD_DELAY=0", *options, site.base_url + ARTICLE.meta["path"].lstrip("/"))
    assert done.returncode == 0, done.stderr[-3000:]
    # stdout is the records file's format: one JSON object a line, Chinese as it is, fields in order.
    assert len(done.stdout.splitlines()) == 1
    assert f'"title": "{ARTICLE.expected["title"]}"' in done.stdout
    assert list(json.loads(done.stdout)) == list(RECORD_FIELDS)
    assert " DEBUG: " not in done.stderr
    assert (" INFO: " in done.stderr) is log_lines  # Scrapy's own lines, when asked for with -L


def test_parse_writes_nothing_into_output_dir(site, tmp_path):
    out = tmp_path / "out"
    done = parse(site, ARTICLE.meta["path"], out)
    assert done.returncode == 0, done.stderr[-3000:]
    # The state store, the WARC writer, the run report and the feeds only work for scrapy crawl.
    assert (files_under(out) if out.exists() else []) == []


def test_the_parse_callback_is_not_a_generator_returning_a_value():
    # Scrapy's run-time check is off (WARN_ON_GENERATOR_RETURN_VALUE); tests/test_spider_callbacks.py
    # covers the callbacks the spider names itself, this one is called by scrapy parse and check.
    assert not is_generator_with_return_value(SichuanpeaceSpider().parse)


# --- scrapy check ---------------------------------------------------------------------------------

def test_check_lists_a_contract_for_each_callback(tmp_path):
    done = scrapy("check", "-l", "-s", f"SPIDER_CONTRACTS={CONTRACTS}", "-s", f"OUTPUT_DIR={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["sichuanpeace", "*", "parse", "*", "parse_article_page", "*", "parse_listing_page"]


def test_check_passes_on_the_fixture_site(site, tmp_path):
    done = check(site, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert re.search(r"Ran 9 contracts in .*\n\nOK", done.stderr), done.stderr
    # The samples came from the mirror -a base_url named (@path), not from the live site.
    counts = site.request_counts()
    assert all(counts[path] >= 1 for path in CONTRACT_PATHS.values()), counts


def test_check_fails_when_a_sample_record_would_be_dropped(site, tmp_path):
    # An article that still yields one item (so @returns holds) but would never reach the feed.
    garbled = ARTICLE.body.replace(ARTICLE.expected["title"].encode(), "遂宁市政法队伍\ufffd教育整顿综述".encode())
    site.put(ARTICLE.meta["path"], Resource(200, dict(ARTICLE.meta["headers"]), garbled))
    done = check(site, tmp_path / "out")
    assert done.returncode == 1
    assert "FAIL: [sichuanpeace] parse_article_page (@record post-hook)" in done.stderr
    assert "Dropped by ValidatePipeline" in done.stderr
    assert "FAILED (failures=1)" in done.stderr


def test_check_fails_when_a_sample_page_is_not_a_list(site, tmp_path):
    site.put("/scyw/", None)  # 404 now
    done = check(site, tmp_path / "out")
    assert done.returncode == 1
    assert "parse_listing_page (errback)" in done.stderr


def test_check_without_the_contracts_setting_fails(site, tmp_path):
    done = scrapy("check", "sichuanpeace", "-a", f"base_url={site.base_url}", "-s", "SPIDER_CONTRACTS={}",
                  "-s", f"OUTPUT_DIR={tmp_path}", *FAST_INFO)
    assert done.returncode == 1
    assert "KeyError: 'path'" in done.stderr


def test_check_reports_a_refused_argument(site, tmp_path):
    done = check(site, tmp_path / "out", "-a", "since=")
    assert done.returncode == 1
    assert "scrapy check sichuanpeace: not checking: since must not be empty" in done.stderr
    assert "Ran 0 contracts" not in done.stderr
    assert site.request_counts() == {}


# --- python -m crawler.extract --------------------------------------------------------------------

def extract(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.extract", *args], cwd=PROJECT, input=stdin,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)}, capture_output=True, timeout=60)


def test_extract_reads_the_page_from_stdin():
    done = extract("-", "--url", ARTICLE.url, stdin=ARTICLE.body)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    record = json.loads(done.stdout)
    assert record["id"] == "2541288" and record["title"] == ARTICLE.expected["title"]


@pytest.mark.parametrize("page", ["no-such-page.html", "tests"])
def test_extract_answers_an_unreadable_page_in_one_line(page):
    done = extract(page, "--url", ARTICLE.url)
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and "Traceback" not in done.stderr.decode()
    assert done.stderr.decode().startswith(f"python -m crawler.extract: cannot read {page}: ")
