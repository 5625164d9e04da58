"""Spider arguments: checked as a whole when the spider is built, before it fetches or writes anything.

The subprocess tests run the real ``scrapy crawl`` / ``parse`` / ``check`` against the fixture site.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.spiders.arguments import KNOWN_ARGUMENTS, MAX_RECHECK_DAYS, SpiderArguments
from crawler.spiders.sichuanpeace import SichuanpeaceSpider
from tests.fixture_server import FixtureSite
from tests.utils.cmdline import FAST_INFO, crawl, scrapy
from tests.utils.files import files_under

# Nothing answers on port 9: a run that got past the arguments would fail to fetch (exit 4), not 1.
NOWHERE = "http://127.0.0.1:9/"


# --- the checks themselves (no subprocess) ---------------------------------------------------------

@pytest.mark.parametrize("name", sorted(KNOWN_ARGUMENTS))
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_value_is_an_error_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=rf"^{name} must not be empty"):
        SpiderArguments.parse({name: value})


def test_not_given_means_the_defaults():
    arguments = SpiderArguments.parse({})
    assert arguments.base_url == "https://www.sichuanpeace.gov.cn/"
    assert (arguments.channels, arguments.since, arguments.recheck_days, arguments.fleet_role) \
        == (None, None, 7, "worker")


def test_an_unknown_name_is_rejected_with_the_known_ones():
    with pytest.raises(ValueError) as error:
        SpiderArguments.parse({"chanels": "scyw", "base_url": "http://127.0.0.1:8000/"})
    message = str(error.value)
    assert "unknown spider argument chanels (did you mean channels?)" in message
    assert all(name in message for name in KNOWN_ARGUMENTS)


@pytest.mark.parametrize("name", ["name", "start_urls", "allowed_domains", "custom_settings", "job"])
def test_spider_attributes_are_not_arguments(name):
    # Scrapy's Spider would set any keyword as an attribute: -a name=x would rename the spider.
    with pytest.raises(ValueError, match=f"unknown spider argument {name}"):
        SichuanpeaceSpider(**{name: "x"})


def test_a_job_runners_own_argument_is_kept():
    # scrapyd adds -a _job=<id> to every job; Scrapy itself passes no argument of its own.
    spider = SichuanpeaceSpider(_job="6487ec79", base_url="http://127.0.0.1:8000/")
    assert vars(spider)["_job"] == "6487ec79"
    assert spider.base_url == "http://127.0.0.1:8000/"


@pytest.mark.parametrize("value, days",
                         [("0", 0), ("7", 7), (f" {MAX_RECHECK_DAYS} ", MAX_RECHECK_DAYS), ("ALL", None)])
def test_recheck_within_the_bound(value, days):
    assert SpiderArguments.parse({"recheck": value}).recheck_days == days


@pytest.mark.parametrize("value", [str(MAX_RECHECK_DAYS + 1), "1000000000", "99999999999999999999"])
def test_recheck_past_the_bound_is_an_error(value):
    with pytest.raises(ValueError, match=r"recheck must be at most 36500 days \(say recheck=all"):
        SpiderArguments.parse({"recheck": value})


@pytest.mark.parametrize("value", ["-1", "7d", "٣", "1e3"])
def test_recheck_only_takes_ascii_digits_or_all(value):
    with pytest.raises(ValueError, match="recheck must be a number of days or 'all'"):
        SpiderArguments.parse({"recheck": value})


def test_site_and_base_url_together_crawl_the_mirror_for_the_site():
    arguments = SpiderArguments.parse({"site": "chengdu", "base_url": "http://127.0.0.1:8000/x/"})
    assert (arguments.base_url, arguments.crawl_host, arguments.site) == (
        "http://127.0.0.1:8000/", "127.0.0.1", "www.chengdupeace.gov.cn")
    assert SpiderArguments.parse({"site": "chengdu"}).base_url == "https://www.chengdupeace.gov.cn/"


def test_every_problem_is_reported_at_once():
    errors = SichuanpeaceSpider.argument_errors({"chanels": "scyw", "since": "", "recheck": "1000000000",
                                                 "base_url": "http://127.0.0.1:8000/"})
    assert [e.split(" ", 3)[:3] for e in errors] == [
        ["unknown", "spider", "argument"], ["recheck", "must", "be"], ["since", "must", "not"]]


def test_good_arguments_have_no_errors():
    assert SichuanpeaceSpider.argument_errors(
        {"base_url": "http://127.0.0.1:8000/", "site": "chengdu", "channels": "scyw,szdt", "since": "2024-01-01",
         "recheck": "all", "fleet": "seed", "_job": "6487ec79"}) == []


# --- the real commands ----------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("channels=", "channels must not be empty"),
    ("base_url=", "base_url must not be empty"),
    ("since=", "since must not be empty"),
    ("recheck=", "recheck must not be empty"),
    ("site=", "site must not be empty"),
    ("fleet=", "fleet must not be empty"),
    ("chanels=scyw", "unknown spider argument chanels (did you mean channels?)"),
    ("recheck=1000000000", "recheck must be at most 36500 days"),
    ("base_url=ftp://example.org/", "base_url must be an http(s) URL"),
    ("channels=SC YW", "channels must be comma-separated"),
    ("since=2021-13-01", "since must be a date"),
    ("fleet=leader", "fleet must be 'seed' or 'worker'"),
    ("site=atlantis", "site must be a registered host"),
]


@pytest.mark.parametrize("argument, message", BAD_ARGUMENTS)
def test_crawl_with_a_bad_argument_exits_1_and_writes_nothing(tmp_path, argument, message):
    out = tmp_path / "out"
    done = crawl(NOWHERE, out, "-a", argument, *FAST_INFO, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert message in done.stderr
    # Only what the crawl command makes before the spider exists: its lock and its log file.
    assert all(name == ".lock" or name.startswith("logs/") for name in files_under(out)), files_under(out)


def test_crawl_names_every_bad_argument(tmp_path):
    done = crawl(NOWHERE, tmp_path / "out", "-a", "chanels=scyw", "-a", "since=", *FAST_INFO, timeout=120)
    assert done.returncode == 1
    assert "unknown spider argument chanels" in done.stderr and "since must not be empty" in done.stderr


@pytest.mark.parametrize("command", ["parse", "check"])
def test_parse_and_check_reject_an_unknown_argument_too(tmp_path, command):
    target = ["--spider=sichuanpeace", f"{NOWHERE}scyw/"] if command == "parse" else ["sichuanpeace"]
    done = scrapy(command, *target, "-a", f"base_url={NOWHERE}", "-a", "chanels=scyw",
                  "-s", f"OUTPUT_DIR={tmp_path}", *FAST_INFO)
    assert done.returncode == 1
    assert "unknown spider argument chanels" in done.stderr


def test_recheck_at_the_bound_and_a_runners_argument_crawl(tmp_path):
    """recheck=36500 re-fetches every known article (no overflow); scrapyd's _job is accepted."""
    out = tmp_path / "out"
    with FixtureSite() as site:
        first = crawl(site.base_url, out, "-a", "channels=gcsy", *FAST_INFO, timeout=120)
        assert first.returncode == 0, first.stderr[-3000:]
        before = site.request_counts()
        again = crawl(site.base_url, out, "-a", "channels=gcsy", "-a", f"recheck={MAX_RECHECK_DAYS}",
                      "-a", "_job=6487ec79", *FAST_INFO, timeout=120)
        after = site.request_counts()
    assert again.returncode == 0, again.stderr[-3000:]
    # Both gcsy articles (2019) are older than the default 7 days: only a long recheck fetches them again.
    for path in ("/gcsy/20190319/1792665.html", "/gcsy/20190402/1801234.html"):
        assert after[path] == before[path] + 1, (path, before[path], after[path])


