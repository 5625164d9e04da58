"""The drift baseline's index: what a run's verdict compares its quality with, asked of the state
store in one query instead of read back from up to ``LOOKBACK_MANIFESTS`` final manifests.

The baseline (``crawler.quality.drift_baseline``) is the newest few complete, undrifted runs of a
site and scope; most cron runs of an archive are reruns with a handful of new articles that do not
qualify, so reading manifests back to find them cost hundreds of reads at each run's end whatever
the run did. The state store keeps one row per run that qualifies (``quality.may_be_baseline``),
folded in from the manifests it has not read yet (the last run's few, and this run's own slices)
when the verdict asks. The index says which manifest it is up to (``seq`` and run id): checked
against the names in ``runs/``, and rebuilt from the newest manifests when that manifest is not
there (a store copied from another folder, manifests removed). A store that cannot write (a
read-only one) or has no index (the fleet's Redis) is answered from the manifests, as before.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..quality import BASELINE_RUNS, drift_baseline, may_be_baseline
from . import manifests

logger = logging.getLogger(__name__)


def drift_baseline_of(output_dir: Path, store: Any, site: str | None, channels: list[str] | None,
                      listed: manifests.Listing | None = None) -> list[dict[str, Any]]:
    """``quality.drift_baseline`` for ``site`` and ``channels``: from the store's index once it
    holds every manifest in ``runs/``, else from the final manifests."""
    if not getattr(store, "readonly", True) and hasattr(store, "baselines_at"):
        try:
            if catch_up(output_dir, store, listed or manifests.listing(output_dir)):
                return store.baselines(site, json.dumps(channels), BASELINE_RUNS)[::-1]
        except Exception as error:  # the verdict is never lost to its index: the manifests answer
            logger.warning("The state store's drift baseline index cannot be used (%s): reading the manifests", error)
    return drift_baseline(manifests.final_manifests(output_dir, site), site, channels)


def catch_up(output_dir: Path, store: Any, listed: manifests.Listing) -> bool:
    """Fold the manifests after the index's into it (never built, or its manifest is not in
    ``runs/``: the newest ``LOOKBACK_MANIFESTS``, in place of what it held). False when a manifest
    to fold cannot be read: the caller reads the manifests instead."""
    refs = listed.refs
    if not refs:
        return True
    at = store.baselines_at
    # The index's manifest, looked for from the newest back (it is the previous run's, in general).
    held = None if at is None else next((ref for ref in reversed(refs) if ref.seq <= at[0]), None)
    anchored = held is not None and (held.seq, held.run_id) == at
    if anchored and at[0] >= refs[-1].seq:
        return True
    if at is not None and not anchored:
        logger.warning("The state store's drift baseline index is up to manifest %s of run %s, which is not in %s: "
                       "rebuilding it from the newest manifests", at[0], at[1], listed.folder)
    todo = [ref for ref in refs if ref.seq > at[0]] if anchored else refs[-manifests.LOOKBACK_MANIFESTS:]
    rows = []
    for ref in todo:
        try:
            manifest = ref.read()
        except manifests.DamagedManifest as error:
            logger.warning("%s: the drift baseline is read from the manifests", error)
            return False
        if may_be_baseline(manifest):
            rows.append((ref.seq, manifest.get("site"), json.dumps((manifest.get("scope") or {}).get("channels")),
                         json.dumps(manifest["quality"])))
    store.index_baselines(rows, (refs[-1].seq, refs[-1].run_id), reset=not anchored)
    return True

