"""The final manifest's ``argv`` is the command as typed, ``crawl`` included (issue 14)."""

import json

from crawler.run.commit import command_line
from tests.utils.crawl import run_crawl


def test_console_script():
    # `scrapy crawl sichuanpeace -a x=1`: Scrapy popped `crawl` out of sys.argv
    assert command_line(["/v/bin/scrapy", "sichuanpeace", "-a", "x=1"],
                        ["/v/bin/python3", "/v/bin/scrapy", "crawl", "sichuanpeace", "-a", "x=1"]) == \
        ["/v/bin/scrapy", "crawl", "sichuanpeace", "-a", "x=1"]


def test_module_and_options_before_the_command():
    assert command_line(["/p/scrapy/__main__.py", "--nolog", "sichuanpeace"],
                        ["python", "-m", "scrapy", "--nolog", "crawl", "sichuanpeace"]) == \
        ["/p/scrapy/__main__.py", "--nolog", "crawl", "sichuanpeace"]


def test_nothing_popped_is_left_alone():
    assert command_line(["pytest", "-q"], ["python", "-m", "pytest", "-q"]) == ["pytest", "-q"]
    assert command_line(["/v/bin/pytest", "-q", "x"], ["python", "/v/bin/pytest", "-q", "x"]) == \
        ["/v/bin/pytest", "-q", "x"]
    assert command_line(["x"], []) == ["x"]


def test_final_manifest_of_a_crawl(site, tmp_path):
    done = run_crawl(site.base_url, tmp_path, "-a", "channels=scyw")
    final = json.loads(sorted((tmp_path / "runs").glob("*.json"))[-1].read_text("utf-8"))
    assert final["final"], done.log[-2000:]
    assert final["argv"][1:] == ["crawl", "sichuanpeace", "-a", f"base_url={site.base_url}",
                                 "-s", f"OUTPUT_DIR={tmp_path}", "-s", "DOWNLOAD_DELAY=0",
                                 "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_BACKOFF_BASE=0.05",
                                 "-s", "LOG_LEVEL=INFO", "-a", "channels=scyw"]
