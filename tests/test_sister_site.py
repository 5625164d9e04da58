"""Every URL shape the registry's sites use passes the schema: a sister site serving ``.shtml``
articles and list pages, crawled end to end and read as the consumer reads it."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from crawler.pipelines.validate import load_schema
from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl

ARTICLES = {case.expected["id"]: case.meta["path"] for case in load_cases("article")}


def test_shtml_sister_site_end_to_end(tmp_path):
    with FixtureSite() as site:
        site.serve_shtml()
        result = run_crawl(site.base_url, tmp_path, "-a", "site=chengdu")
        requested = site.request_counts()
    assert result.returncode == 0, result.log[-3000:]
    records = result.records
    # Every article of the site, once, at its .shtml URL, as the current or legacy shape.
    assert sorted(r["id"] for r in records) == sorted(ARTICLES)
    for record in records:
        assert record["url"] == site.base_url.rstrip("/") + re.sub(r"\.html$", ".shtml", ARTICLES[record["id"]])
        assert record["site"] == "www.chengdupeace.gov.cn"
        assert record["url_shape"] == ("legacy" if "/system/" in record["url"] else "current")
    validator = Draft202012Validator(load_schema())
    assert all(not list(validator.iter_errors(r)) for r in records)
    # Nothing was dropped by the schema, and no .html page was guessed (they answer 404 there).
    final = consumer.final(tmp_path)
    assert final["complete"] and final["accounting"]["balanced"], final["accounting"]
    assert not final["counts"].get("dropped", {}).get("validate"), final["counts"]
    assert not [p for p in requested if p.endswith(".html")], requested
    assert final["counts"]["url_shapes"] == {"current": len(ARTICLES) - 2, "legacy": 2}


@pytest.mark.parametrize("ext", ["html", "htm", "shtml"])
def test_list_pages_keep_the_extension_of_their_site(ext):
    from crawler.extract.listing import _next_from_pager_script
    from crawler.extract.urls import article_ref, page_url

    base = "http://www.chengdupeace.gov.cn/"
    ref = article_ref(f"{base}scyw/20211103/2541288.{ext}", base)
    assert ref is not None and ref.id == "2541288" and ref.url.endswith(f"/2541288.{ext}")
    assert page_url(f"{base}scyw/index_1.{ext}", 2) == f"{base}scyw/index_2.{ext}"
    script = f'<script>createPageHTML(3, 0, "index", "{ext}");</script>'
    assert _next_from_pager_script(script, f"{base}scyw/") == f"{base}scyw/index_1.{ext}"


def test_a_list_page_that_names_no_extension_is_html():
    from crawler.extract.listing import _next_from_pager_script
    from crawler.extract.urls import page_url

    base = "http://www.chengdupeace.gov.cn/"
    assert page_url(f"{base}scyw/", 1) == f"{base}scyw/index_1.html"  # nothing says otherwise
    assert _next_from_pager_script("createPageHTML(3, 1)", f"{base}scyw/") == f"{base}scyw/index_2.html"
