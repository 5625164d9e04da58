"""Linearize an HTML tree into text and image blocks in reading order.

A block is one line as a reader sees it: a paragraph, a heading, a table cell, a run of text
between <br>s, or an image. Extraction works on blocks so that one anchor-based algorithm serves
every template, known or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .page import element_text
from .selectors import BLOCK_TAGS, SKIP_TAGS
from .urls import is_attachment, onto_page_site, resolve_href

_INLINE_WHITESPACE = " \t\r\n"


@dataclass(slots=True)
class Block:
    """One line of the page: text, or an image (``src`` set).

    ``line`` is the text with all whitespace (U+3000, NBSP) folded to single spaces: what anchors
    match. It is computed once, here: every anchor search reads it.
    """

    text: str = ""
    src: str | None = None
    alt: str | None = None
    line: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.line = " ".join(self.text.split())

    @property
    def is_image(self) -> bool:
        return self.src is not None


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


class _Walker:
    """One depth-first pass over a tree, cutting its text into blocks (the hot loop of extraction).

    Text and tails go into a buffer; a block tag, <br> or <img> flushes the buffer into a block.
    """

    def __init__(self, page_url: str, marks: frozenset[etree._Element]):
        self.page_url = page_url
        self.marks = marks
        self.out = Linearized()
        self.buffer: list[str] = []
        self.seen_attachments: set[str] = set()

    def flush(self) -> None:
        buffer = self.buffer
        if not buffer:
            return
        text = "".join(buffer)
        buffer.clear()
        # Keep NBSP/U+3000-only lines: the cleaner removes and counts them as empty paragraphs.
        if text.strip(_INLINE_WHITESPACE):
            self.out.blocks.append(Block(text.replace("\n", " ").strip(_INLINE_WHITESPACE)))

    def image(self, element: etree._Element) -> None:
        self.flush()
        src = resolve_href(_image_src(element), self.page_url)
        if src:
            src = onto_page_site(src, self.page_url)
            alt = (element.get("alt") or element.get("title") or "").strip() or None
            self.out.blocks.append(Block(src=src, alt=alt))

    def attachment(self, element: etree._Element, href: str) -> None:
        url = resolve_href(href, self.page_url)
        url = onto_page_site(url, self.page_url) if url else None
        if url and is_attachment(url) and url not in self.seen_attachments:
            self.seen_attachments.add(url)
            name = " ".join(element_text(element).split()) or url.rsplit("/", 1)[-1]
            self.out.attachments.append({"url": url, "name": name})

    def walk(self, element: etree._Element) -> None:
        buffer = self.buffer
        tag = element.tag
        if tag.__class__ is not str or tag in SKIP_TAGS:  # entities, scripts, styles ...
            if element.tail:
                buffer.append(element.tail)
            return
        if tag == "br":
            self.flush()
        elif tag == "img":
            self.image(element)
        else:
            marked = element in self.marks
            is_block = marked or tag in BLOCK_TAGS
            if is_block:
                self.flush()
            if marked:
                start = (len(self.out.blocks), len(self.out.attachments))
            if tag == "a":
                href = element.get("href")
                if href and is_attachment(href.strip().split("?", 1)[0].split("#", 1)[0]):
                    self.attachment(element, href)
            if element.text:
                buffer.append(element.text)
            for child in element:
                self.walk(child)
            if is_block:
                self.flush()
            if marked:
                self.out.ranges[element] = (slice(start[0], len(self.out.blocks)),
                                            slice(start[1], len(self.out.attachments)))
        if element.tail:
            buffer.append(element.tail)


def linearize(root: etree._Element, page_url: str,
              marks: frozenset[etree._Element] = frozenset()) -> Linearized:
    """Blocks of ``root`` in document order; images resolved against ``page_url``.

    For each element of ``marks`` the slices of blocks and attachments it produced are recorded.
    """
    walker = _Walker(page_url, marks)
    walker.walk(root)
    walker.flush()
    return walker.out
