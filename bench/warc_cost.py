"""What the WARC archive middleware costs the reactor thread: the old one (at a git revision) and ours.

The same synthetic mirror articles (bench.mirror, ~75 KB HTML) go as Scrapy responses through each
variant's ``process_response``, driven by one asyncio loop on the main thread (the reactor's place)
with ``--inflight`` responses at a time, as Scrapy's concurrent downloads would; then ``close()``.
Twice: with the main thread otherwise ``idle``, and ``busy`` as in a crawl, extracting each page
after the middleware (``bench.extraction.ours`` with links), so a writer thread has to win the GIL
back from it.

Variants: ``old`` (the middleware at ``--baseline``: warcio's level 9, on the reactor thread,
``.cdxj`` by re-reading the file at close); ``new level N`` (ours, at WARC_GZIP_LEVEL N);
``new, no thread``: ours at level 6 but its writing called on the main thread (what the thread buys).

* ``reactor ms/resp``: CPU of the main thread (``time.thread_time``) over the run, less that of the
  same run with a middleware that does nothing (``null``), per response; ``close()`` included;
* ``total ms/resp``: the same for the whole process (``time.process_time``: the writer thread too);
* ``busy wall s``: the busy run, close included (``null``'s is printed below the table);
* ``MB``: the WARC files; ``vs old``: their size against the old one's.

Checks (``checks``), per variant: each ``.cdxj`` equals ``CDXJIndexer(sort=True)`` run over its
closed file; each exchange's request and response blocks (HTTP headers and body) are the old
middleware's byte for byte; with record ids and dates made deterministic and the records the same
(before the WARC 1.1 headers: warcinfo ids, IP, capture dates), at level 9 so are the files and
``request.meta["warc"]``.

``python -m bench.warc_cost --responses 2000 --levels 9,6,4,1``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import io
import itertools
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from cdxj_indexer import CDXJIndexer
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.timeutils import datetime_to_iso_date

from bench.common import PROJECT, save, table
from bench.extraction import ours
from bench.mirror import generate_article

sys.path.insert(0, str(PROJECT))
import crawler.downloadermiddlewares.warc as warc_capture
import crawler.run.files
from crawler import settings as project_settings
from crawler.run.lock import acquire

BASE = "http://127.0.0.1:8000"
CTYPE = "text/html; charset=utf-8"
START = datetime(2025, 11, 25, 6, 41, 4, 123456)  # the records' dates count on from here
BASELINE_REV = "e1b462e"  # the last commit with the level-9, synchronous, re-indexing middleware
OLD = "old (level 9, sync)"
# What Scrapy sends (its defaults + our user agent) and what the mirror answers, roughly.
REQUEST_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                   "Accept-Language": "zh-CN,zh;q=0.9", "User-Agent": "sichuanpeace-archive (+bench)",
                   "Accept-Encoding": "gzip, deflate, br, zstd"}
RESPONSE_HEADERS = {"Content-Type": CTYPE, "Server": "mirror", "Date": "Tue, 25 Nov 2025 06:41:04 GMT",
                    "Last-Modified": "Tue, 30 Sep 2025 08:00:00 GMT", "Connection": "keep-alive"}


class Archiving(Spider):
    name = "sichuanpeace"


class NullMiddleware:
    """The driver's own cost (and the busy thread's work): a middleware that does nothing."""

    def __init__(self) -> None:
        self.closed_files: list[Path] = []

    async def process_response(self, request: Request, response: HtmlResponse) -> HtmlResponse:
        return response

    def close(self) -> None:
        return None


class NoThread:
    """Our middleware with its writing called on the calling thread: what the writer thread buys."""

    def __init__(self, middleware: warc_capture.WarcArchiveMiddleware):
        self.middleware = middleware

    @property
    def closed_files(self) -> list[Path]:
        return self.middleware.sealed

    async def process_response(self, request: Request, response: HtmlResponse) -> HtmlResponse:
        request.meta["warc"] = self.middleware._write_exchange(*self.middleware._exchange(request, response))
        return response

    def close(self) -> None:
        self.middleware._close_current()
        self.middleware.executor.shutdown()


def baseline_module(rev: str) -> ModuleType:
    """crawler/warc.py as it was at ``rev``, importable beside ours (it imports ``.feeds``)."""
    source = subprocess.run(["git", "show", f"{rev}:crawler/warc.py"], cwd=PROJECT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("crawler.warc_baseline", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "crawler"
    sys.modules.setdefault("crawler.feeds", crawler.run.files)  # where it found fsync_dir then
    exec(compile(source, f"{rev}:crawler/warc.py", "exec"), module.__dict__)  # our own file, from git
    return module


def exchanges(count: int) -> list[tuple[Request, HtmlResponse]]:
    pairs = []
    for k in range(count):
        article = generate_article(k, count, BASE)
        url = BASE + article.meta.path
        request = Request(url, headers=REQUEST_HEADERS)
        headers = {**RESPONSE_HEADERS, "ETag": f'"{article.meta.id}"', "Content-Length": str(len(article.html))}
        pairs.append((request, HtmlResponse(url, status=200, headers=headers, body=article.html, request=request,
                                            protocol="HTTP/1.1")))
    return pairs


def deterministic_ids() -> None:
    """Record ids and dates from counters, so two runs write the same records."""
    ids, seconds = itertools.count(), itertools.count()
    RecordBuilder._make_warc_id = classmethod(lambda cls: f"<urn:uuid:00000000-0000-0000-0000-{next(ids):012d}>")
    RecordBuilder._make_warc_date = classmethod(lambda cls, use_micros=False: datetime_to_iso_date(
        START + timedelta(seconds=next(seconds)), use_micros=use_micros))


def make(kind: str, module: ModuleType | None, output: Path, level: int, max_size: int | None) -> Any:
    if kind == "null":
        return NullMiddleware()
    settings = {"WARC_ENABLED": True, "WARC_MAX_SIZE": max_size or project_settings.WARC_MAX_SIZE,
                "WARC_GZIP_LEVEL": level, "OUTPUT_DIR": str(output), "RUN_ID": "bench"}
    assert module is not None
    acquire(output, "bench")  # the archive writes only under the OUTPUT_DIR lock, as in a crawl
    middleware = module.WarcArchiveMiddleware.from_crawler(get_crawler(Archiving, settings))
    return NoThread(middleware) if kind == "nothread" else middleware


async def drive(middleware: Any, pairs: list[tuple[Request, HtmlResponse]], inflight: int, busy: bool) -> None:
    slots = asyncio.Semaphore(inflight)

    async def one(request: Request, response: HtmlResponse) -> None:
        async with slots:
            result = middleware.process_response(request, response)
            if asyncio.iscoroutine(result):
                await result
            if busy:
                ours(response.body, response.url, CTYPE, BASE + "/", links=True)
            await asyncio.sleep(0)  # as the reactor would, between one response's work and the next

    await asyncio.gather(*(one(request, response) for request, response in pairs))


def run(kind: str, module: ModuleType | None, pairs: list, inflight: int, level: int, max_size: int | None,
        busy: bool, output: Path) -> dict:
    deterministic_ids()
    for request, _ in pairs:
        request.meta.pop("warc", None)
    middleware = make(kind, module, output, level, max_size)
    loop = asyncio.new_event_loop()
    start_wall, start_cpu, start_thread = time.perf_counter(), time.process_time(), time.thread_time()
    loop.run_until_complete(drive(middleware, pairs, inflight, busy))
    # Ours seals for the run's commit, then stops its thread; the baseline closed on close().
    sealed = loop.run_until_complete(middleware.seal())[0] if hasattr(middleware, "seal") else []
    middleware.close()
    end_wall, end_cpu, end_thread = time.perf_counter(), time.process_time(), time.thread_time()
    loop.close()
    files = sorted(p for p in sealed or middleware.closed_files if p.name.endswith(".warc.gz"))  # not the .cdxj
    return {"thread_s": end_thread - start_thread, "cpu_s": end_cpu - start_cpu, "wall_s": end_wall - start_wall,
            "bytes": sum(path.stat().st_size for path in files), "files": files,
            "pointers": [request.meta.get("warc") for request, _ in pairs]}


def unzipped(path: Path) -> bytes:
    """All gzip members, decompressed (streamed: gzip.decompress copies the rest at each member)."""
    with gzip.open(path) as stream:
        return stream.read()


def exchanges_archived(path: Path) -> list[tuple[str, str, bytes]]:
    """Each request and response record's type, URI and block (HTTP headers and body): what was
    archived of each exchange, without the WARC headers (ours add warcinfo ids, IP, capture dates)."""
    found: list[tuple[str, str, bytes]] = []
    with path.open("rb") as stream:
        found.extend((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                      record.http_headers.to_bytes() + record.content_stream().read())
                     for record in ArchiveIterator(stream) if record.rec_type in ("request", "response"))
    return found


def cdxj_matches_indexer(path: Path) -> bool:
    out = io.StringIO()
    CDXJIndexer(output=out, inputs=[str(path)], sort=True).process_all()
    return path.with_name(path.name + ".cdxj").read_text("utf-8") == out.getvalue()


def checks(result: dict, old: dict) -> dict[str, bool | None]:
    level9 = result["level"] == 9
    # Files rotate after different records when sizes differ: then the streams cannot match. Since
    # the WARC 1.1 headers (warcinfo fields, WARC-Warcinfo-ID, WARC-IP-Address, capture dates), ours
    # are compared with the old one's by what each archived of every exchange.
    same_cuts = level9 or len(result["files"]) == 1 == len(old["files"])
    same_records = b"".join(map(unzipped, result["files"])) == b"".join(map(unzipped, old["files"]))
    return {
        "cdxj_matches_indexer": all(map(cdxj_matches_indexer, result["files"])),
        "records_identical": [x for p in result["files"] for x in exchanges_archived(p)] ==
        [x for p in old["files"] for x in exchanges_archived(p)],
        "files_identical": [p.read_bytes() for p in result["files"]] == [p.read_bytes() for p in old["files"]]
        if level9 and same_cuts and same_records else None,
        "pointers_identical": result["pointers"] == old["pointers"] if level9 and same_records else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--levels", default="9,6,4,1", help="gzip levels of our middleware to measure")
    parser.add_argument("--inflight", type=int, default=16, help="responses in the middleware at once")
    parser.add_argument("--max-size", type=int, help="WARC_MAX_SIZE (default: the project's)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per variant and mode; the least CPU is kept")
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the old middleware")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    pairs = exchanges(args.responses)
    old_module = baseline_module(args.baseline)
    variants = [("null", "null", None, 0), ("old", OLD, old_module, 9)]
    variants += [("new", f"new level {level}", warc_capture, level) for level in map(int, args.levels.split(","))]
    variants += [("nothread", "new level 6, no thread", warc_capture, 6)]
    results: dict[tuple[str, str], dict] = {}
    verdicts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as scratch:
        for round_ in range(args.rounds):
            for mode in ("idle", "busy"):
                for kind, label, module, level in variants:  # interleaved: machine noise hits all alike
                    measured = run(kind, module, pairs, args.inflight, level, args.max_size, mode == "busy",
                                   Path(scratch) / f"{mode}-{label}-{round_}")
                    key = (mode, label)
                    if key not in results or measured["cpu_s"] < results[key]["cpu_s"]:
                        results[key] = {"kind": kind, "level": level, **measured}
        for _, label, _, _ in variants[1:]:
            verdicts[label] = checks(results[("idle", label)], results[("idle", OLD)])

    n = args.responses
    per = {mode: results[(mode, "null")] for mode in ("idle", "busy")}
    old_bytes = results[("idle", OLD)]["bytes"]
    rows, summary = [], {}
    for _, label, _, level in variants[1:]:
        idle, busy = results[("idle", label)], results[("busy", label)]
        s = {"gzip_level": level,
             "reactor_ms_per_response_idle": round((idle["thread_s"] - per["idle"]["thread_s"]) / n * 1e3, 3),
             "reactor_ms_per_response_busy": round((busy["thread_s"] - per["busy"]["thread_s"]) / n * 1e3, 3),
             "total_cpu_ms_per_response_idle": round((idle["cpu_s"] - per["idle"]["cpu_s"]) / n * 1e3, 3),
             "total_cpu_ms_per_response_busy": round((busy["cpu_s"] - per["busy"]["cpu_s"]) / n * 1e3, 3),
             "busy_wall_s": round(busy["wall_s"], 2), "warc_mb": round(idle["bytes"] / 1e6, 2),
             "size_vs_old": round(idle["bytes"] / old_bytes, 4), "files": len(idle["files"]), **verdicts[label]}
        summary[label] = s
        ok = s["cdxj_matches_indexer"] and False not in (s["records_identical"], s["files_identical"],
                                                         s["pointers_identical"])
        rows.append([label, s["reactor_ms_per_response_idle"], s["reactor_ms_per_response_busy"],
                     s["total_cpu_ms_per_response_idle"], s["total_cpu_ms_per_response_busy"], s["busy_wall_s"],
                     s["warc_mb"], s["size_vs_old"], "yes" if ok else "NO"])
    avg_kb = round(sum(len(r.body) for _, r in pairs) / n / 1024, 1)
    print(f"{n} responses, {avg_kb} KB average, {args.inflight} in flight, best of {args.rounds}")
    print(table(rows, ["variant", "reactor ms/resp idle", "reactor ms/resp busy", "total ms/resp idle",
                       "total ms/resp busy", "busy wall s", "MB", "vs old", "checks"]))
    print(f"null: busy wall {per['busy']['wall_s']:.2f} s, main thread {per['busy']['thread_s'] / n * 1e3:.3f} ms/resp "
          f"busy, {per['idle']['thread_s'] / n * 1e3:.3f} idle (the driver alone)")
    path = save("warc_cost", {"responses": n, "avg_body_kb": avg_kb, "inflight": args.inflight, "rounds": args.rounds,
                              "max_size": args.max_size, "baseline": args.baseline,
                              "null_busy_wall_s": round(per["busy"]["wall_s"], 2),
                              "null_busy_main_ms_per_response": round(per["busy"]["thread_s"] / n * 1e3, 3),
                              "variants": summary}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
