"""The bare baseline: a plain Scrapy spider that follows the same links as ours and yields only URLs.

Home → channel list pages (every list-shaped link: navigation, 下一页, numbered pages, site maps) →
articles (and the article links on article pages: 上一篇/下一篇, 相关阅读); one ``{"url": ...}`` item
per article. No extraction, no cleaning, no state, no WARC. Same request priorities as ours.

``scrapy runspider bench/bare_spider.py -a base_url=http://127.0.0.1:PORT/ -O urls.jsonl`` (run it
outside the project folder, so the project's settings are not loaded). ``-a requisites=1`` also
fetches each article page's pictures on the crawl host (not the site's own, under ``/images/``),
and drops their bytes: the network work of an archive that keeps an article's pictures, and nothing else.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy

ARTICLE_PATH_RE = re.compile(r"^/[a-z][a-z0-9_]{0,30}/\d{8}/\d{5,12}\.s?html?$")
LIST_PATH_RE = re.compile(r"^/[a-z][a-z0-9_]{0,30}/(?:index(?:_\d+)?\.s?html?)?$")
NOT_CHANNELS = {"sccaw", "system", "images", "css", "js", "admin"}


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, base_url: str = "http://127.0.0.1:8000/", requisites: str = "", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.base_url = base_url
        self.host = urlsplit(base_url).netloc
        self.requisites = requisites not in ("", "0", "false", "False")

    async def start(self):
        yield scrapy.Request(self.base_url, callback=self.parse_list, priority=5)

    def _links(self, response):
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip())
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != self.host:
                continue
            path = parts.path
            if ARTICLE_PATH_RE.match(path):
                yield scrapy.Request(url.split("#")[0], callback=self.parse_article, priority=20)
            elif LIST_PATH_RE.match(path) and path.split("/")[1] not in NOT_CHANNELS:
                yield scrapy.Request(url.split("#")[0], callback=self.parse_list, priority=10)

    def parse_list(self, response):
        yield from self._links(response)

    def parse_article(self, response):
        yield {"url": response.url}
        yield from self._links(response)
        if self.requisites:
            for src in response.css("img::attr(src)").getall():
                url = response.urljoin(src.strip())
                parts = urlsplit(url)
                if parts.netloc == self.host and not parts.path.startswith("/images/"):
                    yield scrapy.Request(url, callback=self.parse_picture, priority=30)

    def parse_picture(self, response):
        return None
