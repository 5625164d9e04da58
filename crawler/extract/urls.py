"""URL shapes of the site: what is an article, a channel list page, and how to canonicalize them.

Pure functions, no Scrapy. The shapes come from ../shared/reference/site-notes.md:
articles are ``/<channel>/<YYYYMMDD>/<id>.html`` (current platform) or
``/system/<YYYYMMDD>/<id>.html`` (legacy CMS, about 2017); channel list pages live in a short
lowercase folder (``/scyw/``, ``/scyw/index_2.html``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# /<channel>/<YYYYMMDD>/<id>.html; the legacy CMS used the folder name "system" instead.
ARTICLE_PATH_RE = re.compile(r"^/(?P<channel>[a-z][a-z0-9_]{0,30})/(?P<date>\d{8})/(?P<id>\d{5,12})\.(?P<ext>s?html?)$")
LEGACY_CHANNEL = "system"

# A channel folder, optionally with its (paginated) index page.
LIST_PATH_RE = re.compile(r"^/(?P<channel>[a-z][a-z0-9_]{0,30})/(?:index(?:_(?P<page>\d+))?\.s?html?)?$")

# Folders that look like channels but hold uploads, scripts or styles.
NON_CHANNEL_FOLDERS = frozenset(
    {"sccaw", "system", "images", "image", "img", "css", "js", "static", "res", "upload", "uploads"}
)

# Extensions of linked files that are attachments, never pages to parse.
ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "zip", "rar", "7z", "txt", "ofd"}
)
# Extensions that are never requested as pages (media and attachments).
NON_PAGE_EXTENSIONS = ATTACHMENT_EXTENSIONS | frozenset(
    {"jpg", "jpeg", "png", "gif", "bmp", "webp", "svg", "ico", "mp3", "mp4", "avi", "flv", "swf",
     "wmv", "mov", "css", "js", "xml", "json", "exe", "apk"}
)
HTTP_SCHEMES = frozenset({"http", "https"})


# What shape an article's URL has (the record's ``url_shape``; the manifest counts them).
URL_SHAPE_CURRENT = "current"  # /<channel>/<YYYYMMDD>/<id>.html
URL_SHAPE_LEGACY = "legacy"    # /system/<YYYYMMDD>/<id>.html
URL_SHAPE_OTHER = "other"      # any other page on the crawl host that reads as an article
# The id of a URL of another shape: this prefix and the first 16 hex digits of the SHA-1 of its path
# and query. Digits alone (the known shapes' ids) can never equal one.
OTHER_ID_PREFIX = "u"
OTHER_ID_HEX_DIGITS = 16


@dataclass(frozen=True)
class ArticleRef:
    """What an article URL says by itself."""

    url: str
    channel: str | None  # None for legacy /system/ URLs and URLs of another shape
    date: date | None    # None for URLs of another shape: the page must show its time
    id: str
    shape: str = URL_SHAPE_CURRENT


def extension(url: str) -> str:
    """The lower-case extension of the URL path's last segment, or ''.

    The path as ``urlsplit`` finds it, without its cost (this runs for every link of every page):
    up to the query or fragment, after the authority when there is one (a bare host's top-level
    domain, example.zip, is no extension).
    """
    rest = url.split("#", 1)[0].split("?", 1)[0]
    authority = rest.find("//")
    if authority != -1 and (authority == 0 or (rest[authority - 1] == ":" and rest[:authority - 1].isalnum())):
        path = rest.find("/", authority + 2)
        if path == -1:
            return ""
        rest = rest[path:]
    last = rest.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def resolve_href(href: str | None, page_url: str) -> str | None:
    """Absolute http(s) URL for an href as written in a page, or None for hrefs never followed."""
    if href is None:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
    if scheme and scheme not in HTTP_SCHEMES:
        return None  # javascript:, mailto:, tel:, data:, ftp:, file: ...
    if href.startswith(_ORIGIN_ONLY_PREFIXES):
        # Absolute, scheme-relative and root-relative hrefs resolve against the page's origin only,
        # so the same link on every page of the site (navigation, logo, channels) is resolved once.
        return _resolve(href, _origin(page_url))
    return _resolve(href, page_url)


# Hrefs whose resolution depends only on the scheme and authority of the page they are on.
_ORIGIN_ONLY_PREFIXES = ("http://", "https://", "//", "/")
# Resolutions kept: enough for the links shared by a site's pages; bounded, so memory stays flat.
RESOLVE_CACHE_SIZE = 4096


@lru_cache(maxsize=256)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def origin_of(url: str) -> str:
    """``scheme://authority/`` of a URL."""
    return _origin(url)


