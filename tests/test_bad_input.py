"""The whole bad-input site in one real crawl: nothing lost, nothing corrupt, every drop counted."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from jsonschema import Draft202012Validator

from crawler.extract.encoding import looks_like_mojibake
from crawler.pipelines.validate import load_schema
from tests.bad_site import SUBDOMAIN_OF_ADDRESS_PARSES, build_bad_site
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

OVERSIZE_LIMIT = 200_000
ARTICLE_IDS = {case.expected["id"] for case in load_cases("article")}
SETTINGS = ("-s", f"DOWNLOAD_MAXSIZE={OVERSIZE_LIMIT}", "-s", "DOWNLOAD_WARNSIZE=0", "-s", "DOWNLOAD_TIMEOUT=2",
            "-s", "RETRY_TIMES=2", "-s", "RETRY_BACKOFF_MAX=2")


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory):
    site, cases = build_bad_site(OVERSIZE_LIMIT)
    with site:
        result = run_crawl(site.base_url, tmp_path_factory.mktemp("bad"), *SETTINGS)
        requests = site.request_counts()
    manifest = json.loads(next((result.output_dir / "runs").glob("*.json")).read_text("utf-8"))
    return result, cases, requests, manifest, site.base_url


def test_run_completes(bad_crawl):
    result, *_ = bad_crawl
    assert result.returncode == 0, result.log[-3000:]


def test_no_record_lost(bad_crawl):
    result, cases, *_ = bad_crawl
    titles = {r["title"] for r in result.records}
    assert {r["id"] for r in result.records} >= ARTICLE_IDS
    for case in cases:
        if case.expect_title:
            assert case.expect_title in titles, case.name
    assert {"空白链接的文章", "基准链接的文章"} <= titles


def test_no_corrupt_record(bad_crawl):
    result, *_ = bad_crawl
    validator = Draft202012Validator(load_schema())
    for record in result.records:
        assert not list(validator.iter_errors(record)), record["url"]
        for field in ("title", "body", "source", "editor"):
            text = record[field] or ""
            assert "\ufffd" not in text and not looks_like_mojibake(text), (record["url"], field)
        assert "政法队伍教育整顿" in record["body"] or record["id"] in ARTICLE_IDS


def test_encodings_reported(bad_crawl):
    result, *_ = bad_crawl
    by_title = {r["title"]: r for r in result.records}
    assert by_title["编码标错的文章"]["encoding"] == {"declared": "utf-8", "used": "gb18030"}
    assert by_title["拉丁标签的文章"]["encoding"]["used"] == "utf-8"
    assert "朱镕基、王喆、李堃" in by_title["镕喆堃"]["body"]


def test_failures_land_in_their_bucket(bad_crawl):
    result, cases, _, manifest, base = bad_crawl
    accounting = manifest["accounting"]
    assert accounting["balanced"], accounting
    expected: dict[str, int] = {}
    for case in cases:
        if case.expect_bucket:
            expected[case.expect_bucket] = expected.get(case.expect_bucket, 0) + 1
    expected["soft_404"] += 1  # the fixture site's own soft 404
    for bucket, count in expected.items():
        assert accounting["buckets"].get(bucket, 0) == count, (bucket, accounting["buckets"])
    for case in cases:
        if case.expect_bucket in ("http_error", "retries_exhausted", "truncated", "oversize", "offsite",
                                  "redirect_dropped", "redirect_refused"):
            assert f"({case.expect_bucket}): {base.rstrip('/')}{case.path}" in result.log, case.name


def test_waf_and_rate_limits_reported(bad_crawl):
    *_, manifest, _ = bad_crawl
    waf = manifest["counts"]["waf_challenges"]
    assert waf["412"] == 1 and waf["429"] == 1 and waf["521"] == 2


def test_bad_hrefs_never_requested(bad_crawl):
    _, _, requests, *_ = bad_crawl
    assert requests["/bad/index.html"] == 1  # ?page= noise is the same list page
    assert not [p for p in requests if "chinapeace" in p or p.startswith("/x/") or "broken" in p]
    assert requests["/bad/20261120/3200060.html"] == 1 and requests["/bad/20261120/3200061.html"] == 1


def test_redirects_off_the_crawl_host_never_followed(bad_crawl):
    result, _, requests, manifest, base = bad_crawl
    # The server would have answered as localhost: the page behind the redirect was never asked for.
    assert requests["/bad/20261120/3200055.html"] == 0
    assert "不该抓取的文章" not in {r["title"] for r in result.records}
    # Failures (an article not fetched), each kept pending: the next run asks for it again.
    assert manifest["accounting"]["buckets"]["redirect_refused"] == 3 + SUBDOMAIN_OF_ADDRESS_PARSES
    with sqlite3.connect(result.output_dir / "state.sqlite3") as db:
        pending = {url.split("/", 3)[3] for (url,) in db.execute("SELECT url FROM pending")}
    assert {"bad/20261120/3200050.html", "bad/20261120/3200054.html"} <= pending
    assert (f"Refused redirect (other_host): {base}bad/20261120/3200054.html redirected to http://localhost:"
            in result.log)


def test_truncated_body_is_never_a_record(bad_crawl):
    result, *_ = bad_crawl
    assert "连接中断的文章" not in {r["title"] for r in result.records}


def test_pager_trap_is_bounded(tmp_path):
    site = FixtureSite(cases=[])

    def endless(handler, hits):
        numbered = re.search(r"index_(\d+)", handler.path)
        page = int(numbered.group(1)) if numbered else 0
        calendar = "".join(f'<a href="/trap/index.html?page={n}">{n}</a>' for n in range(1, 200))
        body = f'<html><body>{calendar}<a href="/trap/index_{page + 1}.html">下一页</a></body></html>'.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    site.put("/", Resource(200, {"Content-Type": "text/html"}, b'<a href="/trap/">trap</a>'))
    for n in range(40):
        site.behaviours["/trap/" if n == 0 else f"/trap/index_{n}.html"] = endless
    with site:
        # The empty-pager stop (tests/test_traps.py) would end this list first: set out of the way.
        result = run_crawl(site.base_url, tmp_path, "-s", "LIST_PAGES_MAX=15", "-s", "LIST_EMPTY_PAGES_MAX=1000")
        requests = site.request_counts()
    assert sum(n for p, n in requests.items() if p.startswith("/trap/")) == 16
    assert "'discovery/pager_bound': 1" in result.log


def test_template_drift_exits_with_its_own_code(tmp_path):
    with FixtureSite() as site:
        baseline = run_crawl(site.base_url, tmp_path)
        assert baseline.returncode == 0
        # The site changes its template: no known class or id left, and the body in <section>s.
        for case in load_cases("article"):
            old = site.resources[case.meta["path"]]
            changed = re.sub(rb'\s(?:class|id)="[^"]*"', b"", old.body)
            site.put(case.meta["path"], Resource(old.status, old.headers, changed))
        drifted = run_crawl(site.base_url, tmp_path, "-a", "recheck=all")
    assert drifted.returncode == 9, drifted.log[-2000:]
    manifest = max((json.loads(p.read_text("utf-8")) for p in (tmp_path / "runs").glob("*.json")),
                   key=lambda m: m["start"] + m["run_id"])
    assert manifest["complete"] and manifest["exit_code"] == 9
    assert any("fallback share" in finding for finding in manifest["drift"])
    assert "Template drift" in drifted.log
