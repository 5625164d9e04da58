"""Crawl rate: ``scrapy crawl sichuanpeace`` (as shipped, WARC only, no WARC) against a bare Scrapy spider.

One mirror server, one run: the crawls run one after the other against the same mirror
(``--rounds N`` alternates their order, keeps each one's best, and pairs each round's runs with
the bare spider's run of the same round), politeness off, 16 concurrent requests. Rates are
article pages fetched per second of the crawl's wall time (process start to exit) and of its
crawl phase (first to last request, as the server saw them); the ratios to the bare spider are
the point. The archive's cost is the crawl as shipped (WARC, pictures) minus the one without
WARC; the mirror serves every article's pictures, and a bare spider fetching them too
(``bare_gc_tuned_pictures``) is the reference doing the same network work. Two more crawls measure the
garbage collector's tuning (crawler/extensions/gc_tuning.py): ours with CPython's default collector, and the
bare spider with our tuning (a reference: the tuning is not ours alone to gain from). The server's
own CPU time during each crawl and a load test beforehand show that the server is not the bottleneck.

``python -m bench.crawl_rate --articles 2000 --rounds 2``

``--ours-from PATH`` adds ``ours_warc_from``: the crawl as shipped, run from another checkout (PATH
as its working directory and PYTHONPATH), alternated with this checkout's in the same rounds, so
that old and new code are compared side by side on a noisy machine. ``--variants`` runs only some.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT,
    bare_command,
    crawl_command,
    dir_size_mb,
    last_manifest,
    mirror_server,
    run_measured,
    save,
    scratch_dir,
    table,
)
from bench.mirror import loadtest
from crawler.settings import GC_GEN0_THRESHOLD

VARIANTS = ("bare", "ours_warc", "ours_warc_only", "ours_nowarc", "ours_warc_gc_default", "bare_gc_tuned",
            "bare_gc_tuned_pictures")
# What each variant adds to its command line. ``ours_warc`` is the crawl as it ships: WARC and page
# requisites (the mirror serves every article's pictures); no WACZ since issue 20 (made on demand
# by ``scrapy export --format wacz``); ``ours_warc_only`` keeps the WARC but fetches no requisites.
# ``ours_warc_gc_default`` leaves CPython's collector as it is; ``bare_gc_tuned`` is the bare
# spider with our GC tuning (crawler/extensions/gc_tuning.py): the archive's goal is stated
# against it, since that generic tuning is not ours alone to gain from. ``bare_gc_tuned_pictures``
# also fetches the articles' pictures (bench/bare_spider.py ``-a requisites=1``): the same network
# work as ``ours_warc``, without keeping anything.
_GC_TUNED = ["-s", "EXTENSIONS={\"crawler.extensions.gc_tuning.GcTuning\": 0}", "-s", "GC_TUNING_ENABLED=True",
             "-s", f"GC_GEN0_THRESHOLD={GC_GEN0_THRESHOLD}"]
EXTRA_ARGS = {
    "ours_warc_only": ["-s", "REQUISITES_ENABLED=False", "-s", "WACZ_ENABLED=False"],
    "ours_nowarc": ["-s", "WARC_ENABLED=False"],
    "ours_warc_gc_default": ["-s", "GC_TUNING_ENABLED=False"],
    "bare_gc_tuned": _GC_TUNED,
    "bare_gc_tuned_pictures": [*_GC_TUNED, "-a", "requisites=1"],
}


# The crawl as shipped from another checkout (``--ours-from``): old code beside new, in the same rounds.
FROM_VARIANT = "ours_warc_from"


def one_crawl(variant: str, server, articles: int, work: Path, ours_from: Path | None = None) -> dict[str, Any]:
    out = work / variant
    out.mkdir(parents=True, exist_ok=True)
    server.reset()
    cpu_before = server.stats()["cpu_seconds"]
    extra = EXTRA_ARGS.get(variant, [])
    if variant.startswith("bare"):
        measured = run_measured(bare_command(server.base_url, out / "urls.jsonl", *extra), cwd=out)
        items = sum(1 for _ in (out / "urls.jsonl").open()) if (out / "urls.jsonl").exists() else 0
    elif variant == FROM_VARIANT:
        assert ours_from is not None
        measured = run_measured(crawl_command(server.base_url, out, *EXTRA_ARGS.get("ours_warc", [])), cwd=ours_from,
                                env={"PYTHONPATH": str(ours_from)})
        items = sum(sum(1 for _ in p.open()) for p in out.glob("*.jsonl"))
    else:
        measured = run_measured(crawl_command(server.base_url, out, *extra), cwd=PROJECT)
        items = sum(sum(1 for _ in p.open()) for p in out.glob("*.jsonl"))
    stats = server.stats()
    phase = max(1e-9, stats["last_request"] - stats["first_request"])
    fetched = stats.get("article", 0)
    result = {
        "returncode": measured.returncode, "items": items, "requests": stats.get("requests", 0),
        "article_pages": fetched, "wall_s": round(measured.wall_s, 2), "crawl_phase_s": round(phase, 2),
        "cpu_s": round(measured.cpu_s, 2), "maxrss_mb": round(measured.maxrss_mb, 1),
        "articles_per_s": round(fetched / measured.wall_s, 1), "articles_per_s_phase": round(fetched / phase, 1),
        "cpu_ms_per_article": round(1000 * measured.cpu_s / max(1, fetched), 2),
        "server_cpu_s": round(stats["cpu_seconds"] - cpu_before, 2),
        "server_busy": round((stats["cpu_seconds"] - cpu_before) / measured.wall_s, 2),
        "mb_served": round(stats.get("article_bytes", 0) / 1e6, 1),
        "images_served": stats.get("image", 0),
        "image_mb_served": round(stats.get("image_bytes", 0) / 1e6, 1),
        "warc_mb": round(dir_size_mb(out / "warc"), 1),
        "wacz_mb": round(sum(p.stat().st_size for p in out.rglob("*.wacz")) / 1e6, 1),
    }
    if measured.returncode != 0:
        result["stderr_tail"] = measured.stderr_tail[-1500:]
    if not variant.startswith("bare"):
        counts = last_manifest(out).get("counts", {})
        result["manifest_counts"] = {k: v for k, v in counts.items() if not isinstance(v, dict)}
    return result


def run(articles: int, rounds: int, loadtest_seconds: float, ours_from: Path | None = None,
        variants: tuple[str, ...] | None = None) -> dict[str, Any]:
    chosen = tuple(variants or VARIANTS) + ((FROM_VARIANT,) if ours_from is not None else ())
    results: dict[str, list[dict]] = {v: [] for v in chosen}
    with mirror_server(articles) as server, scratch_dir() as work:
        capacity = loadtest(server.base_url, articles, loadtest_seconds, 16) if loadtest_seconds else None
        for r in range(rounds):
            order = chosen if r % 2 == 0 else tuple(reversed(chosen))
            for variant in order:
                results[variant].append(one_crawl(variant, server, articles, work / f"r{r}", ours_from))
    best = {v: max(runs, key=lambda x: x["articles_per_s"]) for v, runs in results.items()}
    ratios = {base: _ratios(results, best, base) if base in results else {}
              for base in ("bare", "bare_gc_tuned", "bare_gc_tuned_pictures", "ours_warc_from")}
    archive = _archive_cost(best)
    return {"articles": articles, "rounds": rounds, "server_loadtest": capacity, "ours_from": str(ours_from or ""),
            "best": best, "all_runs": results,
            "ratios_to_bare": ratios["bare"], "ratios_to_bare_gc_tuned": ratios["bare_gc_tuned"],
            "ratios_to_bare_gc_tuned_pictures": ratios["bare_gc_tuned_pictures"],
            "ratios_to_ours_warc_from": ratios["ours_warc_from"],
            "archive_cost": archive}


def _archive_cost(best: dict[str, dict]) -> dict[str, Any]:
    """The crawl as shipped against the one without WARC (empty unless both ran)."""
    if "ours_warc" not in best or "ours_nowarc" not in best:
        return {}
    warc, nowarc = best["ours_warc"], best["ours_nowarc"]
    return {
        "wall_s_added": round(warc["wall_s"] - nowarc["wall_s"], 2),
        "cpu_ms_per_article_added": round(warc["cpu_ms_per_article"] - nowarc["cpu_ms_per_article"], 2),
        "share_of_crawl_cpu": round((warc["cpu_ms_per_article"] - nowarc["cpu_ms_per_article"])
                                    / warc["cpu_ms_per_article"], 2),
        "warc_mb": warc["warc_mb"], "mb_served": warc["mb_served"],
        "warc_kb_per_article": round(1000 * warc["warc_mb"] / max(1, warc["article_pages"]), 1),
    }


def _ratios(results: dict[str, list[dict]], best: dict[str, dict], base: str) -> dict[str, dict]:
    """Each crawl's rate and CPU against ``base``'s: best of N over best of N, and paired by round.

    Each round's ratio pairs a crawl with ``base``'s run of the same round, in round order: the
    machine's speed drifts between rounds (up to 20 % here), so paired ratios spread less than
    best-of-N ones.
    """
    ratios = {}
    for v in results:
        if v == base:
            continue
        paired = [run["articles_per_s"] / ref["articles_per_s"]
                  for run, ref in zip(results[v], results[base], strict=True)]
        ratios[v] = {"rate_ratio_wall": round(best[v]["articles_per_s"] / best[base]["articles_per_s"], 2),
                     "rate_ratio_phase": round(best[v]["articles_per_s_phase"] / best[base]["articles_per_s_phase"], 2),
                     "cpu_ratio": round(best[v]["cpu_ms_per_article"] / best[base]["cpu_ms_per_article"], 2),
                     "paired_per_round": [round(x, 2) for x in paired],
                     "paired_median": round(statistics.median(paired), 2),
                     "paired_min": round(min(paired), 2)}
    return ratios


def report(result: dict[str, Any]) -> str:
    best = result["best"]
    rows = [[v, b["returncode"], b["article_pages"], b["requests"], b["wall_s"], b["articles_per_s"],
             b["articles_per_s_phase"], b["cpu_ms_per_article"], b["maxrss_mb"], b["server_busy"],
             b.get("images_served", 0), b["warc_mb"], b.get("wacz_mb", 0)]
            for v, b in best.items()]
    lines = [f"Crawl rate, {result['articles']} articles, best of {result['rounds']} round(s)", "",
             table(rows, ["crawl", "exit", "articles", "requests", "wall s", "articles/s (wall)",
                          "articles/s (crawl phase)", "CPU ms/article", "peak RSS MB", "server busy", "images",
                          "WARC MB", "WACZ MB"]), ""]
    for key, name in (("ratios_to_bare", "bare"), ("ratios_to_bare_gc_tuned", "bare_gc_tuned"),
                      ("ratios_to_bare_gc_tuned_pictures", "bare_gc_tuned_pictures"),
                      ("ratios_to_ours_warc_from", "ours_warc_from")):
        for v, r in result.get(key, {}).items():
            lines.append(f"{v}: {r['rate_ratio_wall']}× {name}'s rate (wall), {r['rate_ratio_phase']}× (crawl phase), "
                         f"{r['cpu_ratio']}× its CPU per article; paired with the same round's {name} run: median "
                         f"{r['paired_median']}×, lowest {r['paired_min']}× (all: {r['paired_per_round']})")
    a = result["archive_cost"]
    if a:
        lines.append(f"archive cost (as shipped: WARC, pictures; against no WARC): "
                     f"+{a['cpu_ms_per_article_added']} ms CPU per article "
                     f"({int(100 * a['share_of_crawl_cpu'])}% of the crawl's CPU), +{a['wall_s_added']} s wall, "
                     f"{a['warc_kb_per_article']} KB per article on disk "
                     f"({a['warc_mb']} MB for {a['mb_served']} MB served)")
    if result["server_loadtest"]:
        lt = result["server_loadtest"]
        lines.append(f"server capacity (load test, 16 keep-alive clients): {lt['requests_per_s']} article pages/s, "
                     f"{lt['mb_per_s']} MB/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--loadtest-seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--ours-from", type=Path, help="also run the crawl as shipped from this checkout")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, help="run only these (default: all)")
    args = parser.parse_args(argv)
    ours_from = args.ours_from.resolve() if args.ours_from else None
    result = run(args.articles, args.rounds, args.loadtest_seconds, ours_from, tuple(args.variants or ()) or None)
    path = save("crawl_rate", result, args.out)
    print(report(result))
    print(f"\nresult: {path}")
    if any(b["returncode"] != 0 for b in result["best"].values()):
        print(json.dumps({v: b.get("stderr_tail") for v, b in result["best"].items()}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
