"""The export's cost: its first build, and one new manifest folded onto an archive (issue 20, item 3).

Builds a synthetic OUTPUT_DIR in the crawler's own format (``runs/<seq>-<run id>.json`` manifests,
each committing a byte range of a records file with its SHA-256 and count; records of schema 1.3,
bodies made of the fixture articles' sentences, 1–3 KB of Chinese as the site's are), then times
in this process:

- the first build: ``scrapy export``'s work (``crawler.export.run.export``) on N records, every
  format written;
- a fold: one more manifest of 300 records (new articles, and modified and deleted ones among
  those archived) committed, then the export run again.

``--records 45000`` is the issue's archive; ``--records 1000000`` (about 4 years of cron runs) takes
long to build (records, then the first export) and needs some tens of GB, so it is asked for by name::

    python -m bench.export_fold                          # 45,000
    python -m bench.export_fold --records 45000 1000000  # both

Results: ``bench/results/export_fold.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import RESULTS
from bench.mirror import CHANNELS, EDITORS, SOURCES, sentence_pool
from crawler.export import run as export_run
from crawler.items import RECORD_FIELDS, SCHEMA_VERSION
from crawler.run import manifests

SITE = "www.sichuanpeace.gov.cn"
RECORDS_DIR = "records"
FOLD_RECORDS = 300  # one cron run's worth: the "one new manifest of 300 records"
PER_MANIFEST = 3000  # records per manifest of the archive built first (a first crawl, then daily runs)
EPOCH = datetime(2022, 1, 1, tzinfo=timezone.utc)


def _iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Archive:
    """A synthetic OUTPUT_DIR, written manifest by manifest as a crawl commits them."""

    def __init__(self, output_dir: Path, seed: int = 20):
        self.output_dir = output_dir
        self.rng = random.Random(seed)
        self.pool = sentence_pool()
        self.seq = 0
        self.articles = 0  # ids handed out so far
        self.revision: dict[int, int] = {}  # article number -> its latest revision (deleted: negative)

    def _body(self) -> str:
        paragraphs = ["，".join(self.rng.choice(self.pool) for _ in range(self.rng.randint(2, 5))) + "。"
                      for _ in range(self.rng.randint(2, 6))]
        return "\n\n".join(paragraphs)

    def _record(self, n: int, status: str, revision: int, when: datetime) -> dict[str, Any]:
        slug, name, _ = CHANNELS[n % len(CHANNELS)]
        ident = str(3_000_000 - n)
        day = (EPOCH - timedelta(hours=n // 4)).astimezone(timezone(timedelta(hours=8)))
        url = f"https://{SITE}/{slug}/{day:%Y%m%d}/{ident}.html"
        deleted = status == "deleted"
        body = "" if deleted else self._body()
        title = "" if deleted else self.rng.choice(self.pool)[:30]
        images = [] if deleted else [
            {"url": f"https://{SITE}/sccaw/u_yhscwj/{day:%Y%m}/{n:032x}.jpg", "caption": title[:12],
             "warc": {"file": "warc/x.warc.gz", "record_id": f"<urn:uuid:{n:032x}>", "offset": n * 7}}
            for _ in range(n % 3)]
        record = {
            "id": ident, "url": url, "site": SITE, "channel": slug, "channel_name": name,
            "title": None if deleted else title,
            "published_at": None if deleted else day.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
            "published_at_source": None if deleted else "page",
            "source": None if deleted else SOURCES[n % len(SOURCES)], "byline": None,
            "editor": None if deleted else EDITORS[n % len(EDITORS)], "body": None if deleted else body,
            "images": images,
            "attachments": [], "fetched_at": _iso_utc(when),
            "content_sha256": None if deleted else hashlib.sha256(body.encode()).hexdigest(),
            "extractor": None if deleted else "current", "encoding": {"declared": "utf-8", "used": "utf-8"},
            "schema_version": SCHEMA_VERSION, "status": status, "revision": revision,
            "first_seen": _iso_utc(EPOCH + timedelta(minutes=n)),
            "warc": {"file": "warc/x.warc.gz", "record_id": f"<urn:uuid:{n:032x}>", "offset": n * 13},
            "url_shape": "article", "updated_at": None,
        }
        assert tuple(record) == RECORD_FIELDS
        return record

    def commit(self, new: int, changed: int = 0) -> int:
        """One run: ``new`` articles never seen, ``changed`` archived ones modified or deleted; its manifest."""
        self.seq += 1
        run_id = f"bench{self.seq:08d}"
        when = EPOCH + timedelta(hours=4 * self.seq)
        records = []
        for n in self.rng.sample(range(self.articles), min(changed, self.articles)) if changed else ():
            revision = abs(self.revision[n])
            if self.revision[n] < 0:
                status, revision = "restored", revision + 1
            elif self.rng.random() < 0.3:
                status = "deleted"
            else:
                status, revision = "modified", revision + 1
            self.revision[n] = -revision if status == "deleted" else revision
            records.append(self._record(n, status, revision, when))
        for n in range(self.articles, self.articles + new):
            self.revision[n] = 1
            records.append(self._record(n, "new", 1, when))
        self.articles += new
        data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()
        folder = self.output_dir / RECORDS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_id}.jsonl"
        path.write_bytes(data)
        entry = manifests.range_entry(kind="records", uri=path.resolve().as_uri(), file=f"{RECORDS_DIR}/{path.name}",
                                      records=len(records), offset=0, size=len(data),
                                      sha256=hashlib.sha256(data).hexdigest())
        manifests.write(self.output_dir, manifests.new(self.seq, run_id, 1, final=True, site=SITE,
                                                       records=len(records), files=[entry], complete=True))
        return len(records)


def _timed(output_dir: Path) -> tuple[float, export_run.ExportReport]:
    started = time.perf_counter()
    report = export_run.export(output_dir, output_dir / export_run.EXPORT_DIR)
    return time.perf_counter() - started, report


def _disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(records: int, workdir: Path, folds: int) -> dict[str, Any]:
    """Build an archive of ``records`` records, export it, then fold ``folds`` new manifests one by one."""
    output_dir = workdir / f"archive-{records}"
    archive = Archive(output_dir)
    started = time.perf_counter()
    while archive.articles < records:
        archive.commit(min(PER_MANIFEST, records - archive.articles))
    generated = time.perf_counter() - started
    print(f"{records}: {archive.seq} manifests written in {generated:.1f} s", flush=True)
    first, report = _timed(output_dir)
    print(f"{records}: first build {first:.2f} s ({report.folded_records} records)", flush=True)
    fold_times = []
    for _ in range(folds):
        archive.commit(FOLD_RECORDS - FOLD_RECORDS // 10, changed=FOLD_RECORDS // 10)
        seconds, report = _timed(output_dir)
        assert report.folded_manifests == 1 and report.folded_records == FOLD_RECORDS and not report.rebuilt
        fold_times.append(seconds)
        print(f"{records}: fold of {FOLD_RECORDS} records {seconds:.2f} s", flush=True)
    export_dir = output_dir / export_run.EXPORT_DIR
    return {"records": records, "manifests": archive.seq, "first_build_s": round(first, 2),
            "fold_s": [round(s, 3) for s in fold_times],
            "fold_median_s": round(sorted(fold_times)[len(fold_times) // 2], 3),
            "records_bytes": _disk(output_dir / RECORDS_DIR), "export_bytes": _disk(export_dir)}


def report(results: list[dict[str, Any]]) -> str:
    lines = ["| records | manifests | first build | fold of 300 (median of folds) | folds | export on disk |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        folds = ", ".join(f"{s:.2f}" for s in r["fold_s"])
        lines.append(f"| {r['records']:,} | {r['manifests']} | {r['first_build_s']:.1f} s | "
                     f"{r['fold_median_s']:.2f} s | {folds} | {r['export_bytes'] / 2**20:,.0f} MiB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[45_000],
                        help="archive sizes to build (default 45000; 1000000 is the aged archive)")
    parser.add_argument("--folds", type=int, default=3, help="new manifests folded one after another (default 3)")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the archives built")
    parser.add_argument("--out", type=Path, default=RESULTS / "export_fold.json", help="the results file")
    opts = parser.parse_args(argv)
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="export-fold-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [measure(n, workdir, opts.folds) for n in opts.records]
    finally:
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(results))
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
