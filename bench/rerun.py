"""Rerun cost: a full crawl of an N-article mirror, then a second run over the unchanged mirror.

Same OUTPUT_DIR (the state store), politeness off. Reports the requests the rerun made and the
article pages it fetched (server-side counts: a 304 answer is not a fetch), its wall time as a
fraction of the full crawl's, and what its manifest says. ``-a recheck`` stays at its default
(7 days); the mirror's newest article is dated 2025-09-30, so nothing falls in the recheck window
(``--recheck all`` makes the rerun send a conditional request for every known article instead).

``python -m bench.rerun --articles 10000``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.common import PROJECT, crawl_command, last_manifest, mirror_server, run_measured, save, scratch_dir, table


def run(articles: int, recheck: str | None, broken_footer_links: int = 0) -> dict[str, Any]:
    runs = {}
    with mirror_server(articles, broken_footer_links) as server, scratch_dir() as out:
        for name in ("full", "rerun"):
            server.reset()
            extra = ["-a", f"recheck={recheck}"] if recheck and name == "rerun" else []
            measured = run_measured(crawl_command(server.base_url, out, *extra), cwd=PROJECT)
            stats = server.stats()
            manifest = last_manifest(out)
            runs[name] = {
                "returncode": measured.returncode, "wall_s": round(measured.wall_s, 2),
                "cpu_s": round(measured.cpu_s, 2),
                "maxrss_mb": round(measured.maxrss_mb, 1), "requests": stats.get("requests", 0),
                "article_pages_fetched": stats.get("article", 0), "article_304": stats.get("article_304", 0),
                "list_pages": stats.get("list", 0),
                "records": sum(sum(1 for _ in p.open()) for p in out.glob(f"*{manifest.get('run_id', '?')}*.jsonl")),
                "complete": manifest.get("complete"), "paged_to_end": manifest.get("paged_to_end"),
                "not_found": stats.get("not_found", 0),
                "manifest_counts": {k: v for k, v in manifest.get("counts", {}).items() if not isinstance(v, dict)},
            }
            if measured.returncode != 0:
                runs[name]["stderr_tail"] = measured.stderr_tail[-1500:]
    full, rerun = runs["full"], runs["rerun"]
    return {"articles": articles, "recheck": recheck or "default (7 days)", "broken_footer_links": broken_footer_links,
            "runs": runs,
            "rerun_wall_fraction": round(rerun["wall_s"] / full["wall_s"], 4),
            "rerun_cpu_fraction": round(rerun["cpu_s"] / full["cpu_s"], 4)}


def report(result: dict[str, Any]) -> str:
    rows = [[name, r["returncode"], r["requests"], r["list_pages"], r["article_pages_fetched"], r["article_304"],
             r["records"], r["wall_s"], r["cpu_s"], r["maxrss_mb"]] for name, r in result["runs"].items()]
    return "\n".join([
        f"Rerun over an unchanged {result['articles']}-article mirror (recheck: {result['recheck']}, "
        f"broken footer links: {result.get('broken_footer_links', 0)})", "",
        table(rows, ["run", "exit", "requests", "list pages", "article pages fetched", "304s", "records", "wall s",
                     "CPU s", "peak RSS MB"]), "",
        f"rerun wall time: {100 * result['rerun_wall_fraction']:.2f}% of the full crawl's; "
        f"CPU: {100 * result['rerun_cpu_fraction']:.2f}%",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--recheck", help="pass -a recheck=... to the rerun (e.g. all, 0)")
    parser.add_argument("--broken-footer-links", type=int, default=0, help="footer links that answer 404")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.articles, args.recheck, args.broken_footer_links)
    path = save("rerun", result, args.out)
    print(report(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
