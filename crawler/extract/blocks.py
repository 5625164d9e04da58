"""Linearize an HTML tree into text and image blocks in reading order.

A block is one line as a reader sees it: a paragraph, a heading, a table cell, a run of text
between <br>s, or an image. Extraction works on blocks so that one anchor-based algorithm serves
every template, known or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ..rules.boilerplate import IMAGE_FILENAME_RE
from ..rules.selectors import (
    BLOCK_TAGS,
    CAPTION_CLASS_RE,
    CAPTION_FONT_SIZES,
    CAPTION_STYLE_RE,
    CAPTION_TAGS,
    CONTENT_LONG_CHARS,
    CONTENT_MARKS,
    HEADING_TAGS,
    HIDDEN_STYLE_RE,
    MIN_CONTENT_CHARS,
    SKIP_TAGS,
)
from .page import element_text
from .urls import is_attachment, is_attachment_href, onto_page_site, origin_of, resolve_href

_INLINE_WHITESPACE = " \t\r\n"
# A hidden element holding at least this many characters of text is skipped (``holding_text``).
HIDDEN_MIN_CHARS = MIN_CONTENT_CHARS
# CONTENT_MARKS in one pattern: one search of a line, cheaper than a generator of ``in`` tests.
_CONTENT_MARKS_RE = re.compile("|".join(map(re.escape, CONTENT_MARKS)))


@dataclass(slots=True, init=False)
class Block:
    """One line of the page: text, or an image (``src`` set).

    ``line`` is the text with all whitespace (U+3000, NBSP) folded to single spaces: what anchors
    match. It is computed once, here: every anchor search reads it.
    """

    text: str
    src: str | None
    alt: str | None
    line: str = field(repr=False, compare=False)
    # Characters of the text inside links (attachment links not counted): a block that is mostly
    # link text is navigation, a related list or a ranking, not article content.
    link_chars: int = field(repr=False, compare=False)
    # Characters inside <h1>..<h6>, <strong> or <b>: a sub-heading, not an image's caption.
    strong_chars: int = field(repr=False, compare=False)
    # What extraction asks of every block, many times: computed once, here.
    is_image: bool = field(repr=False, compare=False)
    is_links: bool = field(repr=False, compare=False)  # mostly link text
    is_strong: bool = field(repr=False, compare=False)  # in a heading or bold as a whole: a sub-heading
    is_content: bool = field(repr=False, compare=False)  # an image, or text that reads as article content
    # Text right after an image in the image's own block, or in a centred or small block right after
    # it (selectors.CAPTION_*): where a caption sits. A plain line after an image is not one.
    by_image: bool = field(repr=False, compare=False)

    def __init__(self, text: str = "", src: str | None = None, alt: str | None = None,
                 link_chars: int = 0, strong_chars: int = 0, by_image: bool = False):
        self.text, self.src, self.alt = text, src, alt
        self.by_image = by_image
        self.line = line = " ".join(text.split())  # clean_inline, without the call
        self.link_chars, self.strong_chars = link_chars, strong_chars
        size = len(line)
        self.is_image = src is not None
        self.is_links = link_chars * 2 > size > 0
        self.is_strong = strong_chars * 5 >= size * 4 > 0
        # Not links, and long, or of some length with prose punctuation (not a metadata cell).
        self.is_content = self.is_image or (size >= MIN_CONTENT_CHARS and not self.is_links and (
            size >= CONTENT_LONG_CHARS or _CONTENT_MARKS_RE.search(line) is not None))


def clean_inline(text: str) -> str:
    """Fold every run of whitespace, U+3000 and NBSP included, into one space; trim the ends."""
    return " ".join(text.split())


@dataclass
class Linearized:
    """Blocks of a subtree plus the attachment links found in it.

    ``ranges`` maps each marked element to the (blocks, attachments) slices it produced, so one
    walk of the page also yields the blocks of every candidate body container.
    """

    blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    ranges: dict[etree._Element, tuple[slice, slice]] = field(default_factory=dict)

    def part(self, element: etree._Element) -> Linearized | None:
        """The blocks and attachments a marked element produced, or None if it was not walked."""
        found = self.ranges.get(element)
        if found is None:
            return None
        return Linearized(self.blocks[found[0]], self.attachments[found[1]])


def _image_src(element: etree._Element) -> str | None:
    for attribute in ("src", "data-src", "data-original", "original"):
        value = element.get(attribute)
        if value and value.strip() and not value.strip().startswith("data:"):
            return value
    return None


def is_hidden(element: etree._Element, names: list[str]) -> bool:
    """Whether a reader never sees the element (display:none or visibility:hidden in its style, the
    ``hidden`` attribute, aria-hidden="true"); those holding text (``holding_text``) are what
    ``linearize`` skips, as readability does. Asked of the HIDDEN_TAGS in the page's one pass over
    its tree (``crawler.extract.article``), with the names of the element's attributes
    (``element.keys()``): an attribute is only read when the element has it (``get`` costs ~0.1 µs
    even for an attribute the element lacks)."""
    style = element.get("style") if "style" in names else None
    return bool(style and ("none" in style or "hidden" in style) and HIDDEN_STYLE_RE.search(style)) or (
        "hidden" in names or ("aria-hidden" in names and element.get("aria-hidden") == "true"))


def holding_text(hidden: list[etree._Element]) -> frozenset[etree._Element]:
    """The hidden elements that hold text: what ``linearize`` skips."""
    # Only text: a hidden control (a share box's "分享到 - 微信", an icon) still marks where the
    # template's parts meet, as it did, and is cleaned as boilerplate if it lands in a body.
    if not hidden:
        return frozenset()
    return frozenset(e for e in hidden if _text_chars(e, HIDDEN_MIN_CHARS) >= HIDDEN_MIN_CHARS)


def _text_chars(element: etree._Element, enough: int) -> int:
    """Characters of text (spaces aside) in the element, counted up to ``enough``; scripts and
    styles not counted."""
    count = 0
    for piece in element.itertext(with_tail=False):
        count += len(piece) - piece.count(" ") - piece.count("\n") if piece.strip() else 0
        if count >= enough:
            break
    return count


def _caption_place(element: etree._Element) -> bool:
    """Whether an element right after an image is centred or small (a caption's place).

    Every test but the tag's reads an attribute: they are read only when the element has them
    (``element.keys()``, one call; ``get`` costs ~0.1 µs even for an attribute the element lacks).
    """
    if element.tag in CAPTION_TAGS:
        return True
    names = element.keys()
    if not names:
        return False
    if "align" in names and (element.get("align") or "").lower() == "center":
        return True
    style = element.get("style") if "style" in names else None
    if style and CAPTION_STYLE_RE.search(style):
        return True
    if element.tag == "font" and "size" in names and (element.get("size") or "").strip() in CAPTION_FONT_SIZES:
        return True
    css = element.get("class") if "class" in names else None
    return bool(css and CAPTION_CLASS_RE.search(css))


def linearize(root: etree._Element, page_url: str,
              marks: frozenset[etree._Element] = frozenset(),
              hidden: frozenset[etree._Element] = frozenset()) -> Linearized:
    """Blocks of ``root`` in document order; images resolved against ``page_url``.

    One depth-first pass, the hot loop of extraction (hence closures over locals): text and tails
    go into a buffer, and a block tag, <br> or <img> flushes the buffer into a block. For each
    element of ``marks`` the slices of blocks and attachments it produced are recorded. The
    elements of ``hidden`` (``holding_text``) are skipped, their tails kept.
    """
    out = Linearized()
    blocks, attachments, ranges = out.blocks, out.attachments, out.ranges
    buffer: list[str] = []
    seen_attachments: set[str] = set()
    # A resolved URL (``resolve_href``: no fragment, split and joined again) that starts with the
    # page's own scheme and authority is what ``onto_page_site`` would make of it.
    page_origin = origin_of(page_url)
    # The walk's state, in closure variables (cheaper to read and write than items of a list).
    # Characters put in the buffer inside a link / a heading or bold / a centred or small element
    # that follows an image, and how deep in one the walk is.
    link_chars = strong_chars = caption_chars = 0
    in_link = in_strong = in_caption = 0
    # Block boundaries passed so far, and how many had been passed at the last image: text flushed
    # with none passed since the image is in the image's own block.
    bound, image_bound = 0, -1
    # Whether the last block is an image, or an image's file name right under one: the next
    # text may be its caption.
    after = False

    def add(text: str) -> None:
        nonlocal link_chars, strong_chars, caption_chars
        buffer.append(text)
        if in_link or in_strong or in_caption:
            size = len(text.strip())
            if in_link:
                link_chars += size
            if in_strong:
                strong_chars += size
            if in_caption:
                caption_chars += size

    def flush() -> None:
        """The buffer, if it holds text, becomes a block (callers test ``buffer`` first: most calls find it empty)."""
        nonlocal link_chars, strong_chars, caption_chars, after
        text = "".join(buffer).strip(_INLINE_WHITESPACE)
        buffer.clear()
        # Keep NBSP/U+3000-only lines: the cleaner removes and counts them as empty paragraphs.
        if text:
            line_after_image = after
            # In the image's own block, or mostly in a centred or small element right after it.
            by_image = line_after_image and ((bound == image_bound and blocks[-1].is_image)
                                             or caption_chars * 2 >= len(text.strip()) > 0)
            blocks.append(Block(text.replace("\n", " "), None, None, link_chars, strong_chars, by_image))
            # An image's file name shown under it (alt residue) keeps the place right after the image.
            after = (line_after_image and blocks[-2].is_image and len(text) <= 90
                     and IMAGE_FILENAME_RE.search(blocks[-1].line) is not None)
        link_chars = strong_chars = caption_chars = 0

    def image(element: etree._Element) -> None:
        nonlocal image_bound, after
        if buffer:
            flush()
        src = resolve_href(_image_src(element), page_url)
        if src:
            if not src.startswith(page_origin):
                src = onto_page_site(src, page_url)
            alt = (element.get("alt") or element.get("title") or "").strip() or None
            blocks.append(Block(src=src, alt=alt))
            image_bound = bound
            after = True

    def attachment(element: etree._Element, href: str) -> None:
        url = resolve_href(href, page_url)
        url = onto_page_site(url, page_url) if url else None
        if url and is_attachment(url) and url not in seen_attachments:
            seen_attachments.add(url)
            name = clean_inline(element_text(element)) or url.rsplit("/", 1)[-1]
            attachments.append({"url": url, "name": name})

    def walk(element: etree._Element) -> None:
        nonlocal bound, in_link, in_strong, in_caption
        tag = element.tag
        if (tag.__class__ is not str or (tag in SKIP_TAGS and element is not root)  # entities, scripts, styles ...
                or (hidden and element in hidden)):  # text a reader never sees
            tail = element.tail
            if tail and (buffer or tail.strip(_INLINE_WHITESPACE)):
                add(tail)
            return
        if tag == "br":
            if buffer:
                flush()
        elif tag == "img":
            image(element)
        else:
            marked = element in marks
            is_block = marked or tag in BLOCK_TAGS
            if is_block:
                if buffer:
                    flush()
                bound += 1
            # Right after an image (nothing flushed since): is this element a caption's place?
            captioning = after and not buffer and _caption_place(element)
            if marked:
                start = (len(blocks), len(attachments))
            link = strong = False
            if tag == "a":
                href = element.get("href")
                if href and is_attachment_href(href):
                    attachment(element, href)
                elif href:
                    link = True
                    in_link += 1
            elif tag in HEADING_TAGS:
                strong = True
                in_strong += 1
            if captioning:
                in_caption += 1
            text = element.text
            # Whitespace between blocks (the source's indentation) would only be stripped again.
            if text and (buffer or text.strip(_INLINE_WHITESPACE)):
                add(text)
            if len(element):  # a leaf (most <p>) needs no child iterator
                for child in element:
                    walk(child)  # noqa: F821 (a linter misreads the ``del walk`` below)
            if link:
                in_link -= 1
            elif strong:
                in_strong -= 1
            if is_block:
                if buffer:
                    flush()
                bound += 1
            if captioning:
                in_caption -= 1
            if marked:
                ranges[element] = (slice(start[0], len(blocks)), slice(start[1], len(attachments)))
        tail = element.tail
        if tail and (buffer or tail.strip(_INLINE_WHITESPACE)):
            add(tail)

    try:
        walk(root)
    finally:
        # ``walk`` refers to itself through its closure: without this the page's tree and blocks
        # would live on in a reference cycle until the garbage collector's next pass.
        del walk
    if buffer:
        flush()
    return out