@lru_cache(maxsize=RESOLVE_CACHE_SIZE)
def _resolve(href: str, base: str) -> str | None:
    """``_resolve_plain`` where it applies (most links of a page), else ``_resolve_general``."""
    return _resolve_plain(href, base) or _resolve_general(href, base)


# The characters of a plain href's path: ASCII letters, digits and those of RFC 3986's unreserved
# and sub-delims that every step of ``_resolve_general`` keeps as they are (``urljoin``, w3lib's
# quoting of path and query, the split and join). Not in it, so such hrefs take the general path:
# '%' (escapes are checked), "'" (quoted in a query), ';' (urljoin's params), ':' (a scheme), '@'
# (userinfo), '#' (a fragment), '\\' (a '/' to w3lib), whitespace, '[]|{}<>"^`' and all non-ASCII.
_PLAIN_CHARS = r"A-Za-z0-9\-._~!$&()*+,=/"
# A plain href: a path (dot segments and empty ones are checked apart) and an optional non-empty
# query, which may also hold '?', ':' and '@' (after a '?' they are neither a scheme nor userinfo,
# and w3lib leaves them in a query).
_PLAIN_HREF_RE = re.compile(rf"(?P<path>[{_PLAIN_CHARS}]*)(?:\?[{_PLAIN_CHARS}?:@]+)?")
# A plain authority: a lower-case host and a port at most (no userinfo, no brackets, no backslash);
# ``_plain_origin`` checks that w3lib keeps it as it is.
_PLAIN_AUTHORITY_RE = re.compile(r"[a-z0-9.:-]+")
# An absolute or scheme-relative href: a plain authority, then the rest (a plain href, checked apart).
_PLAIN_ABSOLUTE_RE = re.compile(r"(?P<scheme>https?:)?//(?P<authority>[a-z0-9.:-]+)(?P<rest>/[^?]*(?:\?.*)?)?")


def _plain_path(path: str, relative: bool) -> bool:
    """True for a path that ``urljoin`` and w3lib leave as written: no segment starting with '.'
    (dot segments are removed) and, in a path relative to the page's, no empty segment (``urljoin``
    drops those; it keeps them in a path from the root)."""
    return "/." not in path and path[:1] != "." and not (relative and "//" in path)


@lru_cache(maxsize=256)
def _plain_origin(origin: str) -> bool:
    """True when ``_resolve_general`` gives back ``origin + "/"`` as it is: its scheme is http or https
    and w3lib changes nothing in its authority (host case, IDNA, IPv4 forms, port). The authority is
    read apart from the path all along the general path, so this holds for any plain path after it."""
    return _resolve_general("/", origin + "/") == origin + "/"


@lru_cache(maxsize=256)
def _plain_base(base: str) -> tuple[str, str, str] | None:
    """(scheme, ``scheme://authority``, directory) of a page URL whose plain hrefs resolve by
    concatenation, or None: an http(s) URL with a plain origin and a plain path (``_plain_path``,
    as relative: ``urljoin`` drops the empty segments of the page's directory too), whatever its
    query and fragment (a path in the href replaces them)."""
    scheme, sep, rest = base.partition("://")
    if not sep or scheme not in HTTP_SCHEMES:
        return None
    end = len(rest)
    for mark in "/?#":
        at = rest.find(mark)
        if at != -1 and at < end:
            end = at
    authority, path = rest[:end], rest[end:].split("#", 1)[0].split("?", 1)[0]
    origin = f"{scheme}://{authority}"
    if (not _PLAIN_AUTHORITY_RE.fullmatch(authority) or not _plain_origin(origin)
            or not _PLAIN_HREF_RE.fullmatch(path) or not _plain_path(path, relative=True)):
        return None
    return scheme, origin, (path[:path.rfind("/") + 1] or "/")


