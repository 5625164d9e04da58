"""Smoke test of the benchmark scripts (bench/): they run at tiny N and write their result JSON.

No timing assertions: only that each script exits 0 and its result has the expected keys. Needs the
``bench`` extra (trafilatura, gne, lxml_html_clean, pyinstrument); skipped without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trafilatura")
pytest.importorskip("gne")

PROJECT = Path(__file__).resolve().parent.parent


def run_bench(module: str, out: Path, *args: str, timeout: float = 90) -> dict:
    command = [sys.executable, "-m", module, *args, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "|" in done.stdout  # the Markdown table
    return json.loads(out.read_text("utf-8"))


def test_mirror_pages_are_articles_ours_extracts_exactly():
    sys.path.insert(0, str(PROJECT))
    from bench.extraction import ours
    from bench.mirror import generate_article

    for k in range(6):  # two of each template
        page = generate_article(k, 30, "http://127.0.0.1:1")
        assert 28 * 1024 <= len(page.html) <= 122 * 1024
        found = ours(page.html, "http://127.0.0.1:1" + page.meta.path, "text/html; charset=utf-8", "http://127.0.0.1:1/")
        assert (found["title"], found["date"], found["source"], found["editor"]) == (
            page.title, page.published_at, page.source, page.editor)
        assert found["text"].split("\n") == page.paragraphs


def test_extraction_bench(tmp_path):
    result = run_bench("bench.extraction", tmp_path / "extraction.json", "--articles", "8", "--rounds", "2")
    for design in ("cpu_per_page", "cpu_per_page_interleaved"):
        assert set(result[design]) == {"ours", "ours+links", "trafilatura", "trafilatura_fast", "gne"}
        for cost in result[design].values():
            assert {"median_ms", "p95_ms", "median_ratio_to_ours", "p95_ratio_to_ours"} <= set(cost)
    for key in ("accuracy_fixtures", "accuracy_synthetic"):
        for scores in result[key].values():
            assert {"title", "time", "source", "editor", "recall", "footer_leak", "any_leak"} <= set(scores)
    assert result["accuracy_fixtures"]["ours"]["pages"] > 0
    assert {"nproc", "cpu", "versions"} <= set(result["machine"])


def test_extract_sidebyside_bench():
    """The side-by-side run imports two checkouts under one name; here this one twice (each page
    finding its hrefs unresolved, as in a crawl)."""
    command = [sys.executable, "-m", "bench.extract_sidebyside", "--base", str(PROJECT), "--rounds", "1",
               "--articles", "3", "--cold-urls"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert (result["real"]["pages"], result["synthetic"]["pages"]) == (70, 3)
    assert result["cold_urls"] is True
    for corpus in ("real", "synthetic"):
        assert {"median", "sum", "paired_median"} == set(result[corpus]["this/base"])
        assert result[corpus]["base"]["median_ms"] > 0 and result[corpus]["this"]["median_ms"] > 0


def test_extract_equivalence_bench(tmp_path):
    """The equivalence check writes everything extraction makes of its pages, finds it all identical
    on the same code, and names (and exits 1 on) a page that differs."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    dump = tmp_path / "before.json"

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "bench.extract_equivalence", "--articles", "3", *args]
        return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)

    done = run("--write", str(dump))
    assert done.returncode == 0, done.stderr[-3000:]
    before = json.loads(dump.read_text("utf-8"))
    assert {"mirror/0", "fixture/article_2541288_current_a_sample", "real/cwced-0d931936"} <= set(before)
    assert set(before["mirror/0"]) >= {"article", "links", "record", "removed", "validate", "extract_record"}
    done = run("--check", str(dump))
    assert done.returncode == 0 and "all identical" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    before["mirror/0"]["record"]["title"] = "another title"
    dump.write_text(json.dumps(before, ensure_ascii=False), "utf-8")
    done = run("--check", str(dump))
    assert done.returncode == 1 and "mirror/0: record" in done.stdout


def test_crawl_rate_bench(tmp_path):
    result = run_bench("bench.crawl_rate", tmp_path / "crawl_rate.json", "--articles", "30", "--rounds", "2",
                       "--loadtest-seconds", "0.5", timeout=300)  # 14 crawls: 22 s alone, 90+ s beside the suite
    variants = {"bare", "ours_warc", "ours_warc_only", "ours_nowarc", "ours_warc_gc_default", "bare_gc_tuned",
                "bare_gc_tuned_pictures"}
    assert set(result["best"]) == variants
    for run in result["best"].values():
        assert run["returncode"] == 0
        assert run["article_pages"] == 30
        assert {"articles_per_s", "cpu_ms_per_article", "maxrss_mb", "server_busy"} <= set(run)
    for variant in variants:
        assert result["best"][variant]["items"] == 30, variant
    assert variants - {"bare"} == set(result["ratios_to_bare"])
    runs = result["all_runs"]
    for variant, ratios in result["ratios_to_bare"].items():  # each round against that round's bare run
        expected = [run["articles_per_s"] / bare["articles_per_s"]
                    for run, bare in zip(runs[variant], runs["bare"], strict=True)]
        assert len(expected) == 2
        assert ratios["paired_per_round"] == [round(x, 2) for x in expected]
        assert ratios["paired_min"] == round(min(expected), 2)
        assert ratios["paired_median"] == round(sum(expected) / 2, 2)
    assert result["best"]["ours_warc"]["warc_mb"] > 0 and result["best"]["ours_nowarc"]["warc_mb"] == 0
    assert "requests_per_s" in result["server_loadtest"]
    # The shipped crawl fetches the articles' pictures (and writes no WACZ: one is made on demand);
    # so does the bare reference it is compared with, and neither do the others.
    pictures = {variant: run["images_served"] for variant, run in result["best"].items()}
    assert pictures["ours_warc"] > 0 and pictures["bare_gc_tuned_pictures"] == pictures["ours_warc"]
    with_pictures = ("ours_warc", "ours_warc_gc_default", "bare_gc_tuned_pictures")
    assert not any(n for v, n in pictures.items() if v not in with_pictures)
    assert result["best"]["ours_warc"]["wacz_mb"] == 0 and result["best"]["ours_warc_only"]["wacz_mb"] == 0
    assert set(result["ratios_to_bare_gc_tuned_pictures"]) == variants - {"bare_gc_tuned_pictures"}


