"""Linearize an HTML tree into text and image blocks in reading order.

A block is one line as a reader sees it: a paragraph, a heading, a table cell, a run of text
between <br>s, or an image. Extraction works on blocks so that one anchor-based algorithm serves
every template, known or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lxml import html as lxml_html

from .selectors import BLOCK_TAGS, SKIP_TAGS
from .urls import is_attachment, onto_page_site, resolve_href

_INLINE_WHITESPACE = " \t\r\n"


@dataclass
class Block:
    """One line of the page: text, or an image (``src`` set)."""

    text: str = ""
    src: str | None = None
    alt: str | None = None

    @property
    def is_image(self) -> bool:
        return self.src is not None

    @cached_property
    def line(self) -> str:
        """The text with all whitespace (U+3000, NBSP) folded to single spaces: what anchors match."""
        return clean_inline(self.text)


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
    ranges: dict[lxml_html.HtmlElement, tuple[slice, slice]] = field(default_factory=dict)

    def part(self, element: lxml_html.HtmlElement) -> Linearized | None:
        """The blocks and attachments a marked element produced, or None if it was not walked."""
        found = self.ranges.get(element)
        if found is None:
            return None
        return Linearized(self.blocks[found[0]], self.attachments[found[1]])


def _image_src(element: lxml_html.HtmlElement) -> str | None:
    for attribute in ("src", "data-src", "data-original", "original"):
        value = element.get(attribute)
        if value and value.strip() and not value.strip().startswith("data:"):
            return value
    return None


def linearize(root: lxml_html.HtmlElement, page_url: str,
              marks: frozenset[lxml_html.HtmlElement] = frozenset()) -> Linearized:
    """Blocks of ``root`` in document order; images resolved against ``page_url``.

    For each element of ``marks`` the slices of blocks and attachments it produced are recorded.
    """
    out = Linearized()
    buffer: list[str] = []
    seen_attachments: set[str] = set()

    def flush() -> None:
        text = "".join(buffer)
        buffer.clear()
        # Keep NBSP/U+3000-only lines: the cleaner removes and counts them as empty paragraphs.
        if text.strip(_INLINE_WHITESPACE):
            out.blocks.append(Block(text=" ".join(text.split("\n")).strip(_INLINE_WHITESPACE)))

    def walk(element: lxml_html.HtmlElement) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if tag is None or tag in SKIP_TAGS:  # comments, processing instructions, scripts
            if element.tail:
                buffer.append(element.tail)
            return
        if tag == "br":
            flush()
        elif tag == "img":
            flush()
            src = resolve_href(_image_src(element), page_url)
            if src:
                src = onto_page_site(src, page_url)
                alt = (element.get("alt") or element.get("title") or "").strip() or None
                out.blocks.append(Block(src=src, alt=alt))
        else:
            marked = element in marks
            is_block = marked or tag in BLOCK_TAGS
            if is_block:
                flush()
            start = (len(out.blocks), len(out.attachments))
            href = element.get("href") if tag == "a" else None
            if href and is_attachment(href.strip().split("?", 1)[0].split("#", 1)[0]):
                url = resolve_href(href, page_url)
                url = onto_page_site(url, page_url) if url else None
                if url and is_attachment(url) and url not in seen_attachments:
                    seen_attachments.add(url)
                    name = " ".join(element.text_content().split()) or url.rsplit("/", 1)[-1]
                    out.attachments.append({"url": url, "name": name})
            if element.text:
                buffer.append(element.text)
            for child in element:
                walk(child)
            if is_block:
                flush()
            if marked:
                out.ranges[element] = (slice(start[0], len(out.blocks)), slice(start[1], len(out.attachments)))
        if element.tail:
            buffer.append(element.tail)

    walk(root)
    flush()
    return out
