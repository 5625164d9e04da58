"""Sitemaps (robots.txt ``Sitemap:`` lines, ``/sitemap.xml``, sitemap indexes) and RSS/Atom feeds:
bytes and URL in, the pages they name out, sorted into articles, candidates and list pages.

Pure functions. Sitemaps are read with Scrapy's own parsers (``scrapy.utils.sitemap``: lxml with
entities off and recovery on, the code SitemapSpider uses), which are plain functions of bytes that
import nothing of Scrapy's engine; feeds with lxml (RSS 2.0, RSS 1.0 / RDF, Atom).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml import etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from ..rules import discovery as D
from .listing import ListedArticle
from .urls import article_ref, is_page_candidate, list_page, other_page_ref, resolve_href, same_site

GZIP_MAGIC = b"\x1f\x8b"
SITEMAP_KINDS = ("urlset", "sitemapindex")

_FEED_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, remove_comments=True,
                               remove_pis=True, huge_tree=False)


@dataclass
class Discovered:
    """What a sitemap or feed names, sorted by URL shape; ``kind`` is None when it was neither."""

    kind: str | None = None  # urlset, sitemapindex, rss, atom
    articles: list[ListedArticle] = field(default_factory=list)        # article-shaped URLs
    other_articles: list[ListedArticle] = field(default_factory=list)  # pages of another shape
    list_pages: list[str] = field(default_factory=list)                # channel list pages
    sitemaps: list[str] = field(default_factory=list)                  # child sitemaps of an index
    offsite: int = 0  # entries on another host, or not pages (images, documents): not followed
    seen: set[str] = field(default_factory=set, repr=False)  # URLs already sorted: a repeat is skipped


def sitemaps_in_robots(robots_txt: bytes, url: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, resolved against its URL, in order, without repeats."""
    found: list[str] = []
    for sitemap in sitemap_urls_from_robots(robots_txt, base_url=url):
        if sitemap and sitemap not in found:
            found.append(sitemap)
    return found


def _decompressed(body: bytes) -> bytes | None:
    """The body, gunzipped when it is a ``.xml.gz`` file; None when larger than allowed."""
    if not body.startswith(GZIP_MAGIC):
        return body if len(body) <= D.SITEMAP_MAX_BYTES else None
    try:
        return gunzip(body, max_size=D.SITEMAP_MAX_BYTES)
    except Exception:  # too large once inflated, or not gzip after all: not a sitemap we read
        return None


def _day(text: str | None) -> date | None:
    """The date of a W3C datetime (sitemap lastmod, Atom) or an RFC 822 date (RSS pubDate)."""
    if not text:
        return None
    text = text.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:  # RSS pubDate: "Fri, 01 Mar 2024 10:00:00 +0800"
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def _sort(found: Discovered, url: str, title: str, day: date | None, site_host: str, base_url: str) -> None:
    """Put one named page where its URL shape says: article, list page, or a candidate of another shape."""
    href = resolve_href(url, base_url)
    if href is None or not same_site(href, site_host) or not is_page_candidate(href):
        found.offsite += 1
        return
    ref = article_ref(href, base_url)
    if ref is not None:
        if ref.url not in found.seen:
            found.seen.add(ref.url)
            found.articles.append(ListedArticle(ref=ref, title=title, date=day))
        return
    if list_page(href) is not None or D.INDEX_PATH_RE.search(urlsplit(href).path):
        if href not in found.seen:
            found.seen.add(href)
            found.list_pages.append(href)
        return
    other = other_page_ref(href, base_url)
    if other.url not in found.seen:
        found.seen.add(other.url)
        found.other_articles.append(ListedArticle(ref=other, title=title, date=day))


def parse_sitemap(body: bytes, url: str, site_host: str, base_url: str) -> Discovered:
    """A sitemap (``urlset``) or sitemap index (``sitemapindex``), plain or gzipped."""
    found = Discovered()
    xml = _decompressed(body)
    if not xml or not xml.strip():
        return found
    try:
        sitemap = Sitemap(xml)
    except (etree.XMLSyntaxError, StopIteration):
        return found
    if sitemap.type not in SITEMAP_KINDS:
        return found
    found.kind = sitemap.type
    for entry in sitemap:
        loc = entry.get("loc", "")
        if not loc:
            continue  # an entry cut short (recovered from broken XML)
        if sitemap.type == "sitemapindex":
            child = resolve_href(loc, url)
            if child is not None and same_site(child, site_host):
                found.sitemaps.append(child)
            else:
                found.offsite += 1
            continue
        _sort(found, loc, "", _day(entry.get("lastmod")), site_host, base_url)
    return found


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _atom_link(entry: etree._Element) -> str | None:
    """An Atom entry's page: its ``link`` with rel alternate (or no rel)."""
    for child in entry:
        if _local(child.tag) == "link" and (child.get("rel") or "alternate") == "alternate" and child.get("href"):
            return child.get("href")
    return None


def parse_feed(body: bytes, url: str, site_host: str, base_url: str) -> Discovered:
    """An RSS 2.0, RSS 1.0 (RDF) or Atom feed: the pages its items link, with their dates."""
    found = Discovered()
    xml = _decompressed(body)
    if not xml or not xml.strip():
        return found
    try:
        root = etree.fromstring(xml, _FEED_PARSER)
    except etree.XMLSyntaxError:
        return found
    if root is None:
        return found
    kind = _local(root.tag).lower()
    if kind == "feed":  # Atom
        found.kind = "atom"
        for entry in (e for e in root if _local(e.tag) == "entry"):
            link = _atom_link(entry)
            if link:
                day = _day(_child_text(entry, "published") or _child_text(entry, "updated"))
                _sort(found, resolve_href(link, url) or link, _child_text(entry, "title") or "", day,
                      site_host, base_url)
        return found
    if kind not in ("rss", "rdf"):
        return found
    found.kind = "rss"
    for item in root.iter():
        if _local(item.tag) != "item":
            continue
        link = _child_text(item, "link")
        if not link:
            guid = next((c for c in item if _local(c.tag) == "guid"), None)
            if guid is not None and (guid.get("isPermaLink") or "true").lower() == "true" and guid.text:
                link = guid.text.strip()
        if link:
            day = _day(_child_text(item, "pubDate") or _child_text(item, "date"))
            _sort(found, resolve_href(link, url) or link, _child_text(item, "title") or "", day,
                  site_host, base_url)
    return found