# --- values that name files (issue 19, case 10) -----------------------------------------------------

@pytest.mark.parametrize("run_id", ["../../escaped", "escaped", "", "20261125T054925Z-1d7baf/../../x",
                                    "20261125T054925Z-1D7BAF", "20261125T054925Z-1d7baf.json"])
def test_a_run_id_of_another_shape_exits_1_and_writes_nothing(tmp_path, run_id):
    """RUN_ID names the log, the manifests, the WARC and WACZ files: only the shape the run makes
    itself is taken, so nothing lands outside OUTPUT_DIR or passes for another kind of file."""
    out = tmp_path / "deep" / "out"
    done = crawl(NOWHERE, out, "-s", f"RUN_ID={run_id}", *FAST_INFO, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "RUN_ID must look like 20261125T054925Z-1d7baf" in done.stderr
    assert files_under(tmp_path) == []
    assert "Traceback" not in done.stderr


def test_a_crawl_started_from_python_refuses_a_bad_run_id_too():
    from scrapy.settings import Settings

    from crawler.run.feeds import RunOutput

    with pytest.raises(ValueError, match="RUN_ID must look like"):
        RunOutput().update_settings(Settings({"RUN_ID": "../../escaped", "OUTPUT_DIR": "/nonexistent"}))


def test_a_run_id_of_the_runs_own_shape_is_taken(tmp_path):
    out = tmp_path / "out"
    done = crawl(NOWHERE, out, "-s", "RUN_ID=20261125T054925Z-1d7baf", "-s", "RETRY_TIMES=0", *FAST_INFO, timeout=120)
    assert done.returncode != 1, done.stderr[-2000:]
    assert (out / "logs" / "20261125T054925Z-1d7baf.log").is_file()


# --- nothing done is never exit 0 (issue 19, case 9) --------------------------------------------------

def _not_a_folder(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("not a folder")
    return str(tmp_path / "a-file")


def _under_a_file(tmp_path: Path) -> str:
    (tmp_path / "a-file").write_text("not a folder")
    return str(tmp_path / "a-file" / "out")


# (spider arguments, settings, OUTPUT_DIR (None: tmp_path/out), what stderr says)
REFUSED_BEFORE_WRITING: dict[str, tuple[list[str], list[str], Callable[[Path], str] | None, str]] = {
    "unknown channel": (["channels=nosuch"], [], None,
                        "channels: nosuch is not a channel of {base} (its home page and site maps link to "
                        "azsf, fzxc, gcsy, scyw, szdt"),
    "one unknown among known": (["channels=gcsy,nosuch"], [], None, "channels: nosuch is not a channel"),
    "fleet seed without redis": (["fleet=seed"], [], None, "fleet=seed needs a fleet's Redis: give -s REDIS_URL="),
    "fleet worker without redis": (["fleet=worker"], [], None, "fleet=worker needs a fleet's Redis"),
    "port out of range": (["base_url=http://127.0.0.1:99999/"], [], None,
                          "base_url's port must be a number from 1 to 65535"),
    "port zero": (["base_url=http://127.0.0.1:0/"], [], None, "base_url's port must be a number from 1 to 65535"),
    "host that is a path": (["base_url=http://../"], [], None, "base_url must be an http(s) URL with a host"),
    "output dir is a file": ([], [], _not_a_folder, "OUTPUT_DIR {out} is not a folder"),
    "output dir under a file": ([], [], _under_a_file, "OUTPUT_DIR {out} cannot be created: "),
}


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_WRITING))
def test_a_run_that_would_do_nothing_exits_1_in_one_line_before_writing(tmp_path, case):
    arguments, settings, output_dir, message = REFUSED_BEFORE_WRITING[case]
    out = output_dir(tmp_path) if output_dir else str(tmp_path / "out")
    before = files_under(tmp_path)
    with FixtureSite() as site:
        base = [] if any(a.startswith("base_url=") for a in arguments) else ["-a", f"base_url={site.base_url}"]
        done = scrapy("crawl", "sichuanpeace", *base, *(x for a in arguments for x in ("-a", a)), *settings,
                      "-s", f"OUTPUT_DIR={out}", *FAST_INFO)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sichuanpeace: not starting: "), done.stderr
    assert message.format(base=site.base_url, out=out) in done.stderr
    assert files_under(tmp_path) == before  # no lock, no log, no manifest


