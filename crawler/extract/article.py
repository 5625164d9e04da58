"""Article page extraction: page bytes or text + URL in, ``RawArticle`` out. No Scrapy.

Anchors first, selectors as a fast path: the info line (time, 来源), 编辑, the breadcrumb, the
footer markers and the URL's date and id hold across templates; the body container selectors of
``selectors.BODY_SELECTORS`` are tried first, and a page in an unknown template still yields its
body as the blocks between the info line (or the title) and the first end marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from ..rules import selectors as S
from .blocks import Block, Linearized, clean_inline, linearize
from .containers import ContainerSelectors
from .page import HtmlPage, element_text, load_page
from .urls import ArticleRef, article_ref

EXTRACTOR_FALLBACK = "fallback"
# How many first lines of a body container may be title, info line or controls.
TRIM_HEAD_BLOCKS = 4
# A body container holding fewer characters of text than this is empty (a wrapper, a placeholder).
MIN_BODY_CHARS = 20

# BODY_SELECTORS compiled once, into one search for all of them.
_BODY_SELECTORS = ContainerSelectors(S.BODY_SELECTORS)
_TITLE_XPATHS = tuple(etree.XPath(xpath) for xpath in S.TITLE_XPATHS)


@dataclass
class RawArticle:
    """What an article page says, before boilerplate cleaning."""

    url: str
    id: str
    channel: str | None
    title: str | None = None
    published_at: str | None = None
    published_at_source: str | None = None  # "page" or "url"
    source: str | None = None
    editor: str | None = None
    channel_name: str | None = None
    blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    extractor: str = EXTRACTOR_FALLBACK  # the page family whose body container matched, or fallback
    encoding_declared: str | None = None
    encoding_used: str = "utf-8"
    not_article_reason: str | None = None  # set when the page is not an article (soft 404 ...)


class NotAnArticleURL(ValueError):
    """The URL does not have an article's shape."""


def _first_text(tree: etree._Element, xpaths: tuple[etree.XPath, ...]) -> str | None:
    for xpath in xpaths:
        for found in xpath(tree):
            text = clean_inline(found if isinstance(found, str) else element_text(found))
            if 2 <= len(text) <= 200 and not S.SITE_NAME_RE.match(text):
                return text
    return None


def _document_title(tree: etree._Element, blocks: list[Block]) -> str | None:
    """Title from <title>: the longest page line it starts with ("标题_频道_四川长安网"), else suffix-stripped."""
    found = tree.find(".//title")
    if found is None:
        return None
    doc_title = clean_inline(element_text(found))
    lines = {b.line for b in blocks[:200] if not b.is_image}
    prefixes = [line for line in lines if 4 <= len(line) <= 200 and doc_title.startswith(line)]
    if prefixes:
        return max(prefixes, key=len)
    return S.TITLE_SUFFIX_RE.sub("", doc_title) or None


def _iso_beijing(match: re.Match[str]) -> str | None:
    try:
        moment = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]),
            int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0),
        )
    except ValueError:
        return None
    return moment.isoformat(timespec="seconds") + "+08:00"


def _is_info_line(text: str) -> bool:
    if len(text) > S.INFO_LINE_MAX_CHARS:
        return False
    match = S.DATETIME_RE.search(text)
    if not match:
        return False
    return bool(match["H"]) or "来源" in text or any(b in text for b in S.INFO_BRACKETS)


def _find_info_index(blocks: list[Block], start: int) -> int | None:
    """Index of the info line: a short block with a date-time, preferring one with 来源."""
    first = None
    for index in range(start, len(blocks)):
        text = blocks[index].text
        if _is_info_line(text):
            if S.SOURCE_RE.search(text):
                return index
            if first is None:
                first = index
    return first


def _find_title_index(blocks: list[Block], title: str | None) -> int | None:
    if not title:
        return None
    for index, block in enumerate(blocks):
        if block.line == title:
            return index
    return None


