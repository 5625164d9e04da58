"""Linearize an HTML tree into text and image blocks in reading order.

A block is one line as a reader sees it: a paragraph, a heading, a table cell, a run of text
between <br>s, or an image. Extraction works on blocks so that one anchor-based algorithm serves
every template, known or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Linearized:
    """Blocks of a subtree plus the attachment links found in it."""

    blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)


def _image_src(element: lxml_html.HtmlElement) -> str | None:
    for attribute in ("src", "data-src", "data-original", "original"):
        value = element.get(attribute)
        if value and value.strip() and not value.strip().startswith("data:"):
            return value
    return None


def linearize(root: lxml_html.HtmlElement, page_url: str) -> Linearized:
    """Blocks of ``root`` in document order; images resolved against ``page_url``."""
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
            is_block = tag in BLOCK_TAGS
            if is_block:
                flush()
            if tag == "a":
                url = resolve_href(element.get("href"), page_url)
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
        if element.tail:
            buffer.append(element.tail)

    walk(root)
    flush()
    return out
