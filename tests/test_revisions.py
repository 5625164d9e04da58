"""Revisions, deletions and returns, and the budgeted recheck of old articles, end to end: the real
``scrapy crawl`` against the fixture site, which changes pages between runs; records read as a
consumer reads them (tests/consumer.py)."""

from __future__ import annotations

import math
import sqlite3

import pytest

from tests import consumer
from tests.fixture_cases import load_cases
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl

EDITED = "/szdt/20240110/2868001.html"
LEGACY = "/system/20170712/000467890.html"  # linked from /fzxc/ only; its URL names no channel
HTML = {"Content-Type": "text/html; charset=utf-8"}

# One edit per content field, made one after another to the same article (a byline edit changes the
# body too: the byline is the body's last line).
FIELD_EDITS: list[tuple[str, str, str, str]] = [
    # (field, old text in the page, new text, the field's new value must contain)
    ("title", "<h1 class=\"title\">广元：", "<h1 class=\"title\">广元市：", "广元市："),
    ("body", "1.2万余名", "1.3万余名", "1.3万余名"),
    ("published_at", "2024-01-10 09:05:33", "2024-01-10 10:15:33", "2024-01-10T10:15:33"),
    ("source", "来源:广元日报", "来源:四川法治报", "四川法治报"),
    ("editor", "编辑:赵丽", "编辑:钱多", "钱多"),
    ("byline", "(记者 张三)", "(记者 张三 李四)", "李四"),
    ("images", "<p style=\"text-indent:2em\">　　下一步",
     "<p style=\"text-align:center\"><img src=\"/sccaw/u_yhscwj/202401/151712456n7y.jpg\"></p>\n"
     "<p style=\"text-indent:2em\">　　下一步", "151712456n7y.jpg"),
    ("attachments", "<p style=\"text-indent:2em\">　　下一步",
     "<p><a href=\"/sccaw/u_yhscwj/202401/fangan.pdf\">实施方案</a></p>\n<p style=\"text-indent:2em\">　　下一步",
     "fangan.pdf"),
]


def article_paths(site: FixtureSite) -> list[str]:
    return sorted(p for p in site.request_counts() if p.count("/") == 3 and p.endswith(".html"))


def last_run(out) -> list[dict]:
    return consumer.records(out, consumer.final(out)["run_id"])


def summary(records: list[dict]) -> list[tuple[str, str, int]]:
    return sorted((r["id"], r["status"], r["revision"]) for r in records)


def edit(site: FixtureSite, path: str, old: str, new: str, encoding: str = "utf-8") -> None:
    page = site.resources[path]
    body = page.body.decode(encoding)
    assert old in body, old
    site.put(path, Resource(page.status, page.headers, body.replace(old, new, 1).encode(encoding)))


@pytest.fixture
def crawled(tmp_path):
    with FixtureSite() as site:
        result = run_crawl(site.base_url, tmp_path)
        assert result.returncode == 0, result.log[-2000:]
        assert {r["status"] for r in result.records} == {"new"}
        yield site, tmp_path


def test_an_edit_of_each_content_field_is_one_modified_record(crawled):
    site, out = crawled
    first = next(r for r in consumer.records(out) if r["id"] == "2868001")
    for revision, (field, old, new, shown) in enumerate(FIELD_EDITS, start=2):
        edit(site, EDITED, old, new)
        result = run_crawl(site.base_url, out, "-a", "recheck=all", "-a", "channels=szdt")
        assert result.returncode == 0, result.log[-2000:]
        records = last_run(out)
        assert summary(records) == [("2868001", "modified", revision)], field
        value = records[0][field]
        assert shown in (value if isinstance(value, str) else repr(value)), (field, value)
        assert records[0]["first_seen"] == first["first_seen"]
        assert records[0]["schema_version"] == "1.4"
    # Nothing changed since: the next recheck emits nothing.
    result = run_crawl(site.base_url, out, "-a", "recheck=all", "-a", "channels=szdt")
    assert result.returncode == 0 and last_run(out) == []


