"""Records visible sooner: a first crawl at the live site's pace commits its first slice about a
minute in, while it goes on (it used to show nothing for 10 minutes)."""

from __future__ import annotations

import time

from scrapy.settings import Settings

from tests import consumer
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import start_crawl


def test_default_checkpoint_is_a_minute():
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert settings.getfloat("CHECKPOINT_SECONDS") <= 60
    assert settings.getint("CHECKPOINT_RECORDS") == 1000


# The live site's pace (a 3 s delay) and the default checkpoint (60 s, checked above), both at a tenth:
# the crawl of the fixture site takes about twice the checkpoint, as a first crawl of the live site
# takes many times its minute, in ~20 s instead of ~2 minutes.
SCALED_PACE = ("-s", "DOWNLOAD_DELAY=0.3", "-s", "DOWNLOAD_DELAY_JITTER=0", "-s", "CHECKPOINT_SECONDS=6")


def test_a_slow_first_crawl_shows_records_while_it_runs(tmp_path):
    """At a slow pace the consumer sees records before the crawl's end (its final commit)."""
    with FixtureSite() as site:
        started = time.monotonic()
        process = start_crawl(site.base_url, tmp_path, *SCALED_PACE)
        try:
            while process.poll() is None and not ((tmp_path / "runs").is_dir() and consumer.records(tmp_path)):
                assert time.monotonic() - started < 600
                time.sleep(0.1)
            first = time.monotonic() - started
            asked_then = len(site.requests)  # the site's requests when the first records were visible
            visible = len(consumer.records(tmp_path)) if (tmp_path / "runs").is_dir() else 0
            code = process.wait(timeout=600)
        finally:
            if process.poll() is None:
                process.kill()
        ended = time.monotonic() - started
        asked_after = len(site.requests) - asked_then
    print(f"\nfirst records visible after {first:.0f} s ({visible} records), run ended after {ended:.0f} s; "
          f"{asked_after} requests came after them")
    assert code == 0, process.stderr.read()[-2000:] if process.stderr else ""
    assert asked_after > 0, "no record was visible before the run had done its crawling (its final commit)"