def test_a_known_channel_is_crawled():
    """The channel check asks the home page and its site maps: a channel only the site maps name is known."""
    from crawler.run.preflight import channel_errors, http_fetch

    with FixtureSite() as site:
        fetch = http_fetch("127.0.0.1", "test", 10)
        assert channel_errors({"fzxc", "scyw"}, site.base_url, "127.0.0.1", fetch) == []


@pytest.mark.parametrize("home", [
    None,
    (b"<html><body><p>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xb9\x81\xe5\xbf\x99</p></body></html>", "text/html; charset=utf-8"),
])
def test_channels_are_not_refused_when_the_site_cannot_say(home):
    """The site down or a page without channel links: the run's own verdict tells (exit 4, 10), not a guess."""
    from crawler.run.preflight import channel_errors

    assert channel_errors({"nosuch"}, "http://127.0.0.1:9/", "127.0.0.1", lambda url: home) == []


def test_a_read_only_output_dir_is_refused_without_writing(tmp_path, monkeypatch):
    """A read-only folder (root passes permission bits, so access() is what says it; a read-only
    file system answers EROFS there for root too)."""
    from crawler.run import settings_check

    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(settings_check.os, "access",
                            lambda path, mode: False if Path(path) == read_only else real_access(path, mode))
    assert settings_check.output_dir_error(str(read_only)) == f"OUTPUT_DIR {read_only} is not writable (a read-only " \
                                                             "file system, or its permissions)"
    assert settings_check.output_dir_error(str(read_only / "sub")) == \
        f"OUTPUT_DIR {read_only / 'sub'} cannot be created: {read_only} is not writable"
    assert list(read_only.iterdir()) == []


def test_the_channel_check_reads_the_site_maps_only_while_a_channel_is_not_found():
    """Each request of the check is one more for the site: the home page, then the site maps only if needed."""
    from crawler.run.preflight import channel_errors, http_fetch

    with FixtureSite() as site:
        fetch = http_fetch("127.0.0.1", "test", 10)
        assert channel_errors({"szdt"}, site.base_url, "127.0.0.1", fetch) == []  # on the home page
        on_home = site.request_counts()
        assert channel_errors({"fzxc"}, site.base_url, "127.0.0.1", fetch) == []  # in the site maps only
        both = site.request_counts()
    assert sorted(on_home.elements()) == ["/"]
    assert both["/"] == 2 and both["/wzdt/index.html"] == 1 and "/wzlm/index.html" not in both