def test_removals_are_one_deleted_record_and_a_return_is_restored(crawled):
    site, out = crawled
    cases = {c.meta["path"]: c for c in load_cases()}
    gone_404, soft, to_home, to_list = ("/scyw/20250829/2992286.html", "/szdt/20240110/2868001.html",
                                        "/azsf/20220418/2620987.html", LEGACY)
    before = {r["id"]: r for r in consumer.records(out)}
    originals = {path: site.resources[path] for path in (gone_404, soft, to_home, to_list)}
    site.put(gone_404, None)
    site.put(soft, Resource(200, HTML, cases["/gcsy/20200101/2000001.html"].body))  # a 页面不存在 page
    site.put(to_home, Resource(302, {**HTML, "Location": "/"}, b""))
    site.put(to_list, Resource(301, {**HTML, "Location": site.base_url + "fzxc/index.html"}, b""))

    removed = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert removed.returncode == 0, removed.log[-2000:]
    records = last_run(out)
    ids = {"2992286", "2868001", "2620987", "000467890"}
    assert summary(records) == sorted((i, "deleted", 1) for i in ids)
    for record in records:
        assert record["first_seen"] == before[record["id"]]["first_seen"]
        assert record["channel"] == before[record["id"]]["channel"]  # the legacy one's too
        assert record["warc"] is not None
    counts = consumer.final(out)["counts"]
    assert counts["deleted"] == 4 and counts["failed"] == 0

    # Still gone: no second deleted record, and no failure.
    again = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert again.returncode == 0, again.log[-2000:]
    assert last_run(out) == [] and consumer.final(out)["counts"]["failed"] == 0

    # Two come back: restored, revision + 1, their original first_seen.
    site.put(gone_404, originals[gone_404])
    site.put(to_home, originals[to_home])
    back = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert back.returncode == 0, back.log[-2000:]
    records = last_run(out)
    assert summary(records) == [("2620987", "restored", 2), ("2992286", "restored", 2)]
    for record in records:
        assert record["first_seen"] == before[record["id"]]["first_seen"]
        assert record["body"] == before[record["id"]]["body"]
    assert consumer.final(out)["counts"]["restored"] == 2
    # Each article, through the consumer's eyes: new, deleted, restored; no revision twice.
    history = [(r["status"], r["revision"]) for r in consumer.records(out) if r["id"] == "2992286"]
    assert history == [("new", 1), ("deleted", 1), ("restored", 2)]


def test_old_articles_are_rechecked_within_the_budget_least_recently_checked_first(crawled):
    site, out = crawled
    known = {r["url"].split(site.base_url.rstrip("/"))[1] for r in consumer.records(out)}
    budget = 8
    runs = math.ceil(len(known) / budget)
    # Edited after the first run, and older than the recheck window (7 days): only the budget finds it.
    edit(site, EDITED, "来源:广元日报", "来源:四川法治报")
    asked: set[str] = set()
    found: list[dict] = []
    for _ in range(runs):
        site.requests.clear()
        result = run_crawl(site.base_url, out, "-s", f"RECHECK_BUDGET={budget}")
        assert result.returncode == 0, result.log[-2000:]
        this_run = {p for p in article_paths(site) if p in known}
        assert len(this_run) == budget
        # Least recently checked first: those not looked at since the first run come before any other.
        remaining = known - asked
        assert this_run <= remaining if len(remaining) >= budget else remaining <= this_run
        asked |= this_run
        found += last_run(out)
        assert consumer.final(out)["counts"]["rechecked"] == {"recent": 0, "older": budget}
    # Every known article was looked at again within ceil(articles / budget) runs.
    assert asked == known
    assert summary(found) == [("2868001", "modified", 2)]
    assert found[0]["source"] == "四川法治报"
    # The state keeps when each was checked; the next run takes the least recently checked.
    with sqlite3.connect(out / "state.sqlite3") as db:
        oldest = [url for url, when in db.execute(
            "SELECT url, last_checked FROM articles ORDER BY last_checked, published_at, id")][:budget]
    site.requests.clear()
    run_crawl(site.base_url, out, "-s", f"RECHECK_BUDGET={budget}")
    assert {p for p in article_paths(site) if p in known} == {u.split(site.base_url.rstrip("/"))[1] for u in oldest}


