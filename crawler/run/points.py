"""The named points of a slice's commit, in order, and the fault injection tests use at each.

``-s FAULT_KILL_AT=<point>`` (optionally ``<point>:<n>``, the n-th time it is reached) makes the
process SIGKILL itself there: tests kill a run at every point and check that the next run leaves
each article in exactly one committed manifest.
"""

from __future__ import annotations

import logging
import os
import signal

logger = logging.getLogger(__name__)

# The commit of one slice, step by step.
SLICE_CUT = "slice_cut"                # new records go to the next slice's files from here on
WARC_SEALED = "warc_sealed"            # the slice's WARC files closed, fsynced, renamed, indexed
RECORDS_STORED = "records_stored"      # their size and SHA-256 recorded, then fsynced and renamed (or uploaded)
WACZ_WRITTEN = "wacz_written"          # the final slice only: the run's WACZ renamed into wacz/
MANIFEST_DUE = "manifest_due"          # all but the manifest done: the state must not know the slice yet
MANIFEST_WRITTEN = "manifest_written"  # runs/<seq>-<run id>.json in place: the commit point
STATE_PROMOTED = "state_promoted"      # the state store knows the slice's articles

POINTS = (SLICE_CUT, WARC_SEALED, RECORDS_STORED, WACZ_WRITTEN, MANIFEST_DUE, MANIFEST_WRITTEN, STATE_PROMOTED)


class FaultInjection:
    """Kill the process at a named point (FAULT_KILL_AT); nothing when the setting is empty."""

    def __init__(self, spec: str | None):
        self.point, self.nth = None, 1
        if spec:
            point, _, nth = spec.partition(":")
            if point not in POINTS:
                raise ValueError(f"FAULT_KILL_AT must be one of {', '.join(POINTS)} (optionally :n), got {spec!r}")
            self.point, self.nth = point, int(nth or 1)
        self.reached = 0

    def reach(self, point: str) -> None:
        if point != self.point:
            return
        self.reached += 1
        if self.reached == self.nth:
            logger.warning("FAULT_KILL_AT: killing the process at %s (#%s)", point, self.nth)
            os.kill(os.getpid(), signal.SIGKILL)
