"""A decoded, parsed HTML page, shared by the article and listing extractors (parse once)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from .encoding import decode_page


@dataclass(frozen=True)
class HtmlPage:
    """Page text, its parsed tree (None when empty or unparsable) and its encodings."""

    text: str
    tree: lxml_html.HtmlElement | None
    encoding_declared: str | None
    encoding_used: str
    parse_error: str | None = None


def load_page(content: bytes | str | HtmlPage, content_type: str | None = None) -> HtmlPage:
    """Decode (bytes: HTTP header charset, BOM, then meta) and parse a page."""
    if isinstance(content, HtmlPage):
        return content
    if isinstance(content, bytes):
        decoded = decode_page(content, content_type)
        text, declared, used = decoded.text, decoded.declared, decoded.used
    else:
        text, declared, used = content, None, "unicode"
    if not text.strip():
        return HtmlPage(text, None, declared, used)
    try:
        tree = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as error:
        return HtmlPage(text, None, declared, used, parse_error=str(error))
    return HtmlPage(text, tree, declared, used)
