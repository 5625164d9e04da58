"""Loading the saved fixture cases (tests/fixtures/<case>/ page + meta.json + expected.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
REAL_BASE = "https://www.sichuanpeace.gov.cn"


@dataclass(frozen=True)
class Case:
    name: str
    meta: dict[str, Any]
    expected: dict[str, Any]
    body: bytes

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def url(self) -> str:
        return REAL_BASE + self.meta["path"]

    @property
    def content_type(self) -> str | None:
        return self.meta.get("headers", {}).get("Content-Type")


def load_cases(kind: str | None = None) -> list[Case]:
    """Every fixture case (of one kind), sorted by name."""
    cases = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        expected_file = folder / "expected.json"
        expected = json.loads(expected_file.read_text("utf-8")) if expected_file.exists() else {}
        case = Case(folder.name, meta, expected, (folder / meta.get("file", "page.html")).read_bytes())
        if kind is None or case.kind == kind:
            cases.append(case)
    return cases
