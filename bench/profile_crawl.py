"""Profile a whole ``scrapy crawl sichuanpeace`` (WARC on, politeness off) with pyinstrument.

Starts a mirror, runs the crawl under ``python -m pyinstrument`` and writes the call tree to
bench/results/profile_crawl.txt: where the per-page CPU goes besides extraction (Scrapy itself,
WARC writing, pipelines, feed export).

``python -m bench.profile_crawl --articles 2000``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.common import IMPOLITE, PROJECT, RESULTS, mirror_server, scratch_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS / "profile_crawl.txt")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with mirror_server(args.articles) as server, scratch_dir() as out:
        command = [sys.executable, "-m", "pyinstrument", "-i", "0.001", "-r", "text",
                   "-o", str(args.out), "-m", "scrapy", "crawl", "sichuanpeace", "-a", f"base_url={server.base_url}",
                   "-s", f"OUTPUT_DIR={out}", *IMPOLITE]
        done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
        print(done.stderr[-2000:] if done.returncode else "", file=sys.stderr)
    print(args.out.read_text("utf-8")[:20000])
    print(f"profile: {args.out}")


if __name__ == "__main__":
    main()
