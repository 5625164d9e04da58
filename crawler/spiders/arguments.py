"""The spider's arguments (``-a name=value``), checked as a whole before the spider does anything.

Every value is a string from the command line. A name the spider does not know (``-a chanels=``)
and an empty value (``-a channels=``) are errors, never "all channels" or "the live site": an
unattended crawl must not quietly do something else than what its operator typed. Names starting
with ``_`` are left alone: they come from job runners, not from a person (scrapyd adds
``-a _job=<id>`` to every job); Scrapy itself passes no argument of its own to a spider.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..fleet import ROLE_SEED, ROLE_WORKER
from ..rules.sites import Site, find_site

DEFAULT_BASE_URL = "https://www.sichuanpeace.gov.cn/"
DEFAULT_RECHECK_DAYS = 7
# About a hundred years: beyond it, "re-fetch everything" is meant, and that is ``recheck=all``.
# (Unbounded, a large number crashed the run after it had started: the recheck horizon, now minus
# that many days, falls before year 1 or overflows timedelta.)
MAX_RECHECK_DAYS = 36_500
# A host name (letters, digits, "-", "_", dots between labels) or an IPv4 address; IPv6 is checked apart.
# The host becomes the records' and the state's ``site`` when no registered site is named, and the
# site names files (METRICS_FILE's %(site)s): nothing else may pass.
HOST_NAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                          r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")
CHANNEL_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
DAYS_RE = re.compile(r"^[0-9]+$")

# The arguments a person may give, each with what it takes (for the error listing them).
KNOWN_ARGUMENTS: dict[str, str] = {
    "base_url": "a mirror's root URL, e.g. http://127.0.0.1:8000/",
    "channels": "channel folders, e.g. scyw,szdt",
    "fleet": "seed or worker (with REDIS_URL)",
    "recheck": f"days, 0 to {MAX_RECHECK_DAYS}, or all",
    "since": "a date, e.g. 2024-01-01",
    "site": "a registered site, e.g. chengdu",
}
# Prefix of arguments that job runners add themselves (scrapyd: _job).
RUNNER_PREFIX = "_"


def parse_base_url(value: str | None) -> str:
    """The crawl's root URL (scheme, host, port), or ValueError for anything but http(s)."""
    parts = urlsplit(_given("base_url", value) or DEFAULT_BASE_URL)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _is_host(parts.hostname):
        raise ValueError(f"base_url must be an http(s) URL with a host, got {value!r}")
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"base_url's port must be a number from 1 to 65535, got {value!r}")
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def _is_host(host: str) -> bool:
    """A host name or IP address (urlsplit gives it lowercased, IPv6 without brackets)."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return bool(HOST_NAME_RE.match(host))


def parse_channels(value: str | None) -> frozenset[str] | None:
    """Channel slugs from ``scyw,szdt``, or None (not given) for all channels."""
    text = _given("channels", value)
    if text is None:
        return None
    slugs = frozenset(s.strip().lower() for s in text.split(",") if s.strip())
    bad = sorted(s for s in slugs if not CHANNEL_SLUG_RE.match(s))
    if bad or not slugs:
        raise ValueError(f"channels must be comma-separated channel folders like scyw,szdt, got {value!r}")
    return slugs


def parse_recheck(value: str | None) -> int | None:
    """Days back to re-fetch known articles: 0 to MAX_RECHECK_DAYS, ``all`` (None: every one); default 7."""
    text = _given("recheck", value)
    if text is None:
        return DEFAULT_RECHECK_DAYS
    if text.lower() == "all":
        return None
    if not DAYS_RE.match(text):
        raise ValueError(f"recheck must be a number of days or 'all', got {value!r}")
    days = int(text)
    if days > MAX_RECHECK_DAYS:
        raise ValueError(f"recheck must be at most {MAX_RECHECK_DAYS} days (say recheck=all to re-fetch "
                         f"every known article), got {value!r}")
    return days


def parse_fleet_role(value: str | None) -> str:
    """``seed`` (start a round) or ``worker`` (the default): only used with REDIS_URL."""
    role = (_given("fleet", value) or ROLE_WORKER).lower()
    if role not in (ROLE_SEED, ROLE_WORKER):
        raise ValueError(f"fleet must be 'seed' or 'worker', got {value!r}")
    return role


def parse_since(value: str | None) -> date | None:
    """The ``since`` date (YYYY-MM-DD), or None (not given)."""
    text = _given("since", value)
    if text is None:
        return None
    try:
        # YYYY-MM-DD only, on every Python: from 3.11 on date.fromisoformat also takes 20240131,
        # 2024-W05-3 …, which 3.10 refuses.
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"since must be a date like 2024-01-31, got {value!r}") from None


def _given(name: str, value: str | None) -> str | None:
    """The stripped value, None when the argument was not given; an empty value is an error."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name} must not be empty: give -a {name}=<{KNOWN_ARGUMENTS[name]}>, "
                         f"or leave -a {name} out for the default")
    return text