def test_recheck_zero_rechecks_nothing(crawled):
    site, out = crawled
    site.requests.clear()
    result = run_crawl(site.base_url, out, "-a", "recheck=0", "-s", "RECHECK_BUDGET=50")
    assert result.returncode == 0
    assert article_paths(site) == ["/gcsy/20200101/2000001.html"]  # the soft 404, never known


def test_a_legacy_article_keeps_its_channel_when_modified(crawled):
    site, out = crawled
    first = next(r for r in consumer.records(out) if r["id"] == "000467890")
    assert first["channel"] == "fzxc"
    page = site.resources[LEGACY].body.decode("gb18030")
    sentence = next(s for s in first["body"].split("\n") if len(s) > 12)[:12]
    assert sentence in page
    edit(site, LEGACY, sentence, sentence + "（更正）", encoding="gb18030")
    result = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert result.returncode == 0, result.log[-2000:]
    records = last_run(out)
    assert summary(records) == [("000467890", "modified", 2)]
    assert (records[0]["channel"], records[0]["channel_name"]) == (first["channel"], first["channel_name"])
    assert "（更正）" in records[0]["body"]


def test_rebuilt_state_keeps_first_channel_and_last_checked(crawled):
    site, out = crawled
    edit(site, LEGACY, "</html>", "</html>\n", encoding="gb18030")  # same content, other bytes
    site.put("/scyw/20250829/2992286.html", None)
    assert run_crawl(site.base_url, out, "-a", "recheck=all").returncode == 0
    with sqlite3.connect(out / "state.sqlite3") as db:
        kept = {row[0]: row[1:] for row in db.execute(
            "SELECT id, channel, channel_name, first_seen, revision, deleted, content_sha256, "
            "content_hash_version FROM articles")}
    for suffix in ("", "-wal", "-shm"):
        (out / f"state.sqlite3{suffix}").unlink(missing_ok=True)
    # Rebuilt from the manifests: nothing is emitted again, nothing is doubled.
    result = run_crawl(site.base_url, out, "-a", "recheck=all")
    assert result.returncode == 0, result.log[-2000:]
    assert last_run(out) == []
    with sqlite3.connect(out / "state.sqlite3") as db:
        rebuilt = {row[0]: row[1:] for row in db.execute(
            "SELECT id, channel, channel_name, first_seen, revision, deleted, content_sha256, "
            "content_hash_version FROM articles")}
        assert all(row[0] for row in db.execute("SELECT last_checked FROM articles"))
    assert rebuilt == kept
    assert kept["000467890"][0] == "fzxc" and kept["2992286"][4] == 1


def test_a_recheck_redirected_elsewhere_is_followed_not_deleted(crawled):
    site, out = crawled
    moved = "/szdt/20240110/2868001.shtml"  # the same article at another URL of the host
    page = site.resources[EDITED]
    site.put(moved, Resource(200, page.headers,
                             page.body.replace("来源:广元日报".encode(), "来源:四川法治报".encode())))
    site.put(EDITED, Resource(302, {**HTML, "Location": moved}, b""))
    result = run_crawl(site.base_url, out, "-a", "recheck=all", "-a", "channels=szdt")
    assert result.returncode == 0, result.log[-2000:]
    records = last_run(out)
    assert summary(records) == [("2868001", "modified", 2)] and records[0]["source"] == "四川法治报"
    accounting = consumer.final(out)["accounting"]
    assert accounting["balanced"], accounting
