"""A decoded, parsed HTML page, shared by the article and listing extractors (parse once)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .encoding import decode_page
from .urls import resolve_href

# Magic numbers of files that are not pages, whatever their Content-Type says.
BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip/docx/xlsx"),
    (b"\xd0\xcf\x11\xe0", "doc/xls"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG", "png"),
    (b"GIF8", "gif"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "rar"),
)


def binary_kind(body: bytes) -> str | None:
    """The kind of non-HTML file these bytes are, by their magic number, or None."""
    head = body[:8]
    for signature, kind in BINARY_SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


# libxml2's HTML parser with lxml's plain element classes: lxml.html's Python-level class lookup
# runs once per element proxy, a measured 5-8 % of extraction, and nothing here needs its methods.
# Comments and processing instructions are dropped while parsing (TRS templates are full of them).
# The id table stays on (collect_ids): tagless #id containers are looked up in it (containers.py).
HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
# The same, reading UTF-8 bytes directly: 15 % faster than handing libxml2 a Python str.
UTF8_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, encoding="utf-8")

_STRING = etree.XPath("string()")

# libxml2 stops reading at the first </html> (and drops what follows a stray </body>): a header
# included with its own closing tags cut the gov.cn page's article off. These end tags are removed
# before a second parse when one of them comes long before the end of the page.
_END_TAGS_RE = re.compile(r"</(?:html|body)\s*>", re.I)
_END_TAGS_BYTES_RE = re.compile(rb"</(?:html|body)\s*>", re.I)
# More than this many characters after the first end tag: a stray one, not the page's end.
STRAY_END_TAG_SLACK = 512
# A page closing at least this many paragraphs, of which the tree holds less than a quarter, was
# cut short by the parser (a construct libxml2 gives up at): it is not read. (Scripts may hold
# "</p>" in strings: the margin keeps such pages read.)
TRUNCATION_MIN_PARAGRAPHS = 10
TRUNCATION_KEPT_RATIO = 4
_CLOSING_P_RE = re.compile(r"</[pP]>")
_CLOSING_P_BYTES_RE = re.compile(rb"</[pP]>")
# libxml2's HTML parser gives up past 256 levels of nesting (ERR_RESOURCE_LIMIT, "Excessive
# depth"), keeping nothing below: a page of wrappers nested ~400 deep read as "empty body". Such a
# page is parsed again flattened: its wrapper tags' block ones become <br> (a line break, no
# nesting), its inline ones go (their text stays). ``huge_tree`` is not used: it raises the limit
# to 2048 only, and extraction walks the tree recursively (Python's own limit is near 1000).
_BLOCK_WRAPPERS = (r"div|section|article|main|header|footer|aside|nav|center|blockquote"
                   r"|table|tbody|thead|tr|td|th|ul|ol|li|dl|dd|dt|form")
_INLINE_WRAPPERS = r"span|font|b|i|em|strong|u|small|big|label|a"
_BLOCK_WRAPPER_RE = re.compile(rf"</?(?:{_BLOCK_WRAPPERS})\b[^>]*>", re.I)
_BLOCK_WRAPPER_BYTES_RE = re.compile(_BLOCK_WRAPPER_RE.pattern.encode(), re.I)
_INLINE_WRAPPER_RE = re.compile(rf"</?(?:{_INLINE_WRAPPERS})\b[^>]*>", re.I)
_INLINE_WRAPPER_BYTES_RE = re.compile(_INLINE_WRAPPER_RE.pattern.encode(), re.I)

# Elements that hold content: a <head> holding them took the page's body (markup before <html>).
_CONTENT_TAGS = ("p", "div", "table")


def first_element(tree: etree._Element, tag: str) -> etree._Element | None:
    """The first element of this tag under the root, in document order (``tree.find(".//tag")``).

    lxml's iterators look one match ahead: ``next(tree.iter("title"))`` goes on to look for a
    second <title> through the whole page (~0.1 ms a page). Here the root's children's subtrees are
    searched in turn, and the search stops in the first that holds one (<head>, for the <title>).
    """
    for child in tree:
        found = next(child.iter(tag), None)
        if found is not None:
            return found
    return None


def element_text(element: etree._Element) -> str:
    """All the text inside an element (what lxml.html's ``text_content`` gives), in C.

    An element with no child node but text (``len`` counts elements, comments, processing
    instructions and entities) holds only its ``text``: read directly, ~0.1 µs, where an XPath
    evaluation costs ~1 µs (most links of a page are such leaves).
    """
    if not len(element):
        return element.text or ""
    return str(_STRING(element))


@dataclass(frozen=True)
class HtmlPage:
    """Page text, its parsed tree (None when empty or unparsable) and its encodings."""

    text: str
    tree: etree._Element | None
    encoding_declared: str | None
    encoding_used: str
    parse_error: str | None = None
    binary: str | None = None  # set when the bytes are a PDF, image, office file ...
    repaired: str | None = None  # what was mended before the parse (a stray </html> ...)

    @property
    def content_root(self) -> etree._Element | None:
        """Where the page's content is: <body>; else a <head> the parser put it in; else the root."""
        if self.tree is None:
            return None
        body = self.tree.find("body")
        if body is not None:
            return body
        head = self.tree.find("head")
        if head is not None and next(head.iter(*_CONTENT_TAGS), None) is not None:
            return head
        return self.tree

    def link_base(self, url: str) -> str:
        """What relative links resolve against: the page's <base href>, else its URL."""
        if self.tree is not None:
            for base in self.tree.iter("base"):
                resolved = resolve_href(base.get("href"), url)
                if resolved:
                    return resolved
        return url


def load_page(content: bytes | str | HtmlPage, content_type: str | None = None) -> HtmlPage:
    """Decode (bytes: HTTP header charset, BOM, then meta) and parse a page."""
    if isinstance(content, HtmlPage):
        return content
    if isinstance(content, bytes):
        kind = binary_kind(content)
        if kind is not None:
            return HtmlPage("", None, None, "binary", binary=kind)
        decoded = decode_page(content, content_type)
        text, declared, used = decoded.text, decoded.declared, decoded.used
        # Bytes that are exactly the text, in UTF-8, are parsed as they are (no re-encoding).
        source: str | bytes = decoded.exact if used == "utf-8" and decoded.exact is not None else text
    else:
        text, declared, used = content, None, "unicode"
        source = text
    if not text.strip():
        return HtmlPage(text, None, declared, used)
    stray = _stray_end_tag(source)
    if stray:
        source = _END_TAGS_BYTES_RE.sub(b"", source) if isinstance(source, bytes) else _END_TAGS_RE.sub("", source)
    repaired = "stray end tag" if stray else None
    # Counted before the parse, while the page's bytes are still in the CPU's cache (the parse
    # evicts them: counted after it, the same pass took 69 µs against 31 µs, median of the real pages).
    closing = _closing_paragraphs(source)
    try:
        tree, too_deep = _parse(source)
        if too_deep:  # parsed again with its wrappers flattened
            repaired = "flattened: nested past the parser's depth limit"
            tree, too_deep = _parse(_flatten(source))
            if too_deep:
                return HtmlPage(text, None, declared, used, parse_error="nested past the parser's depth limit")
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as error:
        return HtmlPage(text, None, declared, used, parse_error=str(error))
    if tree is None:
        return HtmlPage(text, None, declared, used, parse_error="Document is empty")
    lost = _paragraphs_lost(closing, tree)
    if lost:
        # Never read on: a record from what the parser kept would have the wrong body.
        return HtmlPage(text, None, declared, used, parse_error=f"truncated parse: {lost}")
    return HtmlPage(text, tree, declared, used, repaired=repaired)


def _parse(source: str | bytes) -> tuple[etree._Element | None, bool]:
    """The parsed tree, and whether libxml2 stopped at its depth limit (dropping what lay deeper)."""
    parser = UTF8_PARSER if isinstance(source, bytes) else HTML_PARSER
    tree = etree.fromstring(source, parser)
    log = parser.error_log  # the last parse's errors: a few entries (HTML errors are mostly not logged)
    return tree, any(entry.type == _RESOURCE_LIMIT for entry in log)


_RESOURCE_LIMIT = etree.ErrorTypes.ERR_RESOURCE_LIMIT


def _flatten(source: str | bytes) -> str | bytes:
    """The page without nesting wrappers: block wrapper tags become <br>, inline ones go."""
    if isinstance(source, bytes):
        return _INLINE_WRAPPER_BYTES_RE.sub(b"", _BLOCK_WRAPPER_BYTES_RE.sub(b"<br>", source))
    return _INLINE_WRAPPER_RE.sub("", _BLOCK_WRAPPER_RE.sub("<br>", source))


def _closing_paragraphs(source: str | bytes) -> int:
    """How many </p> (or </P>) the page closes: one pass of a regex (half the time of two ``count``
    calls)."""
    return len((_CLOSING_P_BYTES_RE if isinstance(source, bytes) else _CLOSING_P_RE).findall(source))  # type: ignore[arg-type]  # the pattern matches source's type


def _paragraphs_lost(closing: int, tree: etree._Element) -> str | None:
    """Whether the parser dropped most of the page: less than a quarter of the ``closing`` </p> of
    its source in the tree.

    The tree is only walked for pages with paragraphs, and only until a quarter of them are found.
    """
    if closing < TRUNCATION_MIN_PARAGRAPHS:
        return None
    kept = 0
    for _ in tree.iter("p"):
        kept += 1
        if kept * TRUNCATION_KEPT_RATIO >= closing:
            return None  # enough kept: the rest need not be counted (a whole page: 3/4 of them)
    return f"{kept} of {closing} paragraphs parsed"


def _stray_end_tag(source: str | bytes) -> bool:
    """Whether an </html> or </body> comes long before the page's end (libxml2 would stop there)."""
    found = (_END_TAGS_BYTES_RE if isinstance(source, bytes) else _END_TAGS_RE).search(source)  # type: ignore[arg-type]  # the pattern matches source's type
    return found is not None and len(source) - found.end() > STRAY_END_TAG_SLACK and bool(
        source[found.end():].strip())
