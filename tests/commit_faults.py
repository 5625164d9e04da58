"""An extension that makes one manifest write fail, as a full disk would: MANIFEST_FAULT=<n> fails
the n-th ``crawler.run.manifests.write`` of the process with ENOSPC, before anything is written."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

from crawler.run import manifests


class FailManifestWrite:
    def __init__(self) -> None:
        original = manifests.write
        calls = {"n": 0}

        def failing(output_dir: Path, manifest: dict[str, Any]) -> Path:
            calls["n"] += 1
            if calls["n"] == int(os.environ["MANIFEST_FAULT"]):
                raise OSError(errno.ENOSPC, "No space left on device")
            return original(output_dir, manifest)

        manifests.write = failing

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FailManifestWrite:
        return cls()
