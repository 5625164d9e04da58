"""Politeness for the host a run crawls: the live site's delay and AutoThrottle, none for a local mirror.

The 2 s delay and AutoThrottle (crawler/settings.py) protect a government site; a mirror on the
operator's own machine (``-a base_url=http://127.0.0.1:8000/``) needs neither: 21 articles took
111 s with them and 6 s without. So for a loopback host (127.0.0.0/8, ::1, ``localhost``) both are
off, unless they were given at a higher priority than the project's (``-s DOWNLOAD_DELAY=1``,
``custom_settings``): what the operator typed wins. Decided here, once, for the spider (where its
arguments are read, before Scrapy freezes the settings) and for the crawl command's preflight.
"""

from __future__ import annotations

import ipaddress
import logging

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

logger = logging.getLogger(__name__)

# The settings a loopback host turns off, and the value each takes.
RELAXED = {"DOWNLOAD_DELAY": 0.0, "AUTOTHROTTLE_ENABLED": False}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as urlsplit gives it: lowercased, IPv6 without brackets) is this machine."""
    host = host.lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):  # RFC 6761: *.localhost is loopback
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def relax_for_local_mirror(settings: BaseSettings, host: str, log: bool = True) -> list[str]:
    """For a loopback ``host``, turn off the delay and AutoThrottle where only the project's defaults
    set them; the names turned off (logged in one INFO line when ``log``), [] for any other host."""
    if not is_loopback(host) or settings.frozen:  # frozen: a crawler built whole already (tests, scripts)
        return []
    relaxed = [name for name, value in RELAXED.items()
               if (settings.getpriority(name) or 0) <= SETTINGS_PRIORITIES["project"] and settings.get(name) != value]
    for name in relaxed:
        settings.set(name, RELAXED[name], priority="project")
    if relaxed and log:
        logger.info("Local mirror %s: %s off (politeness is for the live site; -s DOWNLOAD_DELAY=2 "
                    "-s AUTOTHROTTLE_ENABLED=True keep it)", host,
                    " and ".join("the politeness delay" if n == "DOWNLOAD_DELAY" else "AutoThrottle" for n in relaxed))
    return relaxed
