"""The run's figures for Prometheus: a node_exporter textfile, rewritten at the end of each run.

``scrapy crawl`` calls :func:`write_run_metrics` once its exit code is final (the process exits
with it), so a crash, a full disk or an interrupted run is reported as well as a complete one.
``METRICS_FILE`` names the file (``%(output_dir)s`` and ``%(site)s`` are filled in; default
``OUTPUT_DIR/metrics/<site>.prom``); point it into node_exporter's ``--collector.textfile.directory``.
One file per site, each series labelled ``site``: sister sites crawled into one OUTPUT_DIR do not
overwrite each other. prometheus-client writes it atomically (a temporary file, renamed).

The last successful run's time is read from the manifests, not from the previous metrics file:
the manifests are the committed record of every run (the final one holds its exit code and end),
so the figure survives a metrics file that was deleted, moved to another ``METRICS_FILE``, lost
with a tmpfs, or never written because a run was killed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from .. import exitcodes
from ..accounting import FAILURE_BUCKETS
from . import manifests
from .lock import holds

logger = logging.getLogger(__name__)

PREFIX = "sichuanpeace_crawl_"
# Records by the status the run gave them, as the final manifest's ``counts`` names them.
RECORD_STATUSES = ("new", "modified", "deleted", "restored", "unchanged")


def metrics_path(template: str, output_dir: str | Path, site: str) -> Path:
    """The metrics file of ``site``: ``METRICS_FILE`` with its parameters filled in."""
    return Path(template % {"output_dir": str(output_dir).rstrip("/"), "site": site})


def template_error(template: Any) -> str | None:
    """What is wrong with a METRICS_FILE value, or None (settings_check's rule)."""
    if template is None or not str(template).strip():
        return "must not be empty"
    try:
        path = metrics_path(str(template), "/out", "site")
    except (KeyError, ValueError, TypeError) as error:
        return f"may only use %(output_dir)s and %(site)s, got {template!r} ({error})"
    return None if path.name else f"must name a file, got {template!r}"


def _timestamp(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def last_success(output_dir: Path, site: str, listed: manifests.Listing | None = None) -> float | None:
    """When the site's newest successful run (exit code 0) ended, from its final manifest; None if never."""
    for manifest in manifests.final_manifests(output_dir, site, listed=listed):
        if manifest.get("exit_code") == exitcodes.COMPLETE and not manifest.get("recovered"):
            return _timestamp(manifest.get("end"))
    return None


def final_manifest(output_dir: Path, run_id: str, listed: manifests.Listing | None = None) -> dict[str, Any] | None:
    """The run's final manifest, or None (it died before one, or its commit failed)."""
    return next((m for m in reversed(manifests.slices_of(output_dir, run_id, listed)) if m.get("final")), None)


def registry_for_run(site: str, run_id: str, exit_code: int, end: float, duration: float,
                     manifest: dict[str, Any] | None, succeeded_at: float | None) -> CollectorRegistry:
    """The run's metrics; those only a final manifest knows are left out when there is none."""
    registry = CollectorRegistry()

    def gauge(name: str, text: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        metric = Gauge(PREFIX + name, text, ["site", *labels], registry=registry)
        metric.labels(site=site, **labels).set(value)

    def gauges(name: str, text: str, label: str, values: dict[str, float]) -> None:
        metric = Gauge(PREFIX + name, text, ["site", label], registry=registry)
        for key, value in values.items():
            metric.labels(site=site, **{label: key}).set(value)

    gauge("last_run_end_timestamp_seconds", "When the last run ended (Unix time).", end)
    gauge("last_run_exit_code", "Exit code of the last run (crawler/exitcodes.py; 0 complete).", exit_code)
    gauge("last_run_duration_seconds", "How long the last run took, from its start to its metrics.", duration)
    gauge("last_success_timestamp_seconds", "When the last run that exited 0 ended (Unix time).", succeeded_at)
    info = Gauge(PREFIX + "last_run_info", "The last run's id (value always 1).", ["site", "run_id"], registry=registry)
    info.labels(site=site, run_id=run_id).set(1)
    if manifest is None:
        return registry
    counts = manifest.get("counts") or {}
    buckets = (manifest.get("accounting") or {}).get("buckets") or {}
    gauge("last_run_complete", "1 if the last run read every list page its scope needed.",
          int(bool(manifest.get("complete"))))
    gauges("last_run_records", "Articles of the last run by status (unchanged: not emitted).", "status",
           {status: counts.get(status, 0) for status in RECORD_STATUSES})
    gauges("last_run_failures", "Failed attempts of the last run by accounting bucket.", "bucket",
           {bucket: buckets.get(bucket, 0) for bucket in FAILURE_BUCKETS})
    gauge("last_run_attempts", "URLs the last run attempted.", counts.get("attempted", 0))
    gauge("last_run_error_rate", "Failed attempts over attempted URLs in the last run.", counts.get("error_rate", 0))
    gauge("last_run_pages_fetched", "Responses the last run received.", counts.get("pages_fetched", 0))
    gauge("last_run_drift", "Template drift findings of the last run (0: none; see crawler/quality.py).",
          len(manifest.get("drift") or []))
    quality = manifest.get("quality") or {}
    gauge("last_run_fallback_share", "Share of the last run's articles read by the generic extraction.",
          quality.get("fallback_share"))
    return registry


def write_run_metrics(template: str, output_dir: Path, site: str, run_id: str, exit_code: int,
                      end: float, duration: float) -> Path | None:
    """Write the run's metrics file; only the process holding the OUTPUT_DIR lock does. A failure
    is logged: the run's records are committed whatever becomes of its metrics."""
    if not holds(output_dir):
        return None
    path = metrics_path(template, output_dir, site)
    try:
        listed = manifests.listing(output_dir)  # once for both look-backs
        registry = registry_for_run(site, run_id, exit_code, end, duration, final_manifest(output_dir, run_id, listed),
                                    last_success(output_dir, site, listed))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
    except Exception as error:
        logger.error("Could not write the run's metrics to %s: %s", path, error)
        return None
    return path