def _climb(href: str, directory: str) -> tuple[str, str]:
    """An href's leading "../" and "./" segments taken off it and applied to the page's directory
    as ``urljoin`` does: "../" drops the directory's last folder (none above the root), "./" nothing."""
    folders = directory.split("/")[1:-1]  # "/a/b/" -> ["a", "b"]; "/" -> []
    while True:
        if href[:3] == "../":
            if folders:
                folders.pop()
            href = href[3:]
        elif href[:2] == "./":
            href = href[2:]
        else:
            return href, "/" + "".join(f"{folder}/" for folder in folders)


def _resolve_plain(href: str, base: str) -> str | None:
    """What ``_resolve_general`` returns for a plain href on a plain page URL, by concatenation
    (no urljoin, no w3lib); None for any other href or page (then the general path decides).

    Exact: every case it answers is one where each step of the general path keeps the text as it
    is, or (leading "../") does what ``_climb`` does (tests/test_resolve_plain.py compares both on
    every href of the test pages and on tricky ones).
    """
    if href[:1] != "/" and href[:4] != "http":
        page = _plain_base(base)  # relative to the page's directory
        if page is None:
            return None
        directory = page[2]
        if href[:1] == ".":
            href, directory = _climb(href, directory)
            if href[:1] == "/":
                return None  # "..//x": urljoin drops the empty segment
        prefix, relative = page[1] + directory, True
    else:
        absolute = _PLAIN_ABSOLUTE_RE.fullmatch(href)
        if absolute is not None:
            if absolute["scheme"]:
                origin = f"{absolute['scheme']}//{absolute['authority']}"
            else:
                page = _plain_base(base)
                if page is None:
                    return None
                origin = f"{page[0]}://{absolute['authority']}"
            if not _plain_origin(origin):
                return None
            href = absolute["rest"] or "/"
            prefix = origin
        elif href[:1] == "/" and href[:2] != "//":
            page = _plain_base(base)
            if page is None:
                return None
            prefix = page[1]
        else:
            return None  # http… without "://" (a relative path or "http:x"), "//" and no authority
        relative = False
    plain = _PLAIN_HREF_RE.fullmatch(href)
    if plain is None or not plain["path"] or not _plain_path(plain["path"], relative):
        return None
    return prefix + href


def _resolve_general(href: str, base: str) -> str | None:
    """Absolute http(s) URL of an href on a page: ``urljoin``, made safe by w3lib, without its fragment."""
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(safe_url_string(absolute))
    except ValueError:
        return None
    if parts.scheme not in HTTP_SCHEMES or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """Host (lower case, no port) of a URL."""
    return (urlsplit(url).hostname or "").lower()


def same_site(url: str, site_host: str) -> bool:
    """True when the URL is on the site's host (www. and bare domain count as one)."""
    host = host_of(url)
    return host.removeprefix("www.") == site_host.lower().removeprefix("www.")


def onto_page_site(url: str, page_url: str) -> str:
    """An on-site URL moved onto the page's scheme and authority (http/https variants are one)."""
    parts = urlsplit(url)
    site, scheme, netloc = _page_site(page_url)
    if (parts.hostname or "").lower().removeprefix("www.") != site:
        return url  # not on the page's site (``same_site``)
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


@lru_cache(maxsize=256)
def _page_site(page_url: str) -> tuple[str, str, str]:
    """A page URL's host without ``www.`` (as ``same_site`` compares hosts), scheme and authority:
    split once per page, not once per image of the page."""
    page = urlsplit(page_url)
    return host_of(page_url).removeprefix("www."), page.scheme, page.netloc


def _canonical(base_url: str, path: str) -> str:
    """The URL on the base URL's scheme and authority, with the given path and no query."""
    base = urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, path, "", ""))


def article_ref(url: str, base_url: str) -> ArticleRef | None:
    """The article a URL names, canonicalized onto base_url's scheme and host, or None."""
    parts = urlsplit(url)
    match = ARTICLE_PATH_RE.match(parts.path)
    if not match:
        return None
    try:
        day = date(int(match["date"][:4]), int(match["date"][4:6]), int(match["date"][6:]))
    except ValueError:
        return None
    channel = match["channel"]
    # The extension is kept: a sister site serving .shtml would answer 404 for .html.
    path = f"/{channel}/{match['date']}/{match['id']}.{match['ext']}"
    legacy = channel == LEGACY_CHANNEL
    return ArticleRef(
        url=_canonical(base_url, path),
        channel=None if legacy else channel,
        date=day,
        id=match["id"],
        shape=URL_SHAPE_LEGACY if legacy else URL_SHAPE_CURRENT,
    )


