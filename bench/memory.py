"""Memory: peak RSS of a full crawl (WARC on, pictures on, politeness off) at several mirror sizes.

Each size gets its own mirror server and a fresh OUTPUT_DIR; the crawl's peak RSS is its own
``ru_maxrss`` (``os.wait4`` on its pid: the server is another process and is not counted). The
mirror serves every article's pictures; the row says how many it served (``pictures``), so a crawl
that fetched none shows it. ``--setting REQUISITES_ENABLED=False`` measures without them.

``python -m bench.memory --articles 1000 10000 100000``
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.common import PROJECT, crawl_command, dir_size_mb, mirror_server, run_measured, save, scratch_dir, table


def run(sizes: list[int], extra: list[str]) -> dict[str, Any]:
    rows = []
    for articles in sizes:
        with mirror_server(articles) as server, scratch_dir() as out:
            measured = run_measured(crawl_command(server.base_url, out, *extra), cwd=PROJECT, timeout=3 * 3600)
            stats = server.stats()
            row = {"articles": articles, "returncode": measured.returncode, "maxrss_mb": round(measured.maxrss_mb, 1),
                   "wall_s": round(measured.wall_s, 1), "cpu_s": round(measured.cpu_s, 1),
                   "article_pages": stats.get("article", 0), "pictures": stats.get("image", 0),
                   "requests": stats.get("requests", 0),
                   "articles_per_s": round(stats.get("article", 0) / measured.wall_s, 1),
                   "state_mb": (round((out / "state.sqlite3").stat().st_size / 1e6, 1)
                                if (out / "state.sqlite3").exists() else 0),
                   "warc_mb": round(dir_size_mb(out / "warc"), 1)}
            if measured.returncode != 0:
                row["stderr_tail"] = measured.stderr_tail[-1500:]
            rows.append(row)
            print(row, flush=True)
    growth = {}
    by_n = {r["articles"]: r["maxrss_mb"] for r in rows}
    ns = sorted(by_n)
    for a, b in pairwise(ns):
        growth[f"{a}->{b}"] = round(by_n[b] / by_n[a], 2)
    return {"runs": rows, "growth": growth, "extra_args": extra}


def report(result: dict[str, Any]) -> str:
    rows = [[r["articles"], r["returncode"], r["article_pages"], r.get("pictures", ""), r["maxrss_mb"], r["wall_s"],
             r["articles_per_s"], r["state_mb"], r["warc_mb"]] for r in result["runs"]]
    return "\n".join(["Peak RSS of a full crawl", "",
                      table(rows, ["articles", "exit", "article pages", "pictures", "peak RSS MB", "wall s",
                                   "articles/s", "state MB", "WARC MB"]), "",
                      "growth: " + ", ".join(f"{k}: {v}×" for k, v in result["growth"].items())])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--setting", action="append", default=[], help="extra -s NAME=VALUE for the crawl")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    extra = [x for s in args.setting for x in ("-s", s)]
    result = run(args.articles, extra)
    path = save("memory", result, args.out)
    print(report(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
