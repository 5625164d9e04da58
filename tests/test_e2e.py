"""End to end: the real ``scrapy crawl sichuanpeace`` in a subprocess against the fixture site."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

from crawler.items import RECORD_FIELDS
from crawler.pipelines.validate import load_schema
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl

ARTICLES = {case.expected["id"]: case for case in load_cases("article")}


@pytest.fixture(scope="module")
def full_crawl(tmp_path_factory):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path_factory.mktemp("out"))
        yield result, site.request_counts()


def test_exit_code_and_one_file(full_crawl):
    result, _ = full_crawl
    assert result.returncode == 0, result.log[-3000:]
    files = list(result.output_dir.glob("sichuanpeace-*.jsonl"))
    assert len(files) == 1


def test_every_fixture_article_found_once(full_crawl):
    result, _ = full_crawl
    ids = [record["id"] for record in result.records]
    assert sorted(ids) == sorted(ARTICLES)


def test_records_valid_against_schema_with_fixed_key_order(full_crawl):
    result, _ = full_crawl
    validator = Draft202012Validator(load_schema())
    for record in result.records:
        assert list(record) == list(RECORD_FIELDS)
        assert not list(validator.iter_errors(record)), record["url"]


def test_records_match_expected_fields(full_crawl):
    result, _ = full_crawl
    for record in result.records:
        expected = ARTICLES[record["id"]].expected
        assert record["url"].endswith(expected["url_path"])
        for field in ("title", "published_at", "source", "editor", "byline", "extractor"):
            assert record[field] == expected[field], (record["id"], field)
        # A page without a breadcrumb takes its channel name from the list page that linked it.
        assert record["channel_name"] == (expected["channel_name"] or "法治宣传"), record["id"]


def test_legacy_article_gets_channel_of_linking_list(full_crawl):
    result, _ = full_crawl
    legacy = [r for r in result.records if "/system/" in r["url"]]
    assert legacy and all(r["channel"] == "fzxc" for r in legacy)


def test_utf8_without_escapes(full_crawl):
    result, _ = full_crawl
    text = next(result.output_dir.glob("*.jsonl")).read_text("utf-8")
    assert "\\u" not in text and "遂宁市政法队伍教育整顿综述" in text


def test_only_pages_requested_and_robots_obeyed(full_crawl):
    result, requests = full_crawl
    assert requests["/robots.txt"] == 1
    assert not [p for p in requests if p.startswith("/admin/")]
    # Media only as page requisites: the images and attachments records name, never the logo.
    media = {p for p in requests if p.rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "pdf")}
    named = {urlsplit(x["url"]).path for r in result.records for x in r["images"] + r["attachments"]}
    assert media == named and "/images/logo.png" not in media
    assert all(count == 1 for count in requests.values()), requests


def test_soft_404_logged_and_counted(full_crawl):
    result, _ = full_crawl
    assert "Not an article (soft 404)" in result.log
    assert "'extract/not_article/soft_404': 1" in result.log


def test_repeated_article_links_are_not_requested_again(full_crawl):
    result, _ = full_crawl  # 上一篇/下一篇 of articles already requested never reach the duplicate filter
    skipped = re.search(r"'discovery/skipped_recent': (\d+)", result.log)
    assert skipped and int(skipped[1]) > 0
    assert "'dupefilter/filtered'" not in result.log


def test_cleaner_counts_in_stats(full_crawl):
    result, _ = full_crawl
    for rule in ("clean/image_filename", "clean/literal_crlf", "clean/empty_paragraph"):
        assert f"'{rule}'" in result.log


def test_channels_argument_limits_the_crawl(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-a", "channels=scyw,fzxc")
    expected = {i for i, c in ARTICLES.items()
                if c.meta["path"].split("/")[1] in ("scyw", "system")}
    assert result.returncode == 0
    assert {r["id"] for r in result.records} == expected


def test_since_stops_paging(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-a", "since=2021-12-01", "-a", "channels=scyw")
        requests = site.request_counts()
    assert result.returncode == 0
    assert result.records and all(r["published_at"] >= "2021-12-01" for r in result.records)
    # /scyw/index_1.html lists only articles older than `since`: the list reached it, so no page 3.
    assert requests["/scyw/index_1.html"] == 1
    assert "/scyw/index_2.html" not in requests
    assert "/scyw/20210916/2519803.html" not in requests


def test_dash_O_writes_exactly_that_file(tmp_path):
    target = tmp_path / "records.jsonl"
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path / "out", "-a", "channels=gcsy", "-O", str(target))
    assert result.returncode == 0
    lines = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert {r["id"] for r in lines} == {"1792665", "1801234"}
    # -O is a delivery; the archive keeps its own copy under OUTPUT_DIR, which the consumer reads.
    files = consumer.final(tmp_path / "out")["files"]
    assert [f["uri"] for f in files if f["kind"] == "delivery"] == [str(target)]
    assert [f["file"] for f in files if f["kind"] == "records"] == [p.name for p in (tmp_path / "out").glob("*.jsonl")]
    assert consumer.records(tmp_path / "out") == lines


@pytest.mark.parametrize("argument", ["base_url=ftp://example.org/", "channels=SC YW", "since=2021-13-01"])
def test_bad_arguments_fail(tmp_path, argument):
    result = run_crawl("http://127.0.0.1:9/", tmp_path, "-a", argument, timeout=120)
    assert result.returncode != 0
    assert "must be" in result.log


def test_site_argument_names_a_sister_site(tmp_path):
    """``-a site=`` crawls a sister site (here through its mirror); records say that site."""
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path, "-a", "site=chengdu", "-a", "channels=gcsy")
    assert result.returncode == 0, result.log[-2000:]
    assert {r["site"] for r in result.records} == {"www.chengdupeace.gov.cn"}
    assert {r["id"] for r in result.records} == {"1792665", "1801234"}


def test_unknown_site_is_refused(tmp_path):
    result = run_crawl("http://127.0.0.1:9/", tmp_path, "-a", "site=atlantis", timeout=120)
    assert result.returncode != 0 and "site must be a registered host" in result.log
