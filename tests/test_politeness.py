"""A local mirror is crawled at full speed; the live site keeps its delay; what the operator gives wins."""

from __future__ import annotations

import time

import pytest
from scrapy.crawler import Crawler
from scrapy.settings import Settings

from crawler.run.politeness import is_loopback
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import crawl


def _settings_after_spider(base_url: str, **cmdline: object) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    crawler = Crawler(SichuanpeaceSpider, settings)
    SichuanpeaceSpider.from_crawler(crawler, base_url=base_url)
    return crawler.settings


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True), ("mirror.localhost", True),
    ("www.sichuanpeace.gov.cn", False), ("192.168.1.10", False), ("10.0.0.1", False), ("localhost.example", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000/", "http://[::1]:8000/", "http://localhost:8000/"])
def test_local_mirror_has_no_delay_nor_autothrottle(base_url):
    settings = _settings_after_spider(base_url)
    assert settings.getfloat("DOWNLOAD_DELAY") == 0
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is False


@pytest.mark.parametrize("base_url", [None, "https://www.sichuanpeace.gov.cn/", "http://192.168.1.10:8000/"])
def test_other_hosts_keep_the_polite_defaults(base_url):
    settings = _settings_after_spider(base_url) if base_url else _settings_after_spider("https://www.sichuanpeace.gov.cn/")
    assert settings.getfloat("DOWNLOAD_DELAY") == 2.0
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True


def test_what_the_operator_gives_wins_on_a_mirror():
    settings = _settings_after_spider("http://127.0.0.1:8000/", DOWNLOAD_DELAY=1.5, AUTOTHROTTLE_ENABLED=True)
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.5
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True


def test_mirror_crawl_at_default_settings_is_fast_and_says_why(tmp_path):
    """The real command, no -s at all: the log says the politeness is off, and the crawl takes
    seconds, not 2 s a page (the time is printed, not asserted tightly)."""
    with FixtureSite() as site:
        started = time.monotonic()
        done = crawl(site.base_url, tmp_path, "-a", "channels=gcsy", "-s", "LOG_LEVEL=INFO")
        took = time.monotonic() - started
        pages = sum(site.request_counts().values())
    log = "".join(p.read_text("utf-8") for p in (tmp_path / "logs").glob("*.log"))
    print(f"mirror crawl at default settings: {pages} requests in {took:.1f} s")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Local mirror 127.0.0.1: the politeness delay and AutoThrottle off" in log
    assert "AUTOTHROTTLE_ENABLED" not in log.split("Overridden settings", 1)[-1].split("\n", 1)[0]
    assert not done.stderr, "the INFO line stays in the log file"
    # 2 s a request, the old default, would take pages * 2 s.
    assert took < pages * 2.0
