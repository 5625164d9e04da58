"""The capture index: per URL, the newest full response the archive holds, looked up one URL at a
time by the revisits (``crawler.downloadermiddlewares.warc``) and the requisites
(``crawler.pipelines.requisites``). No run reads the archive's whole CDXJ history.

The index lives in the state store (``captures``), beside the articles, and is kept as they are:

- a slice's captures are read from the ``.cdxj`` files it sealed (small: the slice's own), staged
  with the slice before its manifest is written, and promoted with the slice under the manifest's
  ``seq`` (``stage_captures``, ``promote``);
- before a crawl, under the lock, the manifests the index does not hold yet (all of them when it
  was never built: an older crawler's store, a rebuilt one; a few when a slice's promotion was lost)
  are folded in from their CDXJ files, each verified against its manifest's size and SHA-256
  (``manifests.read_range``), in commit order (``catch_up``).

Newest is by commit, never by clock: the manifest's ``seq``, then the WARC file's place among the
files it lists, then the record's offset. Only full responses are indexed (status 2xx, a payload
digest, not a revisit); a capture is used only once its record is read back from its WARC file as a
response for the URL (``crawler.archive.warc.StoredCaptures.newest``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..run import manifests
from . import IndexedCapture

logger = logging.getLogger(__name__)


def parse_line(line: str, file: str, seq: int, rank: int) -> IndexedCapture | None:
    """An index line's capture, if it is one a revisit or a requisite may use (a full 2xx response)."""
    try:
        _, _, data = line.split(" ", 2)
        entry = json.loads(data)
        status, offset = int(entry.get("status", 0)), int(entry["offset"])
        url = entry["url"]
    except (ValueError, KeyError, TypeError):
        return None
    digest = entry.get("digest")
    if entry.get("mime") == "warc/revisit" or not 200 <= status < 300 or not digest:
        return None
    return IndexedCapture(url, seq, rank, file, offset, digest if ":" in digest else "sha1:" + digest, status,
                          str(entry.get("mime") or ""))


def captures_in(lines: Iterable[str], file: str, seq: int, rank: int) -> Iterator[IndexedCapture]:
    for line in lines:
        capture = parse_line(line, file, seq, rank)
        if capture is not None:
            yield capture


def sealed_captures(output_dir: Path, sealed: list[Path]) -> Iterator[IndexedCapture]:
    """The captures of a slice's sealed files (``.warc.gz`` and ``.cdxj``, as the commit lists
    them), ranked as the manifest will list the WARC files; ``seq`` is set when promoted."""
    warcs = [path for path in sealed if manifests.warc_entry_kind(path) == "warc"]
    for rank, path in enumerate(warcs):
        index = path.with_name(path.name + ".cdxj")
        try:
            text = index.read_text("utf-8")
        except OSError:
            continue  # an index never written: its captures are not referred to
        yield from captures_in(text.splitlines(), manifests.relative_name(output_dir, path), 0, rank)


def manifest_captures(output_dir: Path, manifest: dict[str, Any], seq: int,
                      first_rank: int = 0) -> Iterator[IndexedCapture]:
    """The captures of the WARC files a committed manifest lists, from their ``.cdxj``, each read
    verified against the manifest's entry for it (a 0.1.0 manifest lists none: read as it is). An
    index that cannot be read as committed is left out, with a warning: its captures are not used."""
    files = manifest.get("files", [])
    indexes = {entry.get("file"): entry for entry in files if entry.get("kind") == "cdxj"}
    warcs = [entry["file"] for entry in files if entry.get("kind") == "warc" and entry.get("file")]
    for rank, name in enumerate(warcs, start=first_rank):
        entry = indexes.get(name + ".cdxj") or {"file": name + ".cdxj"}
        try:
            data = manifests.read_range(output_dir, entry)
        except manifests.UnreadableRecords as error:
            logger.warning("The index of %s cannot be read as committed (%s): its captures are not referred to",
                           name, error)
            continue
        yield from captures_in(data.decode("utf-8", "replace").splitlines(), name, seq, rank)


def catch_up(output_dir: Path, store: Any, refs: list[manifests.ManifestRef] | None = None) -> int:
    """Fold into the store's capture index the manifests it does not hold yet, in commit order:
    all of them when it was never built, else those after ``captures_seq``. Returns how many
    manifests were read (none on an index that is up to date). ``refs``: ``runs/`` as the caller
    listed it."""
    known = store.captures_seq
    refs = manifests.committed(output_dir) if refs is None else refs
    newest = refs[-1].seq if refs else 0
    if known is not None and known >= newest:
        return 0
    read = 0
    if known is None:
        rank = 0
        for path in manifests.legacy(output_dir):  # 0.1.0's runs, before every seq
            try:
                manifest = manifests.ManifestRef(0, "", path).read()
            except manifests.DamagedManifest as error:
                logger.warning("%s: its captures are not indexed", error)
                continue
            captures = list(manifest_captures(output_dir, manifest, 0, rank))
            rank += sum(1 for entry in manifest.get("files", []) if entry.get("kind") == "warc")
            store.index_captures(captures, None)
            read += 1
        logger.info("Building the capture index of %s from the manifests' CDXJ files", output_dir)
    for ref in refs:
        if known is not None and ref.seq <= known:
            continue
        try:
            manifest = ref.read()
        except manifests.DamagedManifest as error:  # scrapy verify reports it; its captures are not used
            logger.warning("%s: its captures are not indexed", error)
            manifest = {"files": []}
        store.index_captures(manifest_captures(output_dir, manifest, ref.seq), ref.seq)
        read += 1
    if known is None and not refs:
        store.index_captures((), 0)
    return read
