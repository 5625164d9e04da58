"""The operator's contact (``CONTACT``): in the User-Agent, and a warning when the live site is crawled without it.

A government site that sees a crawler it dislikes blocks it, unless it can write to someone first;
the project's default User-Agent names the project, not whoever runs it. ``-s CONTACT=...`` (an
e-mail address or URL) is added to the User-Agent by the add-on :class:`OperatorContact`; a
USER_AGENT the operator set themselves (``-s USER_AGENT=``, a spider's settings) is left as given.
:class:`ContactWarning` logs one warning per run that crawls a registered site of the family
without a contact (a mirror on 127.0.0.1 needs none).
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES, Settings

from ..rules.sites import find_site
from ..run.lock import holds

logger = logging.getLogger(__name__)


def user_agent(base: str, contact: str) -> str:
    """``base`` with the contact added: inside its closing comment parenthesis, else as one."""
    if base.endswith(")"):
        return f"{base[:-1]}; contact: {contact})"
    return f"{base} (contact: {contact})"


def is_live_host(host: str) -> bool:
    """Whether ``host`` is a registered site of the family (crawler/rules/sites.json), not a mirror."""
    try:
        find_site(host)
    except ValueError:
        return False
    return True


def contact_missing(contact: str | None, crawl_host: str) -> bool:
    """Whether this crawl should warn: the live site, and no CONTACT (``contact``)."""
    return is_live_host(crawl_host) and not str(contact or "").strip()


class OperatorContact:
    """Add-on: the User-Agent carries CONTACT, unless the operator set USER_AGENT themselves."""

    def update_settings(self, settings: Settings) -> None:
        contact = str(settings.get("CONTACT") or "").strip()
        # Above "project" priority USER_AGENT was given by the operator (-s, a spider's settings): theirs.
        if contact and (settings.getpriority("USER_AGENT") or 0) <= SETTINGS_PRIORITIES["project"]:
            settings.set("USER_AGENT", user_agent(settings.get("USER_AGENT"), contact), priority="project")


class ContactWarning:
    """Extension: one warning when ``scrapy crawl`` reads the live site without a CONTACT."""

    def __init__(self, contact: str | None):
        self.contact = contact  # CONTACT

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ContactWarning:
        if not holds(crawler.settings.get("OUTPUT_DIR")):
            raise NotConfigured  # scrapy shell, parse, check: a look at a page, not a run
        extension = cls(crawler.settings.get("CONTACT"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        host = getattr(spider, "crawl_host", "")
        if contact_missing(self.contact, host):
            logger.warning("Crawling %s without a contact: set -s CONTACT=<your e-mail or URL> so that the "
                           "site can reach whoever runs this crawler (it goes into the User-Agent)", host)
