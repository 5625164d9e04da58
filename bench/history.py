"""An archive's age against a run's cost (issue 20, item 7): an unchanged rerun of the same mirror
from a young OUTPUT_DIR and from aged copies of it, side by side in one run.

- young: a first crawl of the benchmark mirror (``--articles``, 2,000), as shipped;
- aged: the same folder aged by ``--aged-articles`` (1M) more articles in the state and as many
  more lines of capture index (CDXJ) history: about 4 years of cron runs. The history comes before
  the young crawl in commit order (its manifests take ``seq`` 1..M, the young ones are renumbered
  after them). It is written directly in the real formats: rows in ``state.sqlite3``'s ``articles``
  (same site, other ids; checked after the young ones, so the recheck budget picks the same
  articles in both), CDXJ files of sorted index lines as cdxj-indexer writes them, and a final
  manifest per history run listing its WARC file and its ``.cdxj`` (size and SHA-256). The WARC
  files themselves are not written: an unchanged rerun reads a record back only for a URL it
  fetches again, and the history's URLs are not on the mirror. The capture index of the aged state
  is then built by the crawler's own code (``crawler.state.captures.catch_up``), as the first run
  after an upgrade would: its time is reported.
- aged in two shapes: the same history in ``--few`` manifests (20) and in ``--many`` (2,000).

Each round copies the three folders afresh (WARC, CDXJ and manifests hard-linked: a run never
changes them) and reruns each, in turn, against the unchanged mirror; wall time and peak RSS of the
crawl process, the paired median over ``--rounds`` (3) of aged/young and many/few. Also the disk
bytes per article of the young folder (by part, as ``bench/disk.py``).

``--keep DIR`` builds the folders in DIR (young/, aged_few/, aged_many/) and keeps them, to profile a
rerun again and again, or to measure again without building (a later ``--keep DIR`` with the same
``--port`` reruns them): serve the mirror on the same ``--port`` (``python -m bench.mirror serve
--articles N --port P``) and rerun a fresh copy of a folder (``--rounds 0`` only builds them).

``--code DIR`` runs the crawls with the crawler in DIR (e.g. an export of an earlier commit: the
"before" figures); the folders are built by this tree's code either way. ``--before DIR`` reruns
each folder with DIR's crawler too, in turn with ``--code``'s in every round: after/before ratios
measured side by side (the paired median).

``python -m bench.history --articles 2000 --aged-articles 1000000 --rounds 3``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bench.common import PROJECT, crawl_command, mirror_server, run_measured, save, scratch_dir, table
from bench.disk import parts

HISTORY_START = 1_577_836_800  # 2020-01-01: the history's first run
HISTORY_DAYS = 4 * 365


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(timestamp))


def _run_id(k: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(HISTORY_START + k * 3600)) + f"-{k % 0xFFFFFF:06x}"


def _digest(k: int) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(str(k).encode()).digest()).decode()


def age_state(state: Path, site: str, articles: int) -> float:
    """``articles`` more rows in ``articles`` (ids 900000000 on, published over the history's years),
    written directly; checked after the young ones. Returns the seconds it took."""
    start = time.perf_counter()
    db = sqlite3.connect(state)
    later = _iso(time.time() + 86_400)
    columns = [row[1] for row in db.execute("PRAGMA table_info(articles)")]

    def rows():
        for k in range(articles):
            published = _iso(HISTORY_START + (k * HISTORY_DAYS * 86_400) // max(1, articles))
            values = {"site": site, "id": str(900_000_000 + k),
                      "url": f"http://history.invalid/a/{900_000_000 + k}.html",
                      "published_at": published, "first_seen": published, "last_seen": published,
                      "content_sha256": hashlib.sha256(str(k).encode()).hexdigest(), "revision": 1, "etag": None,
                      "last_modified": None, "deleted": 0, "channel": "history", "channel_name": None,
                      "last_checked": later, "content_hash_version": 2}
            yield tuple(values[c] for c in columns)
    with db:
        db.executemany(f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows())
    db.close()
    return time.perf_counter() - start


def write_history(out: Path, site: str, lines: int, manifests_count: int) -> tuple[int, float]:
    """``lines`` CDXJ lines in ``manifests_count`` history runs, each a final manifest listing its
    WARC file and ``.cdxj``; the young manifests renumbered after them. Returns (manifests, seconds)."""
    from crawler.run import manifests

    start = time.perf_counter()
    runs = out / "runs"
    young = manifests.committed(out)
    shift = manifests_count
    for ref in reversed(young):  # renumbered after the history, highest first: no name is taken twice
        manifest = ref.read()
        manifest["seq"] = ref.seq + shift
        manifests.manifest_path(out, ref.seq + shift, ref.run_id).write_text(json.dumps(manifest), "utf-8")
        ref.path.unlink()
    warc = out / "warc"
    per_run = lines // manifests_count
    for k in range(manifests_count):
        run_id = _run_id(k)
        name = f"sichuanpeace-{run_id}-00001.warc.gz"
        first = k * per_run
        count = per_run if k < manifests_count - 1 else lines - first
        entries = []
        offset = 0
        for n in range(first, first + count):
            url = f"http://history.invalid/a/{900_000_000 + n}.html"
            stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(HISTORY_START + k * 3600))
            entries.append(f"invalid,history)/a/{900_000_000 + n}.html {stamp} " + json.dumps(
                {"url": url, "mime": "text/html", "status": "200", "digest": _digest(n), "length": "9000",
                 "offset": str(offset), "filename": name}))
            offset += 9000
        entries.sort()
        index = warc / (name + ".cdxj")
        data = ("\n".join(entries) + "\n").encode()
        index.write_bytes(data)
        files = [{"kind": "warc", "file": f"warc/{name}", "bytes": offset, "sha256": "0" * 64},
                 {"kind": "cdxj", "file": f"warc/{name}.cdxj", "bytes": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()}]
        stamp = _iso(HISTORY_START + k * 3600)
        manifest = manifests.new(k + 1, run_id, 1, final=True, site=site, records=0, files=files,
                                 spider="sichuanpeace", start=stamp, end=stamp, complete=True, paged_to_end=True,
                                 exit_code=0)
        manifests.manifest_path(out, k + 1, run_id).write_text(json.dumps(manifest), "utf-8")
    db = sqlite3.connect(out / "state.sqlite3")
    with db:
        last = db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        db.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (str(int(last[0]) + shift),))
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "captures" in tables:  # the young index, renumbered too; rebuilt below with the history's
            db.execute("DELETE FROM captures")
            db.execute("DELETE FROM meta WHERE key='captures_seq'")
    db.close()
    assert runs.is_dir()
    return manifests_count + len(young), time.perf_counter() - start


def build_index(out: Path) -> float:
    """The aged state's capture index, built by the crawler's own code from the manifests' CDXJ, and
    its drift baseline index (from the newest manifests) when this tree's crawler has one."""
    from crawler.state import captures
    from crawler.state.sqlite import SqliteStateStore

    start = time.perf_counter()
    store = SqliteStateStore(out / "state.sqlite3")
    try:
        captures.catch_up(out, store)
        try:
            from crawler.run import baselines, manifests
        except ImportError:  # a crawler before the index
            pass
        else:
            baselines.catch_up(out, store, manifests.listing(out))
    finally:
        store.close()
    return time.perf_counter() - start


def fresh_copy(source: Path, target: Path) -> None:
    """A copy to rerun from: what a run never changes hard-linked, the rest copied."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_dir() and path.name in ("warc", "runs"):
            shutil.copytree(path, target / path.name, copy_function=os.link)
        elif path.is_dir():
            shutil.copytree(path, target / path.name)
        else:
            shutil.copy2(path, target / path.name)


def _median_ratio(rounds: list[dict[str, dict]], top: str, bottom: str, key: str) -> float:
    return round(statistics.median(r[top][key] / r[bottom][key] for r in rounds), 3)


def run(articles: int, aged_articles: int, few: int, many: int, rounds: int, code: Path,
        keep: Path | None = None, port: int = 0, before: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"articles": articles, "aged_articles": aged_articles, "aged_index_lines": aged_articles,
                              "manifests": {"few": few, "many": many}, "rounds": rounds, "code": str(code),
                              "before": str(before) if before else None}
    codes = [("", code)] + ([("before_", before)] if before else [])
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with mirror_server(articles, port=port) as server, (nullcontext(keep) if keep else scratch_dir()) as work:
        if keep is not None:
            result["kept"] = {"folders": str(keep), "mirror": server.base_url}
        young = work / "young"
        built = work / "built.json"
        if keep is not None and built.exists():  # folders kept by an earlier --keep run, mirror on the same --port
            folders = {name: work / name for name in ("young", "aged_few", "aged_many")}
            saved = json.loads(built.read_text("utf-8"))
            result.update({key: saved[key] for key in ("young_first_crawl", "disk")})
            building: dict[str, Any] = saved["building"]
        else:
            young = work / "young"
            first = run_measured(crawl_command(server.base_url, young), cwd=PROJECT)
            if first.returncode != 0:
                raise RuntimeError(f"the young crawl failed:\n{first.stderr_tail}")
            result["young_first_crawl"] = {"wall_s": round(first.wall_s, 2), "maxrss_mb": round(first.maxrss_mb, 1)}
            pages = server.stats().get("article", articles)
            result["disk"] = {"bytes": parts(young), "per_article": {k: round(v / max(1, pages))
                                                                       for k, v in parts(young).items()}}
            with sqlite3.connect(young / "state.sqlite3") as db:
                site = db.execute("SELECT site FROM articles LIMIT 1").fetchone()[0]
            folders = {"young": young}
            building = {}
            for shape, count in (("aged_few", few), ("aged_many", many)):
                aged = work / shape
                shutil.copytree(young, aged)
                seconds_state = age_state(aged / "state.sqlite3", site, aged_articles)
                total, seconds_history = write_history(aged, site, aged_articles, count)
                seconds_index = build_index(aged)
                building[shape] = {"manifests": total, "state_rows_s": round(seconds_state, 1),
                                   "cdxj_and_manifests_s": round(seconds_history, 1),
                                   "capture_index_build_s": round(seconds_index, 1),
                                   "state_bytes": (aged / "state.sqlite3").stat().st_size,
                                   "cdxj_bytes": sum(p.stat().st_size for p in (aged / "warc").glob("*.cdxj"))}
                folders[shape] = aged
            if keep is not None:
                built.write_text(json.dumps({"young_first_crawl": result["young_first_crawl"], "disk": result["disk"],
                                             "building": building}), "utf-8")
        result["building"] = building
        result["runs"] = []
        for number in range(rounds):
            measured: dict[str, dict] = {}
            for (tag, tree), (folder, source) in ((c, f) for f in folders.items() for c in codes):
                name = tag + folder  # with --before: each folder by the two trees in turn
                target = work / f"run-{name}"
                fresh_copy(source, target)
                os.sync()  # the copy's writeback is not the rerun's
                server.reset()
                done = run_measured(crawl_command(server.base_url, target), cwd=tree, env={"PYTHONPATH": str(tree)})
                stats = server.stats()
                measured[name] = {"returncode": done.returncode, "wall_s": round(done.wall_s, 2),
                                  "cpu_s": round(done.cpu_s, 2), "maxrss_mb": round(done.maxrss_mb, 1),
                                  "requests": stats.get("requests", 0), "article_pages": stats.get("article", 0)}
                if done.returncode != 0:
                    measured[name]["stderr_tail"] = done.stderr_tail[-1500:]
                shutil.rmtree(target)
            result["runs"].append(measured)
            print(f"round {number + 1}: " + ", ".join(f"{n} {m['wall_s']} s {m['maxrss_mb']} MB"
                                                      for n, m in measured.items()), file=sys.stderr)
    runs = result["runs"]
    if not runs:
        return result
    names = list(runs[0])
    result["median"] = {name: {key: statistics.median(r[name][key] for r in runs) for key in ("wall_s", "maxrss_mb")}
                        for name in names}
    result["ratios"] = {
        f"{tag}{top}/{tag}{bottom}": {key: _median_ratio(runs, tag + top, tag + bottom, key)
                                      for key in ("wall_s", "maxrss_mb")}
        for tag, _ in codes
        for top, bottom in (("aged_few", "young"), ("aged_many", "young"), ("aged_many", "aged_few"))}
    if before:
        result["ratios"].update({f"{name}/before_{name}": {key: _median_ratio(runs, name, "before_" + name, key)
                                                           for key in ("wall_s", "maxrss_mb")} for name in folders})
    return result


def report(result: dict[str, Any]) -> str:
    if not result["runs"]:
        return f"built, not rerun: {result.get('kept')}"
    median, ratios = result["median"], result["ratios"]
    rows = [[name, median[name]["wall_s"], median[name]["maxrss_mb"],
             *(lambda ratio: [ratio.get("wall_s", "1.0"), ratio.get("maxrss_mb", "1.0")])(
                 ratios.get(f"{name}/{'before_' if name.startswith('before_') else ''}young", {}))]
            for name in median]
    disk = result["disk"]["per_article"]
    lines = [
        f"Unchanged rerun of a {result['articles']}-article mirror: young against aged by "
        f"{result['aged_articles']:,} articles and {result['aged_index_lines']:,} CDXJ lines "
        f"(in {result['manifests']['few']} and {result['manifests']['many']} manifests); "
        f"paired median of {result['rounds']} rounds (code: {result['code']})", "",
        table(rows, ["folder", "rerun wall s", "rerun peak RSS MB", "wall / young", "RSS / young"]), "",
        f"many / few manifests: wall {ratios['aged_many/aged_few']['wall_s']}x, "
        f"RSS {ratios['aged_many/aged_few']['maxrss_mb']}x", "",
        *(["after / before (the same folder, side by side): " + ", ".join(
            f"{k.split('/')[0]} wall {v['wall_s']}x, RSS {v['maxrss_mb']}x" for k, v in ratios.items()
            if k.split("/")[1] == "before_" + k.split("/")[0]), ""] if result.get("before") else []),
        "building the aged folders: " + "; ".join(
            f"{name}: {b['manifests']} manifests, state rows {b['state_rows_s']} s, "
            f"CDXJ {b['cdxj_and_manifests_s']} s, "
            f"capture index built in {b['capture_index_build_s']} s (state {b['state_bytes'] / 1e6:.0f} MB, "
            f"CDXJ {b['cdxj_bytes'] / 1e6:.0f} MB)" for name, b in result["building"].items()), "",
        "young folder, bytes per article page: " + ", ".join(f"{k} {v:,}" for k, v in disk.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--aged-articles", type=int, default=1_000_000, help="articles and CDXJ lines of history")
    parser.add_argument("--few", type=int, default=20, help="manifests the history is in (one shape)")
    parser.add_argument("--many", type=int, default=2000, help="manifests the history is in (the other)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", type=Path, default=PROJECT, help="the crawler tree the reruns run")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="build the folders here and keep them (to profile a rerun)")
    parser.add_argument("--port", type=int, default=0, help="the mirror's port (0: any; fix it with --keep)")
    parser.add_argument("--before", type=Path, help="another crawler tree (e.g. a worktree of main), rerun on each "
                        "folder in turn with --code's, every round: after/before ratios measured side by side")
    args = parser.parse_args(argv)
    result = run(args.articles, args.aged_articles, args.few, args.many, args.rounds, args.code.resolve(),
                 args.keep.resolve() if args.keep else None, args.port,
                 args.before.resolve() if args.before else None)
    path = save("history", result, args.out)
    print(report(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