def other_page_ref(url: str, base_url: str) -> ArticleRef:
    """A page URL of another shape, as an article: its id is derived from its whole path and query.

    The URL keeps its path and query (a CMS may name its article by ``?id=``), moved onto
    base_url's scheme and host. The id is ``u`` and 16 hex digits of the SHA-1 of that path and
    query: stable across runs for the same URL, and never shared by two URLs as a run of digits
    in them was (``/xwzx/2024/0115/12.htm`` and ``.../13.htm`` were both ``0115``). Should two
    paths ever hash alike, the state pipeline sees an id come with another URL and refuses it.
    """
    parts, base = urlsplit(url), urlsplit(base_url)
    canonical = urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, ""))
    # The same text that URLs without digits were hashed from before: their ids stay as they were.
    digest = hashlib.sha1(f"{parts.path}?{parts.query}".encode()).hexdigest()
    article_id = OTHER_ID_PREFIX + digest[:OTHER_ID_HEX_DIGITS]
    return ArticleRef(url=canonical, channel=None, date=None, id=article_id, shape=URL_SHAPE_OTHER)


# Before ids were hashes, a URL of another shape took the last run of 4 or more digits in its path and
# query as its id (two URLs could share one): read only to find an article the state knows under it.
EARLIER_OTHER_ID_RE = re.compile(r"\d{4,}")


def earlier_other_id(url: str) -> str | None:
    """The id an earlier version gave a URL of another shape (its last run of 4 or more digits), or None."""
    parts = urlsplit(url)
    tokens = EARLIER_OTHER_ID_RE.findall(f"{parts.path}?{parts.query}")
    return tokens[-1] if tokens else None


def same_page(url: str, other: str) -> bool:
    """Whether two canonical URLs of one site name the same page: the same path and query (the
    scheme and host may differ: http and https, the live site and its mirror)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.path or "/", a.query) == (b.path or "/", b.query)


def page_ref(url: str, base_url: str) -> ArticleRef:
    """The article a page URL names: by its article shape when it has one, else as another shape."""
    return article_ref(url, base_url) or other_page_ref(url, base_url)


def list_page(url: str) -> tuple[str, int] | None:
    """(channel slug, page number) for a channel list page URL, or None.

    ``/scyw/``, ``/scyw/index.html`` and ``?from=`` variants are one page: (``scyw``, 0).
    """
    match = LIST_PATH_RE.match(urlsplit(url).path)
    if not match or match["channel"] in NON_CHANNEL_FOLDERS:
        return None
    return match["channel"], int(match["page"] or 0)


def page_url(url: str, page: int, ext: str | None = None) -> str:
    """The URL of page ``page`` of the list that ``url`` belongs to (``index_N.html``; the
    extension ``ext``, else that of ``url`` when it is an index page, as ``index_2.shtml``)."""
    parts = urlsplit(url)
    folder, _, last = parts.path.rpartition("/")
    if ext is None:
        match = LIST_PATH_RE.match(parts.path)
        ext = last.rsplit(".", 1)[1].lower() if match and "." in last else "html"
    path = folder + "/" if page == 0 else f"{folder}/index_{page}.{ext}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_attachment(url: str) -> bool:
    """True for links to documents (PDF, DOC, XLS ...) that become attachment entries."""
    if url[url.rfind(".") + 1:].lower() not in ATTACHMENT_EXTENSIONS and "?" not in url and "#" not in url:
        # The usual link (….html): without a query or fragment, what follows its last dot is its
        # extension, or it has none. Decided without splitting the URL.
        return False
    return extension(url) in ATTACHMENT_EXTENSIONS


def is_attachment_href(href: str) -> bool:
    """``is_attachment`` of an href as written in a page: stripped, without its query and fragment
    (split off only when there is one: most hrefs have none)."""
    href = href.strip()
    if "?" in href or "#" in href:
        href = href.split("?", 1)[0].split("#", 1)[0]
    return is_attachment(href)


def is_page_candidate(url: str) -> bool:
    """True when the URL may be an HTML page (not media, not a document)."""
    return extension(url) not in NON_PAGE_EXTENSIONS
