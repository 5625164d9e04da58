"""The site family registry (crawler/rules/sites.json): which host ``-a site=`` names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Site:
    host: str
    short: str
    name: str
    level: str  # "province" or "city"
    evidence: str


@cache
def registry() -> tuple[Site, ...]:
    """Every site of the family, as listed in sites.json."""
    data = json.loads(resources.files("crawler.rules").joinpath("sites.json").read_text("utf-8"))
    return tuple(Site(**entry) for entry in data["sites"])


def find_site(value: str) -> Site:
    """The registered site a host or short name (``chengdu``, ``www.chengdupeace.gov.cn``) names."""
    wanted = value.strip().lower()
    for site in registry():
        if wanted in (site.host, site.short, site.host.removeprefix("www.")):
            return site
    known = ", ".join(s.short for s in registry())
    raise ValueError(f"site must be a registered host or short name ({known}), got {value!r}")
