"""Checkpoints and commits: Scrapy's feed exporter, cutting the run into slices and committing each.

A slice ends every CHECKPOINT_RECORDS records or CHECKPOINT_SECONDS (whichever first), and when the
run ends. At the cut, new records go to the next batch of each feed at once (Scrapy's batches:
``%(batch_id)d`` in the feed URI); the cut slice then commits, one slice after another:

1. ``warc_sealed``: the WARC files written so far are closed, fsynced, renamed and indexed;
2. ``records_stored``: the state store records what each feed's batch holds (its bytes' size and
   SHA-256, as written); then each batch file is fsynced and renamed (or uploaded), the archive's
   own copy last, refused if any of its writes failed;
3. ``manifest_due``, then ``manifest_written``: ``runs/<seq>-<run id>.json``, atomically: the
   commit point;
4. ``state_promoted``: the slice's staged rows enter the state store.

A slice that fails a step before 3 is not committed: its staged rows are discarded (its articles
are emitted again by a later run), and the run stops with exit code 8. Once the final manifest is
written its exit code is the run's, whatever fails after it. The archive's copy
(``crawler.run.feeds.ARCHIVE_FEED_URI``) is listed as ``records``, the feeds the user named as
``delivery``. A feed URI without a batch parameter (``-O file``, ``-o file``, ``stdout:``) cannot be
cut: the run is then one slice. Only ``scrapy crawl`` holding the OUTPUT_DIR lock commits; other
commands get Scrapy's exporter as is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FeedExporter, FeedSlot, apply_uri_params
from scrapy.utils.defer import ensure_awaitable

from .. import exitcodes
from ..accounting import UNCHANGED
from ..archive.wacz import build_run_wacz
from ..downloadermiddlewares.retry import STATS_UNREACHABLE_HOST, STATS_UNREACHABLE_REASON
from ..downloadermiddlewares.warc import WarcArchiveMiddleware
from ..extensions.accounting import AccountingExtension
from ..fleet.claims import FleetClaims
from ..quality import detect_drift, summarize
from ..state.captures import sealed_captures
from ..state.stores import state_store
from . import baselines, jobdir, manifests, points, verdict
from .feeds import ARCHIVE_FEED_URI, TrackedStorage, without_password
from .files import sha256_of
from .lock import holds

logger = logging.getLogger(__name__)

BATCH_PARAM_RE = re.compile(r"%\(batch_time\)s|%\(batch_id\)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def command_line(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> list[str]:
    """The command as typed: the program, then every argument, ``crawl`` included.

    Scrapy's ``execute`` pops the command name out of ``sys.argv``, so ``sys.argv`` alone reads
    ``scrapy sichuanpeace -a …``. ``sys.orig_argv`` (Python 3.10+) still holds the arguments as the
    interpreter got them, after the interpreter's own and the program (``python -m scrapy``, a
    script's path): its last ``len(sys.argv)`` entries are the typed arguments when they follow the
    program and removing their first word that is no option gives ``sys.argv[1:]``. Otherwise (a
    crawl started from Python code) ``sys.argv``.
    """
    argv = list(sys.argv if argv is None else argv)
    orig = list(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv)
    start = len(orig) - len(argv)  # where the typed arguments begin, if one word was popped
    if not argv or start < 2:
        return argv
    typed = orig[start:]
    program = orig[start - 1] == argv[0] or orig[start - 2] == "-m"  # a script's path, -m module
    command = next((i for i, word in enumerate(typed) if not word.startswith("-")), None)
    if not program or command is None or typed[:command] + typed[command + 1:] != argv[1:]:
        return argv
    return argv[:1] + typed


def _tracked(slot: FeedSlot) -> TrackedStorage:
    """A slot's storage, as ``_start_new_batch`` wrapped it (every slot of the committer has one)."""
    assert isinstance(slot.storage, TrackedStorage)
    return slot.storage


def _is_archive(slot: FeedSlot) -> bool:
    """Whether a feed slot writes the archive's own copy (listed as ``records``), not a delivery."""
    return slot.uri_template == ARCHIVE_FEED_URI