def test_rerun_bench(tmp_path):
    result = run_bench("bench.rerun", tmp_path / "rerun.json", "--articles", "30")
    full, rerun = result["runs"]["full"], result["runs"]["rerun"]
    assert full["returncode"] == 0 and rerun["returncode"] == 0
    assert full["article_pages_fetched"] == 30
    assert {"requests", "article_pages_fetched", "wall_s"} <= set(rerun)
    assert "rerun_wall_fraction" in result


def test_export_fold_bench(tmp_path):
    result = run_bench("bench.export_fold", tmp_path / "export_fold.json", "--records", "600", "--folds", "2")
    assert [r["records"] for r in result] == [600] and len(result[0]["fold_s"]) == 2
    assert {"first_build_s", "fold_median_s", "export_bytes"} <= set(result[0])


def test_history_bench(tmp_path):
    result = run_bench("bench.history", tmp_path / "history.json", "--articles", "20", "--aged-articles", "2000",
                       "--few", "2", "--many", "10", "--rounds", "1")
    assert all(m["returncode"] == 0 for m in result["runs"][0].values()), result["runs"]
    assert set(result["ratios"]) == {"aged_few/young", "aged_many/young", "aged_many/aged_few"}
    assert result["building"]["aged_many"]["manifests"] > result["building"]["aged_few"]["manifests"]


def test_memory_bench(tmp_path):
    result = run_bench("bench.memory", tmp_path / "memory.json", "--articles", "20", "40")
    assert [r["articles"] for r in result["runs"]] == [20, 40]
    assert all(r["returncode"] == 0 and r["maxrss_mb"] > 0 for r in result["runs"])
    assert all(r["pictures"] > 0 for r in result["runs"])  # the crawl fetched the articles' pictures
    assert "20->40" in result["growth"]


def test_profile_extract(tmp_path):
    pytest.importorskip("pyinstrument")
    out = tmp_path / "profile.txt"
    done = subprocess.run([sys.executable, "-m", "bench.profile_extract", "--articles", "5", "--repeat", "1",
                           "--out", str(out)], cwd=PROJECT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "parse_article" in out.read_text("utf-8")


def test_warc_cost_bench(tmp_path):
    from bench.warc_cost import BASELINE_REV
    known = subprocess.run(["git", "cat-file", "-e", f"{BASELINE_REV}^{{commit}}"], cwd=PROJECT, capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"the old middleware's revision {BASELINE_REV} is not in this clone (shallow?)")
    result = run_bench("bench.warc_cost", tmp_path / "warc_cost.json", "--responses", "20", "--levels", "6",
                       "--rounds", "1")
    assert {"old (level 9, sync)", "new level 6"} <= set(result["variants"])
    for variant in result["variants"].values():
        assert variant["cdxj_matches_indexer"] and variant["records_identical"]
        assert {"reactor_ms_per_response_busy", "total_cpu_ms_per_response_busy", "warc_mb"} <= set(variant)


def test_gil_profile_puts_each_sample_in_the_first_category_its_stack_names():
    from bench.gil_profile import categorize

    article = "SichuanpeaceSpider.parse_article_page (crawler/spiders/sichuanpeace.py:{})"
    lines = [
        "thread (7);_run_module_as_main (<frozen runpy>:198);_find_and_load (<frozen importlib._bootstrap>:1360) 4\n",
        "thread (7): MainThread;run (a.py:1);" + article.format(530)
        + ";read_article_page (crawler/extract/article_page.py:26);linearize (crawler/extract/blocks.py:9) 7\n",
        "thread (7): MainThread;run (a.py:1);" + article.format(540) + " 2\n",
        "thread (7): MainThread;run (a.py:1);Deferred.callback (twisted/internet/defer.py:1) 5\n",
        "thread (9): warc-writer_0;_worker (concurrent/futures/thread.py:1);write (x.py:2) 3\n",
        "thread (8): asyncio_0;_worker (concurrent/futures/thread.py:1) 1\n",
    ]
    assert categorize(lines) == {
        "threads": {"MainThread": 18, "warc-writer": 3, "other": 1}, "total": 22,
        "main_thread": {"start-up: imports": 4, "extraction": 7, "spider, other": 2, "Scrapy and Twisted": 5}}


def test_realpages_cold_urls_finds_each_page_unresolved():
    """``--cold-urls``: ours resolves every href of a page as if it had never seen it."""
    from bench import realpages
    from crawler.extract.urls import _resolve

    pages = realpages.load_corpus()
    first = pages[0]
    for second in pages[1:]:  # a page with links to resolve
        _resolve.cache_clear()
        realpages.ours(second.body, second.url)
        alone = _resolve.cache_info().currsize
        if alone:
            break
    realpages.ours(first.body, first.url)
    realpages.ours(second.body, second.url)
    assert _resolve.cache_info().currsize > alone  # warm: the caches keep both pages' hrefs
    realpages.ours_cold_urls(second.body, second.url)
    assert alone > 0 and _resolve.cache_info().currsize == alone
    assert _resolve.cache_info().misses == alone  # every href of the page resolved afresh
