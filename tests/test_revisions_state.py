"""The content hash, the state pipeline's decisions, and the state store's schema 3 (first channel,
last_checked, content hash version): unit tests, one migration end to end, and the fleet's store."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from typing import Any

import pytest

from crawler.accounting import HTTP_ERROR, UNCHANGED, DropRecord
from crawler.items import CONTENT_FIELDS, CONTENT_HASH_VERSION, STATUS_DELETED, ArticleItem
from crawler.pipelines.state import StatePipeline
from crawler.state import ArticleState
from crawler.state.sqlite import SCHEMA_VERSION, SqliteStateStore
from tests import consumer
from tests.fixture_server import FixtureSite
from tests.utils.crawl import run_crawl

SITE = "www.sichuanpeace.gov.cn"


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def article(**changes: object) -> ArticleItem:
    item = ArticleItem(id="2868001", url="https://www.sichuanpeace.gov.cn/szdt/20240110/2868001.html", site=SITE,
                       channel="szdt", channel_name="市州动态", fetched_at="2026-12-01T00:00:00Z",
                       title="标题", published_at="2024-01-10T09:05:33+08:00", source="广元日报", editor="赵丽",
                       byline="(记者 张三)", body="正文。\n(记者 张三)",
                       images=[{"url": "https://x/a.jpg", "caption": "图"}],
                       attachments=[{"url": "https://x/a.pdf", "name": "附件"}])
    for name, value in changes.items():
        setattr(item, name, value)
    item.content_sha256 = item.fingerprint()
    return item


CHANGED = {"title": "标题二", "body": "正文二。", "published_at": "2024-01-10T10:05:33+08:00", "source": "四川法治报",
           "editor": "钱多", "byline": "(记者 李四)", "images": [{"url": "https://x/b.jpg", "caption": "图"}],
           "attachments": [{"url": "https://x/a.pdf", "name": "附件二"}]}


@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_the_content_hash_covers_each_content_field(field):
    assert set(CHANGED) == set(CONTENT_FIELDS)
    assert article(**{field: CHANGED[field]}).content_sha256 != article().content_sha256


def test_the_content_hash_ignores_what_the_crawl_adds():
    same = article(fetched_at="2026-12-02T00:00:00Z", warc={"file": "w", "record_id": "r", "offset": 1},
                   encoding={"declared": "gbk", "used": "gbk"}, channel_name="其他",
                   images=[{"url": "https://x/a.jpg", "caption": "图", "warc": {"file": "w", "offset": 9}}])
    assert same.content_sha256 == article().content_sha256
    assert article(images=[{"url": "https://x/a.jpg", "caption": "另一图"}]).content_sha256 != article().content_sha256
    # The same files from another scheme or host (https, a mirror): the same content.
    moved = article(images=[{"url": "http://127.0.0.1:8000/a.jpg", "caption": "图"}],
                    attachments=[{"url": "http://y/a.pdf", "name": "附件"}])
    assert moved.content_sha256 == article().content_sha256


def test_the_content_hash_of_1_2_was_title_and_body():
    item = article()
    assert item.fingerprint(1) == hashlib.sha256("标题\n正文。\n(记者 张三)".encode()).hexdigest()


@pytest.fixture
def store(tmp_path):
    opened = SqliteStateStore(tmp_path / "state.sqlite3")
    yield opened
    opened.close()


def known_row(item: ArticleItem, **changes: Any) -> ArticleState:
    row = ArticleState(site=item.site, id=item.id, url=item.url, published_at=item.published_at,
                       first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-01T00:00:00Z",
                       content_sha256=item.content_sha256, revision=3, channel="fzxc", channel_name="法治宣传",
                       last_checked="2026-01-01T00:00:00Z", content_hash_version=CONTENT_HASH_VERSION)
    return replace(row, **changes)


def promote(store: SqliteStateStore, row: ArticleState) -> None:
    store.stage("run", 1, row)
    store.promote("run", 1, 1)


def test_decisions_keep_first_seen_and_first_channel(store):
    pipeline = StatePipeline(store, Stats())  # type: ignore[arg-type]  # a fake: inc_value only
    promote(store, known_row(article()))
    edited = pipeline.process_item(article(source="四川法治报", channel=None, channel_name=None))
    assert (edited.status, edited.revision, edited.first_seen) == ("modified", 4, "2026-01-01T00:00:00Z")
    assert (edited.channel, edited.channel_name) == ("fzxc", "法治宣传")
    row = edited.state_row
    assert row is not None and row.channel == "fzxc" and row.last_checked == edited.fetched_at
    with pytest.raises(DropRecord) as unchanged:
        pipeline.process_item(article())
    assert unchanged.value.bucket == UNCHANGED


def test_deleted_once_then_restored(store):
    pipeline = StatePipeline(store, Stats())  # type: ignore[arg-type]  # a fake: inc_value only
    with pytest.raises(DropRecord) as unknown:
        pipeline.process_item(ArticleItem.deleted(article().url, "2868001", SITE, "szdt"))
    assert unknown.value.bucket == HTTP_ERROR
    promote(store, known_row(article()))
    gone = pipeline.process_item(ArticleItem.deleted(article().url, "2868001", SITE, None))
    assert (gone.status, gone.revision, gone.first_seen, gone.channel) == (
        STATUS_DELETED, 3, "2026-01-01T00:00:00Z", "fzxc")
    row = gone.state_row
    assert row is not None and row.deleted == 1 and row.published_at == article().published_at
    promote(store, row)
    with pytest.raises(DropRecord) as still:
        pipeline.process_item(ArticleItem.deleted(article().url, "2868001", SITE, None))
    assert still.value.bucket == UNCHANGED  # still gone: no second record, no failure
    back = pipeline.process_item(article())
    assert (back.status, back.revision, back.first_seen) == ("restored", 4, "2026-01-01T00:00:00Z")


def test_a_hash_of_the_old_definition_is_compared_as_such_once(store):
    pipeline = StatePipeline(store, Stats())  # type: ignore[arg-type]  # a fake: inc_value only
    item = article()
    promote(store, known_row(item, content_sha256=item.fingerprint(1), content_hash_version=1))
    again = article(source="四川法治报")  # the old hash never covered the source
    with pytest.raises(DropRecord):
        pipeline.process_item(again)  # same title and body: unchanged, not a flood of modified
    row = again.state_row
    assert row is not None and row.content_hash_version == CONTENT_HASH_VERSION
    promote(store, row)
    with pytest.raises(DropRecord):
        pipeline.process_item(article(source="四川法治报"))
    assert pipeline.process_item(article(source="广元日报")).status == "modified"  # now the source counts


V2_ARTICLES = ("CREATE TABLE articles (site TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, published_at TEXT, "
               "first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, content_sha256 TEXT, revision INTEGER NOT NULL, "
               "etag TEXT, last_modified TEXT, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (site, id))")


def test_a_schema_2_store_is_migrated_in_place(tmp_path):
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(f"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); {V2_ARTICLES};"
                         "INSERT INTO meta VALUES ('schema_version', '2'), ('last_seq', '7');"
                         "INSERT INTO articles VALUES ('s', '1', 'u', '2020-01-01T00:00:00+08:00', 'f', 'l', 'h', 2,"
                         " NULL, NULL, 0);")
    for readonly in (True, False):  # a read-only copy is read the same way
        store = SqliteStateStore(path, readonly=readonly)
        row = store.get("s", "1")
        assert row is not None
        assert (row.revision, row.channel, row.last_checked, row.content_hash_version) == (2, None, None, 1)
        assert [r.id for r in store.recheck_oldest("s", "2026-01-01", 5)] == ["1"]
        assert store.last_seq == 7
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_recheck_oldest_orders_by_last_checked_and_skips_the_window(store):
    base = known_row(article())
    for article_id, published, checked in [("1", "2020", "2026-03"), ("2", "2021", None), ("3", "2022", "2026-01"),
                                           ("4", "2026-11-30", None)]:
        promote(store, replace(base, id=article_id, published_at=published, last_checked=checked))
    assert [r.id for r in store.recheck_oldest(SITE, "2026-11-24", 10)] == ["2", "3", "1"]
    assert [r.id for r in store.recheck_oldest(SITE, "2026-11-24", 2)] == ["2", "3"]
    store.touch_checked(SITE, "2", "2026-12-01")
    assert [r.id for r in store.recheck_oldest(SITE, "2026-11-24", 10)] == ["3", "1", "2"]


def test_an_old_store_brings_no_flood_of_modified_records(tmp_path):
    """A state written by the crawler before 1.3 (schema 2, hashes of title and body) under a new
    crawler: a recheck of every unchanged article emits nothing, and the hashes are stored anew."""
    with FixtureSite() as site:
        first = run_crawl(site.base_url, tmp_path)
        assert first.returncode == 0, first.log[-2000:]
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            for record in first.records:
                old = hashlib.sha256(f"{record['title']}\n{record['body']}".encode()).hexdigest()
                db.execute("UPDATE articles SET content_sha256=? WHERE id=?", (old, record["id"]))
            for index in ("articles_last_checked", "articles_recheck_order"):  # on columns of schema 3
                db.execute(f"DROP INDEX {index}")
            for column in ("channel", "channel_name", "last_checked", "content_hash_version"):
                db.execute(f"ALTER TABLE articles DROP COLUMN {column}")
                db.execute(f"ALTER TABLE staged DROP COLUMN {column}")
            db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
        again = run_crawl(site.base_url, tmp_path, "-a", "recheck=all")
    assert again.returncode == 0, again.log[-2000:]
    assert consumer.records(tmp_path, consumer.final(tmp_path)["run_id"]) == []
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert {row[0] for row in db.execute("SELECT content_hash_version FROM articles WHERE deleted=0")} == {2}


def test_the_fleet_store_orders_rechecks_the_same_way(tmp_path, redis_url):
    from crawler.state.redis_store import RedisStateStore

    store = RedisStateStore(redis_url, tmp_path)
    base = known_row(article())
    for article_id, published, checked in [("1", "2020", "2026-03"), ("2", "2021", None), ("3", "2022", "2026-01"),
                                           ("4", "2026-11-30", None)]:
        store.stage("run", 1, replace(base, id=article_id, published_at=published, last_checked=checked,
                                      deleted=int(article_id == "3")))
    store.promote("run", 1, 1)
    assert [r.id for r in store.recheck_oldest(SITE, "2026-11-24", 10)] == ["2", "3", "1"]
    store.touch_checked(SITE, "2", "2026-12-01")
    assert [r.id for r in store.recheck_oldest(SITE, "2026-11-24", 10)] == ["3", "1", "2"]
    # deleted ones too: rechecks ask for them; asked per batch (a list page's ids)
    assert store.known_ids(SITE, ["1", "2", "3", "4", "5"]) == {"1", "2", "3", "4"}
    first = store.get(SITE, "1")
    assert first is not None and first.channel == "fzxc"
    # A row written before schema 3 (no such fields) still reads.
    store.redis.hset(store._articles(SITE), "5", f'{{"site": "{SITE}", "id": "5", "url": "u", "published_at": null, '
                     '"first_seen": "f", "last_seen": "l", "content_sha256": null, "revision": 1}')
    old = store.get(SITE, "5")
    assert old is not None and old.content_hash_version == 1
    store.close()


@pytest.mark.parametrize("value, ok", [("0", True), ("250", True), ("-1", False), ("many", False)])
def test_recheck_budget_is_checked(value, ok):
    from crawler.run.settings_check import RULES

    assert (RULES["RECHECK_BUDGET"](value) is None) is ok
