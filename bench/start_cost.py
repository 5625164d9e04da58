"""What a crawl's start and close cost in an aged OUTPUT_DIR, without the crawl between them (issue
20): the recovery under the lock (``recovery.prepare``), then what the run's end reads of earlier
runs (the newest seq, the drift baseline, the early stop, the last success and the run's final
manifest for the metrics). Each measured in a subprocess of its own, importing the crawler of
``--code`` or ``--before`` in turn, on the same folders, for ``--rounds`` rounds: the paired median.

The folders are those ``bench/history.py --keep DIR`` builds (young/, aged_few/, aged_many/), copied
once (WARC, CDXJ and manifests hard-linked); a start on an unchanged folder changes nothing a later
start reads, so every round reuses the copies.

``python -m bench.start_cost --folders DIR --before <worktree of main> --rounds 5``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import PROJECT, save
from bench.history import fresh_copy

# Run in the measured tree's interpreter: milliseconds of the start and of the end's look-backs.
PROBE = """
import json, sys, time
from pathlib import Path
from scrapy.settings import Settings
from crawler.run import manifests, metrics, recovery
from crawler.quality import drift_baseline
from crawler.state.sqlite import SqliteStateStore
out, run_id = Path(sys.argv[1]), "20991231T000000Z-abcdef"
start = time.perf_counter()
recovery.prepare(Settings({"OUTPUT_DIR": str(out), "RUN_ID": run_id, "JOBDIR": None}))
prepared = time.perf_counter()
site = manifests.read_manifest(manifests.committed(out)[-1].path)["site"]
begun = time.perf_counter()
manifests.may_stop_early(out, site)
store = SqliteStateStore(out / "state.sqlite3")
manifests.last_seq(out)
try:
    from crawler.run import baselines
    baselines.drift_baseline_of(out, store, site, None)
except ImportError:
    drift_baseline(manifests.final_manifests(out, site), site, None)
store.close()
metrics.last_success(out, site)
metrics.final_manifest(out, run_id)
ended = time.perf_counter()
print(json.dumps({"prepare_ms": (prepared - start) * 1000, "lookbacks_ms": (ended - begun) * 1000}))
"""


def probe(tree: Path, folder: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(folder)], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(folders: Path, code: Path, before: Path, rounds: int, work: Path) -> dict[str, Any]:
    copies = {}
    for name in ("young", "aged_few", "aged_many"):
        copies[name] = work / name
        fresh_copy(folders / name, copies[name])
    os.sync()
    trees = {"after": code, "before": before}
    runs = []
    for number in range(rounds):
        measured: dict[str, dict[str, float]] = {}
        order = list(trees.items()) if number % 2 == 0 else list(trees.items())[::-1]
        for name, folder in copies.items():
            for tag, tree in order:
                result = probe(tree, folder)
                measured[f"{tag}/{name}"] = {**result, "total_ms": result["prepare_ms"] + result["lookbacks_ms"]}
        runs.append(measured)
        print(f"round {number + 1}: " + ", ".join(f"{k} {v['total_ms']:.0f} ms" for k, v in measured.items()),
              file=sys.stderr)
    keys = list(runs[0])
    median = {k: {m: round(statistics.median(r[k][m] for r in runs), 1) for m in runs[0][k]} for k in keys}
    ratios = {f"{tag}: aged_many/aged_few": round(statistics.median(
        r[f"{tag}/aged_many"]["total_ms"] / r[f"{tag}/aged_few"]["total_ms"] for r in runs), 3) for tag in trees}
    ratios.update({f"after/before: {name}": round(statistics.median(
        r[f"after/{name}"]["total_ms"] / r[f"before/{name}"]["total_ms"] for r in runs), 3) for name in copies})
    return {"folders": str(folders), "code": str(code), "before": str(before), "rounds": rounds, "runs": runs,
            "median": median, "ratios": ratios}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folders", type=Path, required=True, help="what bench/history.py --keep built")
    parser.add_argument("--code", type=Path, default=PROJECT)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, help="where the copies go (default: beside --folders)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    work = args.work or args.folders.parent / (args.folders.name + "-start-cost")
    try:
        result = run(args.folders.resolve(), args.code.resolve(), args.before.resolve(), args.rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = save("start_cost", result, args.out)
    for key, value in result["median"].items():
        print(f"{key}: prepare {value['prepare_ms']} ms, look-backs {value['lookbacks_ms']} ms, "
              f"total {value['total_ms']} ms")
    for key, value in result["ratios"].items():
        print(f"{key}: {value}x")
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