@dataclass
class Slice:
    number: int
    slots: list[FeedSlot]
    started: str = field(default_factory=_now)
    started_at: float = field(default_factory=time.monotonic)
    emitted: int = 0
    error: str | None = None
    refused: bool = False     # not stored on purpose (-O after an interrupted run), not a failure
    committed: bool = False   # its manifest is in place


class RunCommitter(FeedExporter):
    """The feed exporter of ``scrapy crawl``: slices, commits, and the run's final manifest."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FeedExporter:  # type: ignore[override]  # Scrapy's says Self
        if not holds(crawler.settings.get("OUTPUT_DIR")):
            return FeedExporter.from_crawler(crawler)  # shell, parse, check, Python code: write nothing of ours
        committer = super().from_crawler(crawler)
        crawler.signals.connect(committer.item_dropped, signals.item_dropped)
        return committer

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.output_dir = Path(settings.get("OUTPUT_DIR"))
        self.run_id: str = settings.get("RUN_ID")
        self.started = _now()
        self.seq = manifests.last_seq(self.output_dir)  # under the lock: nobody else adds one
        self.faults = points.FaultInjection(settings.get("FAULT_KILL_AT"))
        self.max_error_rate = settings.getfloat("RUN_MAX_ERROR_RATE")
        # Scrapy's own batch size, when a feed sets one, is a checkpoint too; the cut is ours.
        sizes = [settings.getint("CHECKPOINT_RECORDS")] + [o["batch_item_count"] for o in self.feeds.values()
                                                           if o["batch_item_count"]]
        self.checkpoint_records = min(s for s in sizes if s > 0)
        self.checkpoint_seconds = settings.getfloat("CHECKPOINT_SECONDS")
        self.wacz_enabled = settings.getbool("WACZ_ENABLED")
        self.job_directory: str | None = settings.get("JOBDIR")
        self.in_fleet = bool(settings.get("REDIS_URL"))
        for options in self.feeds.values():
            options["batch_item_count"] = 0
        self.sliceable = all(BATCH_PARAM_RE.search(uri) for uri in self.feeds)
        self.current: Slice | None = None
        self.committing: asyncio.Future | None = None
        self.ticker: asyncio.Task | None = None
        self.failure: str | None = None
        self.unclaimed_warcs: list[tuple[Path, str]] = []  # sealed, with their SHA-256, not yet listed
        self.exit_code: int | None = None
        self.reason: str | None = None

    # --- Scrapy's exporter, with the slice around it ----------------------------------------------

    def _start_new_batch(self, batch_id: int, uri: str, feed_options: dict[str, Any], spider: Spider,
                         uri_template: str) -> FeedSlot:
        slot = super()._start_new_batch(batch_id, uri, feed_options, spider, uri_template)
        slot.storage = TrackedStorage(slot.storage, uri)
        return slot

    def open_spider(self, spider: Spider) -> None:
        self.spider = spider
        super().open_spider(spider)
        self._open_slice(1, self.slots)
        if not self.sliceable:
            logger.info("Feed URIs without %%(batch_id)d: the run commits once, at its end")
        elif self.checkpoint_seconds > 0:
            self.ticker = asyncio.ensure_future(self._tick())

    def _open_slice(self, number: int, slots: list[FeedSlot]) -> None:
        self.current = Slice(number, slots)
        local = [_tracked(s).local_path for s in slots]
        files = [str(path.resolve()) for path in local if path is not None]
        try:
            state_store(self.crawler).open_slice(self.run_id, number, files)
        except Exception as error:  # without its files named, a killed run's slice could not be settled
            logger.error("Could not record slice %s in the state store: %s", number, error)
            self._fail_slice(f"recording the slice in the state store failed: {error}", error)

    def item_scraped(self, item: Any, spider: Spider) -> None:
        assert self.current is not None
        try:
            super().item_scraped(item, spider)
        except Exception as error:  # a full disk, a broken pipe: the slice cannot be committed
            logger.error("Could not write record %s to the feed: %s", getattr(item, "url", item), error)
            self._fail_slice(f"writing a record failed: {error}", error)
        self.current.emitted += 1
        self._stage(item, emitted=True)
        if self.sliceable and self.current.emitted >= self.checkpoint_records:
            self._cut(spider)

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        """An unchanged article still refreshes its validators and last_seen, with the slice."""
        if getattr(exception, "bucket", None) == UNCHANGED and self.current is not None:
            self._stage(item, emitted=False)

    def _stage(self, item: Any, emitted: bool) -> None:
        """The item's state row, with the current slice; a record the state cannot know is never
        committed (it would be emitted again as new)."""
        assert self.current is not None
        row = getattr(item, "state_row", None)
        if row is None:
            return
        try:
            state_store(self.crawler).stage(self.run_id, self.current.number, row, emitted=emitted)
        except Exception as error:
            logger.error("Could not stage %s in the state store: %s", getattr(item, "url", item), error)
            if emitted:
                self._fail_slice(f"staging a record in the state store failed: {error}", error)

    def _fail_slice(self, message: str, error: BaseException) -> None:
        assert self.current is not None
        self.current.error = self.current.error or message
        for slot in self.current.slots:
            _tracked(slot).mark_failed(error)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.checkpoint_seconds))
            current = self.current
            if (current is not None and current.emitted
                    and time.monotonic() - current.started_at >= self.checkpoint_seconds):
                self._cut(self.spider)

    def _cut(self, spider: Spider) -> None:
        """End the current slice: the next records go to new batches; the cut slice commits."""
        assert self.current is not None
        cut = self.current
        self.slots = [
            self._start_new_batch(
                batch_id=slot.batch_id + 1,
                uri=apply_uri_params(slot.uri_template, self._get_uri_params(
                    spider, self.feeds[slot.uri_template]["uri_params"], slot)),
                feed_options=self.feeds[slot.uri_template], spider=spider, uri_template=slot.uri_template)
            for slot in cut.slots]
        self._open_slice(cut.number + 1, self.slots)
        self.faults.reach(points.SLICE_CUT)
        self._chain(self._commit(cut, final=False))

    def _chain(self, commit: Any) -> asyncio.Future:
        """Commit slices one after another, in slice order."""
        previous = self.committing

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)  # its failure is its own
            await commit

        self.committing = asyncio.ensure_future(after_previous())
        return self.committing

    async def close_spider(self, spider: Spider, reason: str = "finished") -> None:
        self.reason = reason
        if self.ticker is not None:
            self.ticker.cancel()
        assert self.current is not None
        await self._chain(self._commit(self.current, final=True))
        await self.crawler.signals.send_catch_log_async(signals.feed_exporter_closed)

    # --- the commit of one slice -----------------------------------------------------------------

    async def _commit(self, cut: Slice, final: bool) -> None:
        """Commit a slice; whatever goes wrong, the slice is either committed or failed, the run
        learns it, and later slices still commit."""
        try:
            await self._commit_steps(cut, final)
        except Exception as error:
            logger.exception("Committing slice %s of run %s failed", cut.number, self.run_id)
            if not cut.committed:
                self._slice_failed(cut, f"committing failed: {error}")
            elif not final:  # the manifest is in place: the next run settles what is left
                self.failure = self.failure or f"finishing slice {cut.number} failed: {error}"
                self._stop()
            if final and self.exit_code is None:  # else the final manifest's, whatever failed after it
                self.exit_code = exitcodes.OUTPUT_FAILED

    async def _commit_steps(self, cut: Slice, final: bool) -> None:
        archive = self.crawler.get_downloader_middleware(WarcArchiveMiddleware)  # None: WARC_ENABLED off
        if archive is not None:
            sealed, warc_error = await archive.seal(final=final)
            for path in sealed:  # hashed as written, or read back off the reactor thread
                digest = archive.sha256.pop(path, None)
                if digest is None:
                    digest = await asyncio.to_thread(sha256_of, path)
                self.unclaimed_warcs.append((path, digest))
            if warc_error and not cut.error:
                cut.error = f"writing the WARC archive failed: {warc_error}"
        self.faults.reach(points.WARC_SEALED)
        if final and not cut.error and self.reason != "finished":
            replaced = [_tracked(s).uri for s in cut.slots if s.itemcount and _tracked(s).replaces]
            if replaced:  # -O: yesterday's complete file is not replaced by an interrupted run's
                cut.error = f"not replacing {', '.join(replaced)} after an interrupted run"
                cut.refused = True
        claims = self.crawler.get_extension(FleetClaims)  # None outside a fleet
        if claims is not None and cut.error is None:
            # The fence: every claim of the slice must still be this run's (a stalled worker's lapse
            # and another worker may have emitted the article), checked and bound in one step. From
            # here they outlive the worker: once its records files are in place, a killed run's
            # slice is committed by the next run's recovery.
            lost = claims.committing(cut.number)
            if lost:
                self.crawler.stats.inc_value("fleet/claims_lost", len(lost))
                logger.error("Slice %s lost %s of its claims to another worker (this worker stalled longer than "
                             "FLEET_CLAIM_SECONDS), e.g. %s", cut.number, len(lost), ", ".join(lost[:5]))
                cut.error = f"{len(lost)} of its records' claims were taken by another worker"
        entries = await self._store(cut) if cut.error is None else []
        if cut.error is not None:
            entries = []  # a slice that failed lists no records, even those one of its feeds stored
            for slot in cut.slots:
                _tracked(slot).discard()
        self.faults.reach(points.RECORDS_STORED)
        if final and cut.error is None and archive is not None and self.wacz_enabled:
            entries += await self._wacz(entries)
            self.faults.reach(points.WACZ_WRITTEN)
        if cut.error is not None:
            self._slice_failed(cut)
            if not final:
                return
        if cut.error is None and self.unclaimed_warcs and not self._stage_captures(cut):
            self._remove_archive_copy(entries)  # the slice failed: its records are emitted again
            entries = [entry for entry in entries if entry["kind"] != "records"]
            if not final:
                return
        manifest = self._manifest(cut, entries, final)
        self.faults.reach(points.MANIFEST_DUE)
        try:
            manifests.write(self.output_dir, manifest)
        except OSError as error:
            logger.error("Could not write the manifest of slice %s: %s", cut.number, error)
            self.seq -= 1
            self._remove_archive_copy(entries)
            self._slice_failed(cut, f"writing its manifest failed: {error}")
            if final:
                self.exit_code = exitcodes.OUTPUT_FAILED
            return
        listed_warcs = [manifests.relative_name(self.output_dir, path) for path, _ in self.unclaimed_warcs]
        self.unclaimed_warcs = []
        cut.committed = cut.error is None
        if final:  # the commit decided it: what fails from here is logged, never changes it
            self.exit_code = manifest["exit_code"]
        self.faults.reach(points.MANIFEST_WRITTEN)
        if cut.error is None:
            promoted = self._promote(cut, manifest["seq"], final)
            if claims is not None:
                claims.settled(cut.number)
            if promoted and archive is not None and not final:
                await self._forget_indexed(archive, listed_warcs)
        self.faults.reach(points.STATE_PROMOTED)
        if final:
            jobdir.end(self.job_directory, self.run_id, self.reason)
            self._log_verdict(manifest)
        else:
            logger.info("Committed slice %s of run %s: %s records (manifest seq %s)", cut.number, self.run_id,
                        cut.emitted, manifest["seq"])

    def _stage_captures(self, cut: Slice) -> bool:
        """The captures of the WARC files this manifest will list, from their (small) ``.cdxj``,
        staged with the slice: the capture index takes them when the slice is promoted. A failure
        fails the slice, as a row that could not be staged does."""
        try:
            captures = list(sealed_captures(self.output_dir, [path for path, _ in self.unclaimed_warcs]))
            state_store(self.crawler).stage_captures(self.run_id, cut.number, captures)
            return True
        except Exception as error:
            logger.error("Could not stage the captures of slice %s in the state store: %s", cut.number, error)
            self._slice_failed(cut, f"staging its captures failed: {error}")
            return False

    async def _forget_indexed(self, archive: WarcArchiveMiddleware, files: list[str]) -> None:
        """The captures of a promoted slice's WARC files leave the writer's memory (the index
        answers for them now): what a run holds stays flat however many pages it archives."""
        try:
            forgotten = await archive.forget_indexed(files)
        except Exception as error:  # they stay in memory: revisits are still right
            logger.warning("Could not hand slice captures over to the capture index (%s)", error)
            return
        logger.debug("%s captures of this run are asked of the capture index from now on", forgotten)

    def _promote(self, cut: Slice, seq: int, final: bool) -> bool:
        """The committed slice's rows into the state. A failure (a full disk) loses nothing: the
        manifest is in place and the next run's recovery promotes the slice from it. A run with
        slices left to commit stops (its storage is likely to fail again) and its final manifest
        says why; after the final manifest, the run's exit code is that manifest's."""
        try:
            state_store(self.crawler).promote(self.run_id, cut.number, seq)
            return True
        except Exception as error:
            logger.error("Slice %s of run %s is committed (manifest seq %s) but the state store could not take "
                         "it in (%s): the next run does", cut.number, self.run_id, seq, error)
            if not final:
                self.failure = self.failure or f"promoting slice {cut.number} failed: {error}"
                self._stop()
            return False

    async def _store(self, cut: Slice) -> list[dict[str, Any]]:
        """Store each feed's batch, the archive's copy last, once the state store holds what each
        batch is (recovery recognises a stored slice by those bytes alone, never by what they say).
        The first failure marks the slice and stores nothing more (what was stored stays, unlisted):
        an archive copy in place means every delivery of its slice was stored."""
        slots = sorted((slot for slot in cut.slots if slot.itemcount), key=_is_archive)
        if sum(slot.itemcount for slot in cut.slots) < cut.emitted * len(cut.slots):
            cut.error = "fewer records written than emitted"
            return []
        for slot in slots:
            slot.finish_exporting()
        entries = [_tracked(slot).entry("records" if _is_archive(slot) else "delivery", slot.itemcount, self.output_dir)
                   for slot in slots]
        try:
            state_store(self.crawler).record_stored(self.run_id, cut.number, entries)
        except Exception as error:  # unrecorded, a killed run's stored files could not be recognised
            logger.error("Could not record slice %s's files in the state store: %s", cut.number, error)
            cut.error = f"recording its files in the state store failed: {error}"
            return []
        for slot in slots:
            try:
                await ensure_awaitable(slot.storage.store(self._get_file(slot)))
            except Exception as error:
                uri = without_password(slot.uri)
                logger.error("Could not store %s (%s records): %s", uri, slot.itemcount, error)
                self.crawler.stats.inc_value(f"feedexport/failed_count/{type(_tracked(slot).inner).__name__}")
                cut.error = f"storing {uri} failed: {error}"
                return []
            self.crawler.stats.inc_value(f"feedexport/success_count/{type(_tracked(slot).inner).__name__}")
            await self.crawler.signals.send_catch_log_async(signals.feed_slot_closed, slot=slot)
        return entries

    async def _wacz(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The run's WACZ (crawler/archive/wacz.py), for the final manifest; none if it fails (the
        WARC files it would hold are listed all the same)."""
        try:
            entry = await asyncio.to_thread(build_run_wacz, self.output_dir, self.crawler.spidercls.name, self.run_id,
                                            entries, list(self.unclaimed_warcs))
            return [entry] if entry is not None else []
        except Exception as error:
            logger.error("Could not write the run's WACZ: %s", error)
            self.crawler.stats.inc_value("wacz/failed")
            return []

    def _remove_archive_copy(self, entries: list[dict[str, Any]]) -> None:
        """A slice whose manifest could not be written: the archive holds only committed records, so
        its own copy goes (its articles come again); deliveries stay, as the user's files."""
        for entry in entries:
            if entry["kind"] == "records":
                path = manifests.records_path(self.output_dir, entry)
                logger.warning("Removed %s: no manifest lists it", path)
                path.unlink(missing_ok=True)

    def _slice_failed(self, cut: Slice, error: str | None = None) -> None:
        cut.error = cut.error or error
        if not cut.refused:
            self.failure = self.failure or cut.error
        claims = self.crawler.get_extension(FleetClaims)  # None outside a fleet
        if claims is not None:
            claims.settled(cut.number)  # nobody emitted its records: others may
        try:
            state_store(self.crawler).discard(self.run_id, cut.number)
        except Exception:  # the next run discards it: no manifest names it
            logger.exception("Could not discard slice %s from the state store", cut.number)
        logger.error("Slice %s of run %s NOT committed (%s): its %s records will be emitted again by the next run",
                     cut.number, self.run_id, cut.error, cut.emitted)
        if not cut.refused:
            self._stop()

    def _stop(self) -> None:
        """Stop the run after a failed commit: its storage is likely to fail again."""
        if self.crawler.engine is not None and self.crawler.engine.running and self.reason is None:
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="output_failed"))

    def _manifest(self, cut: Slice, entries: list[dict[str, Any]], final: bool) -> dict[str, Any]:
        self.seq += 1
        files = entries + [manifests.warc_entry(self.output_dir, path, digest) for path, digest in self.unclaimed_warcs]
        return manifests.new(self.seq, self.run_id, cut.number, final=final,
                             site=getattr(self.crawler.spider, "site", None),
                             records=cut.emitted if cut.error is None else 0, files=files,
                             spider=self.crawler.spidercls.name, start=cut.started, end=_now(),
                             **(self._verdict() if final else {}))

    def _verdict(self) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        spider = self.crawler.spider
        run_counts = verdict.counts(stats)
        quality = summarize(stats)
        channels, since = getattr(spider, "channels", None), getattr(spider, "since", None)
        scope_channels = sorted(channels) if channels else None
        scope = {"channels": scope_channels, "since": str(since) if since else None}
        # Quality is compared with earlier complete, undrifted runs of this site over the same channels.
        site = getattr(spider, "site", None)
        baseline = baselines.drift_baseline_of(self.output_dir, state_store(self.crawler), site, scope_channels)
        drift = detect_drift(quality, baseline)
        for finding in drift:
            logger.error("Template drift: %s", finding)
        fleet_worker = self.in_fleet and getattr(spider, "fleet_role", "") == "worker"
        judged = verdict.judge(self.reason, run_counts, drift, self.failure is not None, self.max_error_rate,
                               limited_by_since=getattr(spider, "since", None) is not None
                               or bool(stats.get("discovery/paging_stopped_since")),
                               may_find_nothing=fleet_worker)
        accounts = self.crawler.get_extension(AccountingExtension)
        return {
            "run_start": self.started,
            "finish_reason": self.reason,
            "complete": judged.complete,
            "paged_to_end": judged.paged_to_end,
            "exit_code": judged.exit_code,
            "error": self.failure,
            "output_dir": str(self.output_dir),
            "scope": scope,
            "counts": run_counts,
            "accounting": verdict.accounting(stats),
            "broken_links": list(getattr(accounts, "broken_links", [])),
            "missing_articles": list(getattr(accounts, "missing_articles", [])),
            "broken_links_omitted": getattr(accounts, "broken_links_omitted", 0),
            "missing_articles_omitted": getattr(accounts, "missing_articles_omitted", 0),
            "quality": quality,
            "drift": drift,
            "versions": verdict.versions(),
            "argv": command_line(),
        }

    def _log_verdict(self, manifest: dict[str, Any]) -> None:
        counts = manifest["counts"]
        log = logger.info if manifest["exit_code"] == exitcodes.COMPLETE else logger.error
        assert self.crawler.stats is not None
        host = self.crawler.stats.get_value(STATS_UNREACHABLE_HOST)
        if manifest["exit_code"] == exitcodes.FETCHED_NOTHING and host:
            # The one line an unreachable site gets on stderr; the summary stays in the log file.
            logger.error("cannot reach %s: %s (exit %s)", host, self.crawler.stats.get_value(STATS_UNREACHABLE_REASON),
                         manifest["exit_code"])
            log = logger.info
        log("Run %s %s (exit code %s, finish reason %s): %s new, %s modified, %s deleted, %s unchanged; "
            "%s of %s attempts failed, %s broken links", self.run_id,
            "complete" if manifest["complete"] else "INCOMPLETE", manifest["exit_code"], self.reason,
            counts["new"], counts["modified"], counts["deleted"], counts["unchanged"], counts["failed"],
            counts["attempted"], counts["broken_links"])  # an error, so on stderr, when the run failed
