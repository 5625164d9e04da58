"""Replay, proven in a real browser (issue 21): a run's WACZ, made by the real ``scrapy export
--format wacz``, opened in ReplayWeb.page (its own files, the npm package pinned in
tests/replay_browser.py) in headless Chromium, with the fixture site stopped: the article's title,
its first paragraph and its picture render from the archive alone.

Skipped only when Chromium is missing (``apt-get install chromium``; .ci/run installs it)."""

from __future__ import annotations

import json
import os

import pytest

from tests import consumer
from tests.fixture_server import FixtureSite
from tests.replay_browser import Chromium, ReplayServer, chromium_path, replaywebpage, wait_for
from tests.test_wacz_export import scrapy_export
from tests.utils.crawl import run_crawl

ARTICLE = "2962417"  # tests/fixtures/article_2962417_current_a_nocaption: a title, paragraphs, one picture
# How long the page may take to replay (starting Chromium, registering the service worker, loading
# the WACZ) before the test looks a last time and reports what it sees: a cap, not a measurement.
REPLAY_WAIT = 180

# What the replayed page shows, read in its own frame: the heading, the paragraphs and the pictures
# as laid out (a box of some size), each picture with its size once decoded (0: not loaded).
RENDERED = """JSON.stringify({
  title: document.title,
  readyState: document.readyState,
  shown: [...document.querySelectorAll("h1, h2, h3, p")]
    .filter(e => e.getBoundingClientRect().height > 0).map(e => e.innerText.trim()),
  pictures: [...document.images].map(i => ({src: i.currentSrc, complete: i.complete, width: i.naturalWidth,
                                            height: i.naturalHeight, box: i.getBoundingClientRect().width}))
})"""


def replayed(browser: Chromium, session: str, url: str) -> dict:
    """What the frame replaying ``url`` renders (``{}`` while there is no such frame; the browser's
    answer when the frame went away while asked)."""
    try:
        frame = next((f for f in browser.frames(session) if f["url"].endswith("mp_/" + url)), None)
        if frame is None:
            return {}
        rendered = browser.evaluate_in(session, frame["id"], RENDERED)
        assert isinstance(rendered, str)
        return {"frame": frame["url"], **json.loads(rendered)}
    except RuntimeError as error:  # e.g. the frame navigated between the two questions
        return {"error": str(error)}


def renders(state: dict, record: dict) -> dict:
    """Which of the record's title, first paragraph and pictures the replayed page shows."""
    first_paragraph = record["body"].split("\n")[0]
    pictures = {p["src"].rsplit("_/", 1)[-1]: p for p in state.get("pictures", []) if "_/" in p["src"]}
    return {
        "title": record["title"] in state.get("title", "") and record["title"] in state.get("shown", []),
        "first paragraph": first_paragraph in state.get("shown", []),
        **{f"picture {i['url']}": bool((p := pictures.get(i["url"])) and p["complete"] and p["width"] > 0
                                       and p["box"] > 0) for i in record["images"]},
    }


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """One crawl of the fixture site, then the site stopped, and the run's WACZ made by the real
    ``scrapy export --format wacz --runs RUN_ID``: the WACZ and the article's record."""
    out = tmp_path_factory.mktemp("replay") / "out"
    with FixtureSite() as site:
        crawl = run_crawl(site.base_url, out)
    assert crawl.returncode == 0, crawl.log[-3000:]
    record = next(r for r in crawl.records if r["id"] == ARTICLE)
    assert record["images"] and record["body"]
    export = out.parent / "export"
    done = scrapy_export(out, "--format", "wacz", "--runs", consumer.final(out)["run_id"], "--out", str(export))
    assert done.returncode == 0, done.stdout + done.stderr
    [wacz] = export.glob("*.wacz")
    return wacz, record


@pytest.fixture(scope="module")
def chromium() -> str:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI"):
            raise RuntimeError("chromium is not installed: .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


# ranges: as a web host serves the WACZ (ReplayWeb.page reads its index, then the ranges it needs);
# whole-file: as `python3 -m http.server` does (README's local way; ReplayWeb.page loads it all).
@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "whole-file"])
def test_an_archived_article_replays_in_replaywebpage_in_headless_chromium(chromium, archived, tmp_path, ranges):
    wacz, record = archived
    with ReplayServer(tmp_path / "www", replaywebpage(), wacz, record["url"], ranges=ranges) as server, \
            Chromium(chromium, tmp_path / "profile") as browser:
        session = browser.open(server.url)
        wait_for(lambda: all(renders(replayed(browser, session, record["url"]), record).values()), REPLAY_WAIT)
        state = replayed(browser, session, record["url"])
        screenshot = browser.screenshot(session, tmp_path / "replay.png")
    seen = renders(state, record)
    assert all(seen.values()), (f"ReplayWeb.page at {server.url} does not render {record['url']} as archived: "
                                f"{seen}\nwhat the page shows: {json.dumps(state, ensure_ascii=False)[:3000]}\n"
                                f"screenshot: {screenshot}")
    print(f"replayed {record['url']} from {wacz.name}; screenshot: {screenshot}")
