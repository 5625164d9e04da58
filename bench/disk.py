"""The disk a crawl takes: a first crawl of the mirror (pictures on, as shipped) and an unchanged
rerun, OUTPUT_DIR measured by part, per article page, and scaled to the site's ~45,000 articles.

Parts: ``warc/`` (the WARC files and their CDXJ indexes), the records files (``*.jsonl``), the
manifests (``runs/``), the state store (``state.sqlite3``), the logs (``logs/``) and ``wacz/`` (a
per-run WACZ: none unless ``-s WACZ_ENABLED=True``). The mirror's articles average more pictures
than the fixture site's (bench/mirror.py), so the WARC figure per article is an upper side. Then
the WACZ of the first run is made on demand (``scrapy export --format wacz --runs <run id>``, the
WACZ that run would have written with ``WACZ_ENABLED``): its wall time and size.

``python -m bench.disk --articles 2000``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import PROJECT, crawl_command, last_manifest, mirror_server, run_measured, save, scratch_dir

SITE_ARTICLES = 45_000  # the site's articles (issue 20)


def _bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def parts(out: Path) -> dict[str, int]:
    """OUTPUT_DIR's bytes by part."""
    warc = list((out / "warc").glob("*.warc.gz"))
    return {"warc": _bytes(warc), "cdxj": _bytes(list((out / "warc").glob("*.cdxj"))),
            "records": _bytes(list(out.glob("*.jsonl"))), "manifests": _bytes(list((out / "runs").glob("*.json"))),
            "state": _bytes(list(out.glob("state.sqlite3*"))), "logs": _bytes(list((out / "logs").glob("*.log"))),
            "wacz": _bytes(list((out / "wacz").glob("*.wacz"))), "all": _bytes(list(out.rglob("*")))}


def run(articles: int, extra: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {"articles": articles, "extra_args": extra}
    with mirror_server(articles) as server, scratch_dir() as work:
        out = work / "out"
        for step in ("first", "rerun"):
            server.reset()
            before = parts(out) if out.exists() else {}
            logs_before = set((out / "logs").glob("*.log")) if out.exists() else set()
            measured = run_measured(crawl_command(server.base_url, out, *extra), cwd=PROJECT)
            stats = server.stats()
            after = parts(out)
            log = [p for p in (out / "logs").glob("*.log") if p not in logs_before]
            result[step] = {"returncode": measured.returncode, "article_pages": stats.get("article", 0),
                            "images": stats.get("image", 0), "bytes": after,
                            "added": {k: v - before.get(k, 0) for k, v in after.items()},
                            "log_bytes": _bytes(log)}
            if step == "first":
                first_run = last_manifest(out)["run_id"]
        export = run_measured([sys.executable, "-m", "scrapy", "export", "-s", f"OUTPUT_DIR={out}", "--format", "wacz",
                               "--runs", first_run, "--out", str(work / "export")], cwd=PROJECT)
        made = list((work / "export").glob("*.wacz"))
        result["wacz_on_demand"] = {"returncode": export.returncode, "wall_s": round(export.wall_s, 2),
                                    "cpu_s": round(export.cpu_s, 2), "maxrss_mb": round(export.maxrss_mb, 1),
                                    "bytes": _bytes(made)}
    first = result["first"]
    pages = max(1, first["article_pages"])
    per = {k: round(v / pages) for k, v in first["bytes"].items()}
    result["per_article_bytes"] = per
    result["site_scaled_mb"] = {k: round(v * SITE_ARTICLES / 1e6, 1) for k, v in per.items()}
    result["rerun_added_bytes"] = result["rerun"]["added"]
    archive = first["bytes"]["warc"] + first["bytes"]["cdxj"] + first["bytes"]["wacz"]
    result["archive_to_warc"] = round(archive / max(1, first["bytes"]["warc"]), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("extra", nargs="*", help="more crawl arguments (-s NAME=value)")
    opts = parser.parse_args()
    result = run(opts.articles, opts.extra)
    save("disk", result)
    print(json.dumps({k: result[k] for k in ("per_article_bytes", "site_scaled_mb", "rerun_added_bytes",
                                              "archive_to_warc", "wacz_on_demand")}, indent=2))


if __name__ == "__main__":
    main()
