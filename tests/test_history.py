"""``scrapy runs`` (the archive's history) and ``scrapy describe``: the real commands in a subprocess,
on the output of real crawls of the fixture site (one shared crawl history for the read-only tests):
run 1 finds every article; before run 2 one article is edited (title and body) and one removed."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from crawler import exitcodes
from crawler import settings as project_settings
from crawler.history import paragraph_diff, word_diff
from crawler.rules.sites import registry
from crawler.spiders.arguments import KNOWN_ARGUMENTS
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.utils.cmdline import scrapy, scrapy_runs
from tests.utils.crawl import run_crawl

EDITED, EDITED_ID = "/szdt/20240110/2868001.html", "2868001"
REMOVED, REMOVED_ID = "/scyw/20250829/2992286.html", "2992286"
# The edits before run 2: (old text in the page, new text).
EDITS = [('<h1 class="title">广元：', '<h1 class="title">广元市：'), ("1.2万余名", "1.3万余名")]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """OUTPUT_DIR after two runs: run 1 (all new), run 2 (one article edited, one removed)."""
    out = tmp_path_factory.mktemp("history")
    with FixtureSite() as site:
        first = run_crawl(site.base_url, out, "-s", "CHECKPOINT_RECORDS=8")  # several slices: a seq range
        assert first.returncode == exitcodes.COMPLETE, first.log[-3000:]
        page = site.resources[EDITED]
        body = page.body.decode("utf-8")
        for old, new in EDITS:
            assert old in body, old
            body = body.replace(old, new, 1)
        site.put(EDITED, Resource(page.status, page.headers, body.encode("utf-8")))
        site.put(REMOVED, None)
        second = run_crawl(site.base_url, out, "-a", "recheck=all")
        assert second.returncode == exitcodes.COMPLETE, second.log[-3000:]
    return out


def runs(out, *args: str):
    return scrapy_runs(out, *args)


def test_runs_prints_one_line_per_run(history):
    done = runs(history)
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:4] == ["SEQ", "RUN", "ID", "START"] and "BROKEN LINKS" in header
    finals = [m for m in consumer.manifests(history) if m.get("final")]
    assert len(lines) == len(finals) == 2
    first_seqs = [m["seq"] for m in consumer.manifests(history) if m["run_id"] == finals[0]["run_id"]]
    assert len(first_seqs) > 1
    # seq range, run id, start (date and time), duration, exit code, new modified deleted restored failed broken
    pattern = re.compile(r"(\S+)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\d+:\d\d:\d\d)\s+(\d+)"
                         r"\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$")
    parsed = [match for match in (pattern.fullmatch(line) for line in lines) if match is not None]
    assert len(parsed) == len(lines), lines
    assert parsed[0].group(1) == f"{first_seqs[0]}-{first_seqs[-1]}"
    for match, final in zip(parsed, finals, strict=True):
        counts = final["counts"]
        assert match.group(2) == final["run_id"]
        assert match.group(3) == final["run_start"][:19].replace("T", " ")
        assert [int(match.group(n)) for n in range(5, 12)] == [
            final["exit_code"], counts["new"], counts["modified"], counts["deleted"], counts["restored"],
            counts["failed"], counts["broken_links"]]
    assert [int(parsed[1].group(n)) for n in (7, 8)] == [1, 1]  # run 2: one modified, one deleted


def test_runs_json(history):
    done = runs(history, "--json")
    assert done.returncode == 0, done.stderr
    found = [json.loads(line) for line in done.stdout.splitlines()]
    finals = [m for m in consumer.manifests(history) if m.get("final")]
    assert [r["run_id"] for r in found] == [m["run_id"] for m in finals]
    assert [r["records"] for r in found] == [len(consumer.records(history, m["run_id"])) for m in finals]
    assert found[1]["modified"] == 1 and found[1]["deleted"] == 1 and found[1]["exit_code"] == 0
    assert found[1]["seq"] == [finals[1]["seq"], finals[1]["seq"]]
    assert all(isinstance(r["duration_seconds"], int) for r in found)


def test_runs_article_shows_each_revision_with_a_word_diff(history):
    done = runs(history, "--article", EDITED_ID)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert re.search(r"^revision 1 new ", text, re.M) and re.search(r"^revision 2 modified ", text, re.M)
    assert "  title: 广元{+市+}：" in text  # one character added, in a title of Chinese
    # the body's changed paragraph only
    assert re.search(r"^    ¶\d+: .*" + re.escape("[-1.2-]{+1.3+}万余名"), text, re.M), text
    assert text.count("¶") == 1


def test_runs_article_json(history):
    done = runs(history, "--article", EDITED_ID, "--json")
    assert done.returncode == 0, done.stderr
    revisions = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["status"], r["revision"]) for r in revisions] == [("new", 1), ("modified", 2)]
    assert revisions[0]["changes"] == {} and set(revisions[1]["changes"]) == {"title", "body"}
    expected = [r for r in consumer.records(history) if r["id"] == EDITED_ID]
    assert [r["fetched_at"] for r in revisions] == [r["fetched_at"] for r in expected]


def test_runs_deleted_shows_the_last_content_and_when(history):
    done = runs(history, "--deleted")
    assert done.returncode == 0, done.stderr
    last = next(r for r in consumer.records(history) if r["id"] == REMOVED_ID)
    deleted = next(r for r in consumer.records(history) if r["id"] == REMOVED_ID and r["status"] == "deleted")
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{deleted['fetched_at']}  deleted  {deleted['site']} {REMOVED_ID}  ")
    assert f"  title: {last['title']}" in lines
    assert all(f"    {paragraph}" in lines for paragraph in last["body"].split("\n"))
    assert EDITED_ID not in done.stdout  # edited, not removed


@pytest.mark.parametrize(("days", "shown"), [(0, True), (1, False)], ids=["today", "tomorrow"])
def test_runs_deleted_since(history, days, shown):
    since = (datetime.now(timezone.utc).date() + timedelta(days=days)).isoformat()  # fetched_at is UTC
    done = runs(history, "--deleted", "--since", since, "--json")
    assert done.returncode == 0, done.stderr
    found = [json.loads(line) for line in done.stdout.splitlines()]
    assert [d["id"] for d in found] == ([REMOVED_ID] if shown else [])
    if shown:
        assert found[0]["last"]["status"] == "new" and found[0]["last"]["body"]
    else:
        assert done.stderr.strip() == f"scrapy runs: no deleted article since {since} in {history}"


def test_runs_refuses_a_damaged_range_in_one_line(history, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(history, out)
    records_file = next(p for p in sorted(out.glob("*.jsonl")) if "政法".encode() in p.read_bytes())
    data = records_file.read_bytes()  # the same length, other bytes: as an editor saving the file leaves it
    records_file.write_bytes(data.replace("政法".encode(), "政发".encode(), 1))
    done = runs(out, "--deleted")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "sha256" in done.stderr and "Traceback" not in done.stderr


def test_runs_shows_a_run_without_its_final_manifest(history, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(history, out)
    first = sorted((out / "runs").glob("*.json"))[:-1]  # run 1's slices (run 2 has one manifest)
    first[-1].unlink()  # as while the run is still going, or after it died (the next crawl gives it one)
    done = runs(out)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    assert line.startswith(f"1-{len(first) - 1} ") and line.endswith("(running, or died: no final manifest yet)")


@pytest.mark.parametrize("options", [("--since", "2024-01-01"), ("--article", "1", "--deleted"),
                                     ("--deleted", "--since", "yesterday"), ("--site", "x")])
def test_runs_refuses_options_that_do_not_go_together(tmp_path, options):
    done = runs(tmp_path, *options)
    assert done.returncode == 2 and done.stdout == ""


# --- scrapy describe -------------------------------------------------------------------------------

def test_describe_prints_arguments_settings_sites_and_channels(history):
    done = scrapy("describe", "-s", f"OUTPUT_DIR={history}", "-s", "DOWNLOAD_DELAY=0")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for name, takes in KNOWN_ARGUMENTS.items():
        assert re.search(rf"^  {name} +{re.escape(takes)}; ", text, re.M), name
    assert "default https://www.sichuanpeace.gov.cn/" in text and "default 7" in text
    # Each setting with settings.py's value, and what this command line changed.
    for name in ("CHECKPOINT_RECORDS", "CHECKPOINT_SECONDS", "RECHECK_BUDGET", "RUN_MAX_ERROR_RATE", "WACZ_ENABLED"):
        assert f"  {name} = {getattr(project_settings, name)!r}\n" in text, name
    assert f"  DOWNLOAD_DELAY = {project_settings.DOWNLOAD_DELAY!r}   (here: '0')" in text
    assert "# A run with more failed requests than this share of all requests is not complete." in text
    assert "ITEM_PIPELINES" not in text and "crawler.pipelines" not in text  # wiring, not choices
    for site in registry():
        assert f"{site.host}  {site.name}" in text
    # The channels this archive's articles were filed under, with their names.
    assert re.search(r"^  127\.0\.0\.1  scyw  四川要闻  \d+ articles$", text, re.M), text


def test_crawl_help_points_to_describe():
    done = scrapy("crawl", "-h")
    assert done.returncode == 0 and "scrapy describe" in " ".join(done.stdout.split())


def test_word_diff_of_chinese_and_latin():
    assert word_diff("广元：全市政法干警", "广元市：全市政法干警") == "广元{+市+}：全市政法干警"
    assert word_diff("共1.2万余名干警", "共1.3万余名干警") == "共[-1.2-]{+1.3+}万余名干警"
    assert word_diff("version 2 of the plan", "version 3 of the plan") == "version [-2-]{+3+} of the plan"
    assert word_diff("一二三", "一二三") == "一二三"


def test_paragraph_diff_shows_only_changed_paragraphs():
    old = "第一段。\n第二段，旧的。\n第三段。"
    assert paragraph_diff(old, "第一段。\n第二段，新的。\n第三段。") == ["¶2: 第二段，[-旧-]{+新+}的。"]
    assert paragraph_diff(old, old + "\n第四段。") == ["¶4: {+第四段。+}"]
    assert paragraph_diff(old, "第一段。\n第三段。") == ["¶2 (removed): [-第二段，旧的。-]"]