def parse_site(value: str | None) -> Site | None:
    """The registered site ``-a site=`` names (short name or host), or None (not given)."""
    text = _given("site", value)
    return find_site(text) if text is not None else None


def check_names(kwargs: Mapping[str, Any]) -> None:
    """ValueError naming any argument the spider does not know, with the known ones."""
    unknown = sorted(n for n in kwargs if n not in KNOWN_ARGUMENTS and not n.startswith(RUNNER_PREFIX))
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, KNOWN_ARGUMENTS, n=1)
        hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
    known = "; ".join(f"{n}: {what}" for n, what in KNOWN_ARGUMENTS.items())
    raise ValueError(f"unknown spider argument{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
                     f"the known ones are {known}")


@dataclass(frozen=True)
class SpiderArguments:
    """The spider's arguments, checked; ``runner`` holds the job runner's own (``_job``...)."""

    base_url: str
    crawl_host: str  # the host links are followed on: the site's, or its mirror's
    site: str  # what records and the state say: the registered site, else the crawled host
    channels: frozenset[str] | None
    since: date | None
    recheck_days: int | None
    fleet_role: str
    runner: Mapping[str, Any]

    @classmethod
    def errors(cls, kwargs: Mapping[str, Any]) -> list[str]:
        """Every problem with these arguments (unknown names, then each bad value); [] if none."""
        found = []
        try:
            check_names(kwargs)
        except ValueError as error:
            found.append(str(error))
        for name, parser in VALUE_PARSERS.items():
            try:
                parser(kwargs.get(name))
            except ValueError as error:
                found.append(str(error))
        return found

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any]) -> SpiderArguments:
        """Check every argument (names first, then values); ValueError names the bad one."""
        check_names(kwargs)
        registered = parse_site(kwargs.get("site"))
        base_url = parse_base_url(kwargs.get("base_url"))
        if kwargs.get("base_url") is None and registered is not None:
            base_url = f"https://{registered.host}/"
        crawl_host = urlsplit(base_url).hostname or ""
        return cls(
            base_url=base_url,
            crawl_host=crawl_host,
            site=registered.host if registered else crawl_host,
            channels=parse_channels(kwargs.get("channels")),
            since=parse_since(kwargs.get("since")),
            recheck_days=parse_recheck(kwargs.get("recheck")),
            fleet_role=parse_fleet_role(kwargs.get("fleet")),
            runner={n: v for n, v in kwargs.items() if n.startswith(RUNNER_PREFIX)},
        )


# Each argument's parser (ValueError naming the argument for a bad value).
VALUE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "base_url": parse_base_url, "channels": parse_channels, "fleet": parse_fleet_role,
    "recheck": parse_recheck, "since": parse_since, "site": parse_site,
}


def fleet_errors(kwargs: Mapping[str, Any], redis_url: str | None) -> list[str]:
    """``-a fleet=`` without REDIS_URL: there is no fleet to seed or work for, so the run would do
    something else than what was asked (a plain crawl, or nothing)."""
    if kwargs.get("fleet") is None or redis_url:
        return []
    return [f"fleet={str(kwargs['fleet']).strip()} needs a fleet's Redis: give -s REDIS_URL=redis://host:6379/0, "
            "or leave -a fleet out for a crawl of its own"]


def spider_argument_errors(spidercls: type, kwargs: Mapping[str, Any]) -> list[str]:
    """What the spider class says is wrong with these arguments (its ``argument_errors``), for
    commands that refuse bad arguments before they start anything; [] for a spider without it."""
    check = getattr(spidercls, "argument_errors", None)
    return list(check(kwargs)) if check is not None else []