def _find_end_index(blocks: list[Block], start: int) -> int:
    """Index of the first end marker after some content (share/print bars may precede the body)."""
    seen_content = False
    for index in range(start, len(blocks)):
        text = blocks[index].line
        if len(text) <= S.END_MARKER_MAX_CHARS and S.END_MARKERS_RE.search(text):
            if seen_content:
                return index
        elif len(text) >= S.MIN_CONTENT_CHARS or blocks[index].is_image:
            seen_content = True
    return len(blocks)


def _channel_name(blocks: list[Block], title: str | None) -> str | None:
    for block in blocks[:80]:
        match = S.BREADCRUMB_RE.search(block.line)
        if not match:
            continue
        crumbs = [c for c in S.BREADCRUMB_SPLIT_RE.split(match["trail"]) if c not in S.BREADCRUMB_SKIP]
        crumbs = [c for c in crumbs if c != title and len(c) <= 20]
        if crumbs:
            return crumbs[-1]
    return None


def _editor(blocks: list[Block]) -> str | None:
    found = None
    for block in blocks:
        if len(block.text) > 80:  # long lines are paragraphs: skip before normalizing them
            continue
        text = block.line
        if len(text) <= 40:
            match = S.EDITOR_RE.match(text)
            if match:
                found = match["editor"]
    return found


def _family(info_text: str | None, body_family: str | None) -> str:
    if body_family == "legacy" or (info_text and "年" in info_text and S.DATETIME_RE.search(info_text)):
        return "legacy"
    if info_text and S.DATETIME_RE.search(info_text) and not any(b in info_text for b in S.INFO_BRACKETS):
        return "2019"
    return "current"


def _holds_text(element: etree._Element, min_chars: int = MIN_BODY_CHARS) -> bool:
    """Whether the element's text, stripped at both ends, has ``min_chars`` characters.

    Counted piece by piece, and read no further than that: a container's first paragraph answers.
    """
    count = 0  # characters from the first non-space one to the last so far
    trailing = 0  # spaces after the last non-space character
    for piece in element.itertext():
        core = piece.strip()
        if not core:
            trailing += len(piece) if count else 0
            continue
        if count:
            count += trailing + len(piece) - len(piece.lstrip())
        count += len(core)
        trailing = len(piece) - len(piece.rstrip())
        if count >= min_chars:
            return True
    return False


def _body_marks(candidates: list[tuple[list[etree._Element], str]]) -> frozenset[etree._Element]:
    """The candidates the page walk records: each selector's, up to the first that matches text.

    The later ones are only needed when that text turns out to be scripts or markup, and
    ``_body_by_selector`` then linearizes them itself.
    """
    marked: list[etree._Element] = []
    for elements, _ in candidates:
        marked += elements
        if any(_holds_text(element) for element in elements):
            break
    return frozenset(marked)


def _best_container(elements: list[etree._Element], linearized: Callable[[etree._Element], Linearized | None]
                    ) -> tuple[Linearized | None, int]:
    """The element holding the most block text, as linearized, and that many characters."""
    best: Linearized | None = None
    best_chars = 0
    for element in elements:
        linear = linearized(element)
        if linear is None:
            continue
        chars = sum(len(b.text.strip()) for b in linear.blocks)
        if chars > best_chars:
            best, best_chars = linear, chars
    return best, best_chars


def _body_by_selector(candidates: list[tuple[list[etree._Element], str]], page: Linearized,
                      link_base: str) -> tuple[Linearized, str] | None:
    """The first body container candidate holding real text, as the page walk saw it, with its family.

    Rarely, the container that stopped the marking holds no block text (only scripts ...): the
    candidates after it, which the walk did not record, are linearized here.
    """
    for elements, family in candidates:
        best, best_chars = _best_container(elements, lambda e: page.part(e) or linearize(e, link_base))
        if best is not None and best_chars >= MIN_BODY_CHARS:
            return best, family
    return None


def _trim_body(blocks: list[Block], title: str | None, info_text: str | None) -> list[Block]:
    """Drop what a container may hold around the body: title and info line above, end markers below.

    Only the page's own info line (found outside, by its text) or title, among the container's
    first lines, is cut: a body paragraph that quotes a date and time is content.
    """
    start = 0
    head = [b.line for b in blocks[:TRIM_HEAD_BLOCKS]]
    if info_text is not None and info_text in head:
        start = head.index(info_text) + 1
    elif title is not None and title in head:
        start = head.index(title) + 1
    return blocks[start:_find_end_index(blocks, start)]


