"""Page requisites from any public host (issue 22): an article's pictures on another host (a CDN,
the live site a mirror links to) are archived with it, through the downloader (that host's
robots.txt), unless ``REQUISITES_OFFSITE=False``; pages keep the crawl-host rule, and a private
address stays refused unless the crawl host is one."""

from __future__ import annotations

from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from crawler.downloadermiddlewares.offsite import OTHER_HOST, PRIVATE_ADDRESS, refusal, requisite_refusal
from tests import consumer
from tests.fixture_server import FixtureSite, Resource
from tests.utils.crawl import run_crawl
from tests.utils.net import ServedInThread

ARTICLE = "/scyw/20211103/2541288.html"
ANCHOR = b'<img src="/sccaw/u_yhscwj/202111/9288ddce26e586400c70a19f9c549e74.jpeg"'
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class OtherHost(ServedInThread):
    """A second host: an HTTP server on 127.0.0.2 (Linux routes all of 127/8 to loopback) serving a
    robots.txt that forbids /private/ and any other path as a PNG; it counts requests by path."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server naming
                path = urlsplit(self.path).path
                host.requests[path] += 1
                if path == "/robots.txt":
                    body, kind = b"User-agent: *\nDisallow: /private/\n", "text/plain"
                else:
                    body, kind = PNG, "image/png"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.base_url = f"http://127.0.0.2:{self.server.server_address[1]}/"


def crawl_with_pictures_elsewhere(tmp_path, *args: str):
    """A crawl of the fixture site where one article shows two pictures from the other host (one of
    them forbidden by its robots.txt) and links to a page there."""
    with FixtureSite() as site, OtherHost() as other:
        page = site.resources[ARTICLE]
        extra = (f'<img src="{other.base_url}cdn/picture.png" alt="图">'
                 f'<img src="{other.base_url}private/hidden.png" alt="图">'
                 f'<a href="{other.base_url}scyw/20211103/9999999.html">别处的文章</a>').encode()
        assert ANCHOR in page.body
        site.put(ARTICLE, Resource(page.status, page.headers, page.body.replace(ANCHOR, extra + ANCHOR, 1)))
        result = run_crawl(site.base_url, tmp_path, *args)
    assert result.returncode == 0, result.log[-3000:]
    record = next(r for r in result.records if r["url"].endswith(ARTICLE))
    images = {i["url"]: i["warc"] for i in record["images"]}
    return result, other, images


def test_pictures_on_another_host_are_archived_through_its_robots_txt(tmp_path):
    result, other, images = crawl_with_pictures_elsewhere(tmp_path)
    assert images[f"{other.base_url}cdn/picture.png"] is not None
    assert images[f"{other.base_url}private/hidden.png"] is None  # its host's robots.txt forbids it
    assert other.requests["/robots.txt"] == 1
    assert other.requests["/cdn/picture.png"] == 1
    assert other.requests["/private/hidden.png"] == 0
    assert other.requests["/scyw/20211103/9999999.html"] == 0  # pages keep to the crawl host
    assert all(pointer is not None for url, pointer in images.items() if "/private/" not in url)
    assert consumer.final(tmp_path)["accounting"]["balanced"]  # requisites are no pages of the run's accounts


def test_requisites_offsite_false_keeps_them_to_the_crawl_host(tmp_path):
    result, other, images = crawl_with_pictures_elsewhere(tmp_path, "-s", "REQUISITES_OFFSITE=False")
    assert images[f"{other.base_url}cdn/picture.png"] is None
    assert sum(other.requests.values()) == 0
    assert "requisites/skipped/other_host" in result.log


PUBLIC = ["www.sichuanpeace.gov.cn"]


@pytest.mark.parametrize(("url", "offsite", "reason"), [
    ("https://img.cdn-example.com/a.jpg", True, None),                    # a CDN: fetched
    ("http://sichuanpeace.gov.cn/a.jpg", True, None),                    # the crawl host's twin
    ("https://img.cdn-example.com/a.jpg", False, OTHER_HOST),            # kept to the crawl host
    ("http://127.0.0.1/a.jpg", True, PRIVATE_ADDRESS),                   # loopback
    ("http://localhost:8080/a.jpg", True, PRIVATE_ADDRESS),
    ("http://10.0.0.5/a.jpg", True, PRIVATE_ADDRESS),                    # private
    ("http://169.254.169.254/latest/meta-data", True, PRIVATE_ADDRESS),  # link-local (cloud metadata)
    ("http://240.0.0.1/a.jpg", True, PRIVATE_ADDRESS),                   # reserved
    ("http://0x7f000001/a.jpg", True, PRIVATE_ADDRESS),                  # loopback, numeric form
])
def test_which_hosts_a_requisite_may_come_from_for_a_public_crawl_host(url, offsite, reason):
    assert requisite_refusal(url, PUBLIC, offsite) == reason


def test_a_private_crawl_host_allows_private_requisites_and_pages_keep_their_rule():
    assert requisite_refusal("http://127.0.0.2:8000/a.jpg", ["127.0.0.1"], True) is None
    assert requisite_refusal("http://127.0.0.2:8000/a.jpg", ["127.0.0.1"], False) == OTHER_HOST
    assert refusal("https://img.cdn-example.com/a.html", PUBLIC) == OTHER_HOST  # a page: crawl host only