def parse_article(content: bytes | str | HtmlPage, url: str, content_type: str | None = None,
                  base_url: str | None = None) -> RawArticle:
    """Extract an article from its page; ``not_article_reason`` is set when it is not one."""
    ref: ArticleRef | None = article_ref(url, base_url or url)
    if ref is None:
        raise NotAnArticleURL(url)
    page = load_page(content, content_type)
    article = RawArticle(url=ref.url, id=ref.id, channel=ref.channel,
                         encoding_declared=page.encoding_declared, encoding_used=page.encoding_used)
    if page.binary:
        article.not_article_reason = f"binary file: {page.binary}"
        return article
    if page.tree is None:
        article.not_article_reason = f"unparsable HTML: {page.parse_error}" if page.parse_error else "empty page"
        return article
    tree = page.tree
    link_base = page.link_base(ref.url)
    body_root = tree.find("body")
    candidates = _BODY_SELECTORS.find(tree)
    linear_page = linearize(body_root if body_root is not None else tree, link_base, _body_marks(candidates))
    page_blocks = linear_page.blocks
    article.title = _first_text(tree, _TITLE_XPATHS) or _document_title(tree, page_blocks)
    title_index = _find_title_index(page_blocks, article.title)
    info_index = _find_info_index(page_blocks, title_index or 0)
    if info_index is None and title_index is not None:
        info_index = _find_info_index(page_blocks, 0)
    info_text = page_blocks[info_index].line if info_index is not None else None

    time_match = S.DATETIME_RE.search(info_text) if info_text else None
    article.published_at = _iso_beijing(time_match) if time_match else None
    if article.published_at:
        article.published_at_source = "page"
    else:
        article.published_at = f"{ref.date.isoformat()}T00:00:00+08:00"
        article.published_at_source = "url"

    source_scope = [info_text] if info_text else [b.text for b in page_blocks[:60] if len(b.text) <= 80]
    for text in source_scope:
        source_match = S.SOURCE_RE.search(clean_inline(text))
        if source_match:
            article.source = source_match["source"]
            break
    article.editor = _editor(page_blocks)
    article.channel_name = _channel_name(page_blocks, article.title)

    selected = _body_by_selector(candidates, linear_page, link_base)
    if selected is not None:
        linear, body_family = selected
        article.blocks = _trim_body(linear.blocks, article.title, info_text)
        article.attachments = linear.attachments
        article.extractor = _family(info_text, body_family)
    if not any(b.text.strip() for b in article.blocks):
        # Generic fallback: what lies between the info line (or title) and the first end marker.
        start = (info_index + 1) if info_index is not None else ((title_index + 1) if title_index is not None else 0)
        end = _find_end_index(page_blocks, start)
        article.blocks = page_blocks[start:end]
        article.attachments = _attachments_in(linear_page.attachments, article.blocks)
        article.extractor = EXTRACTOR_FALLBACK

    if info_text is None and _looks_like_soft_404(tree, page_blocks):
        article.not_article_reason = "soft 404"
    elif not any(b.text.strip(" \u3000\xa0") for b in article.blocks):
        article.not_article_reason = "empty body"
    return article


def _attachments_in(found: list[dict[str, str]], blocks: list[Block]) -> list[dict[str, str]]:
    """The page's attachment links whose text lies inside the fallback body blocks."""
    body_text = "\n".join(b.text for b in blocks)
    return [a for a in found if a["name"] in body_text or a["url"].rsplit("/", 1)[-1] in body_text]


def _looks_like_soft_404(tree: etree._Element, blocks: list[Block]) -> bool:
    title = tree.find(".//title")
    title_text = element_text(title) if title is not None else ""
    if S.SOFT_404_RE.search(title_text) or title_text.strip().startswith("404"):
        return True
    return any(S.SOFT_404_RE.search(b.text) for b in blocks if len(b.text) <= 80)
